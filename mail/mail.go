// Package mail sends the e-mails of express EMAIL steps through an SMTP server given as
// a URL: smtp://[user:password@]host:port?from=portal@example.com
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"sort"
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

// Message is one mail to one recipient (a notification).
type Message struct {
	To      string
	Subject string
	HTML    string
	// Headers are extra header lines (name: value), such as Auto-Submitted.
	Headers map[string]string
}

// Permanent reports whether err is a permanent SMTP refusal (a 5xx reply): sending the
// same message again would be refused again.
func Permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

// DefaultSessionTimeout bounds one SMTP session of SendAll when ctx has no deadline.
const DefaultSessionTimeout = time.Minute

// SendAll sends msgs in one SMTP session (one connection, one MAIL/RCPT/DATA per
// message, so recipients never see each other) and returns one error per message (nil:
// accepted by the server). A message the server refuses (5xx for its recipient or data)
// does not stop the others; a failed connection, greeting or authentication, or a
// broken session, fails every message not yet accepted. The whole session, dial
// included, ends at ctx's deadline (DefaultSessionTimeout without one), so a server that
// hangs cannot hold the caller.
func (s *Sender) SendAll(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	failRest := func(from int, err error) []error {
		for i := from; i < len(msgs); i++ {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	if len(msgs) == 0 {
		return errs
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultSessionTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return failRest(0, fmt.Errorf("connect to SMTP server %s: %w", s.addr, err))
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return failRest(0, fmt.Errorf("SMTP session deadline: %w", err))
	}
	// Cancelling ctx ends the session at once too.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return failRest(0, fmt.Errorf("SMTP greeting from %s: %w", s.addr, err))
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return failRest(0, fmt.Errorf("SMTP hello to %s: %w", s.addr, err))
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
			return failRest(0, fmt.Errorf("SMTP STARTTLS with %s: %w", s.addr, err))
		}
	}
	if s.auth != nil {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := c.Auth(s.auth); err != nil {
				return failRest(0, fmt.Errorf("SMTP authentication with %s: %w", s.addr, err))
			}
		}
	}
	for i, m := range msgs {
		err := s.sendOne(c, m)
		if err == nil {
			continue
		}
		errs[i] = fmt.Errorf("send mail to %s: %w", m.To, err)
		if !Permanent(err) {
			return failRest(i+1, fmt.Errorf("SMTP session with %s broke off: %w", s.addr, err))
		}
		// Refused: forget this message's envelope and go on with the next.
		if err := c.Reset(); err != nil {
			return failRest(i+1, fmt.Errorf("SMTP session with %s broke off: %w", s.addr, err))
		}
	}
	_ = c.Quit() // every message was accepted or refused already
	return errs
}

func (s *Sender) sendOne(c *smtp.Client, m Message) error {
	a, err := mail.ParseAddress(m.To)
	if err != nil {
		return &textproto.Error{Code: 553, Msg: fmt.Sprintf("recipient %q is no address", m.To)}
	}
	if err := c.Mail(s.from); err != nil {
		return err
	}
	if err := c.Rcpt(a.Address); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", s.from, a.Address)
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\r\n", k, mime.QEncoding.Encode("utf-8", m.Headers[k]))
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n%s\r\n",
		mime.QEncoding.Encode("utf-8", m.Subject), time.Now().UTC().Format(time.RFC1123Z), m.HTML)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return w.Close()
}
