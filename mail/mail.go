// Package mail sends the e-mails of express EMAIL steps through an SMTP server given as
// a URL: smtp://[user:password@]host:port?from=portal@example.com
package mail

import (
	"context"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Sender sends HTML mail through one SMTP server. net/smtp is enough here: it speaks
// STARTTLS when the server offers it and PLAIN auth, which is all EMAIL steps need.
type Sender struct {
	addr, host, from string
	auth             smtp.Auth
}

// New parses an smtp:// URL.
func New(raw string) (*Sender, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Host == "" {
		return nil, fmt.Errorf("SMTP URL %q: want smtp://[user:password@]host:port?from=address", raw)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("SMTP URL %q: %w", raw, err)
	}
	s := &Sender{addr: u.Host, host: host, from: u.Query().Get("from")}
	if s.from == "" {
		return nil, fmt.Errorf("SMTP URL %q: add ?from=address for the sender", raw)
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, host)
	}
	return s, nil
}

// Recipients splits an EMAIL step's recipients field ("a@x, b@y; c@z"), keeping only
// well-formed addresses (so nothing can smuggle in a header).
func Recipients(field string) []string {
	var out []string
	for _, r := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		if a, err := mail.ParseAddress(r); err == nil {
			out = append(out, a.Address)
		}
	}
	return out
}

// Send sends one HTML message to every recipient.
func (s *Sender) Send(ctx context.Context, to []string, replyTo, subject, html string) error {
	if len(to) == 0 {
		return fmt.Errorf("no recipients")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", s.from, strings.Join(to, ", "))
	if a, err := mail.ParseAddress(replyTo); err == nil {
		fmt.Fprintf(&b, "Reply-To: %s\r\n", a.Address)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n%s\r\n",
		mime.QEncoding.Encode("utf-8", subject), time.Now().UTC().Format(time.RFC1123Z), html)
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.addr, s.auth, s.from, to, []byte(b.String())) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("send mail to %v: %w", to, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
