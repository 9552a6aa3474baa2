package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

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

// TestSendAll sends several messages in one session, each to its one recipient; a
// refusal is permanent, a server that is down or hangs fails every message in time.
func TestSendAll(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Accept)
	s, err := mail.New("smtp://" + srv.Addr + "?from=portal@example.com")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []mail.Message{
		{To: "a@example.com", Subject: "Neue Aufgabe: ä", HTML: "<p>a</p>", Headers: map[string]string{"Auto-Submitted": "auto-generated"}},
		{To: "b@example.com", Subject: "two", HTML: "<p>b</p>\r\n.\r\n<p>after a dot line</p>"},
		{To: "not an address", Subject: "three", HTML: "x"},
	}
	errs := s.SendAll(context.Background(), msgs)
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || !mail.Permanent(errs[2]) {
		t.Fatalf("errors %v, want two sent and the bad address refused for good", errs)
	}
	got := srv.Messages()
	if len(got) != 2 || srv.Sessions() != 1 {
		t.Fatalf("%d messages in %d sessions, want 2 in 1", len(got), srv.Sessions())
	}
	if got[0].To[0] != "a@example.com" || got[1].To[0] != "b@example.com" || got[0].Header("Auto-Submitted") != "auto-generated" ||
		!strings.Contains(got[1].Data, "after a dot line") || got[1].Header("To") != "b@example.com" {
		t.Fatalf("unexpected messages: %+v", got)
	}

	srv.SetMode(mailtest.Refuse)
	errs = s.SendAll(context.Background(), msgs[:2])
	if !mail.Permanent(errs[0]) || !mail.Permanent(errs[1]) {
		t.Fatalf("refused: %v, want permanent errors", errs)
	}
	srv.SetMode(mailtest.TempFail)
	errs = s.SendAll(context.Background(), msgs[:2])
	if errs[0] == nil || mail.Permanent(errs[0]) || errs[1] == nil {
		t.Fatalf("451: %v, want transient errors for both", errs)
	}

	down, _ := mail.New("smtp://" + mailtest.Down(t) + "?from=portal@example.com")
	if errs := down.SendAll(context.Background(), msgs[:2]); errs[0] == nil || errs[1] == nil || mail.Permanent(errs[0]) {
		t.Fatalf("down: %v, want transient errors", errs)
	}

	hang := mailtest.Start(t, mailtest.Hang)
	hs, _ := mail.New("smtp://" + hang.Addr + "?from=portal@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if errs := hs.SendAll(ctx, msgs[:2]); errs[0] == nil || errs[1] == nil {
		t.Fatalf("hanging server: %v, want errors", errs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a hanging server held SendAll %s past its deadline", d)
	}
}
