package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/mail"
	"github.com/portico-dev/portico/mail/mailtest"
)

func TestSend(t *testing.T) {
	addr, msgs := mailtest.Server(t)
	s, err := mail.New("smtp://" + addr + "?from=portal@example.com")
	if err != nil {
		t.Fatal(err)
	}
	to := mail.Recipients("hr@example.com; boss@example.com, not-an-address, <@broken")
	if len(to) != 2 {
		t.Fatalf("recipients %v, want the two well-formed ones", to)
	}
	if err := s.Send(context.Background(), to, "reply@example.com", "Leave approved\r\nBcc: x@y", "<p>ok</p>"); err != nil {
		t.Fatal(err)
	}
	m := <-msgs
	for _, want := range []string{"From: portal@example.com", "To: hr@example.com, boss@example.com", "Reply-To: reply@example.com", "<p>ok</p>"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "\r\nBcc:") {
		t.Errorf("a header was smuggled in through the subject:\n%s", m)
	}
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"", "http://x:25?from=a@b", "smtp://host-without-port?from=a@b", "smtp://h:25"} {
		if _, err := mail.New(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
