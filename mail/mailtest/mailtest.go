// Package mailtest is a fake SMTP server for tests, as httptest is for HTTP.
package mailtest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a fake SMTP server for tests. It accepts any number of messages per
// connection and sends the data (headers and body) of each on the returned channel. It
// speaks just enough SMTP for net/smtp.
func Server(t testing.TB) (addr string, msgs <-chan string) {
	t.Helper()
	out := make(chan string, 10)
	s := start(t, Accept, out)
	return s.Addr, out
}

// Mode says how a Fake answers.
type Mode int32

const (
	// Accept takes every message.
	Accept Mode = iota
	// Refuse answers every recipient with 550 (a permanent refusal).
	Refuse
	// TempFail answers every recipient with 451 (try again later).
	TempFail
	// Hang accepts connections and never answers.
	Hang
)

// Message is what a Fake received: the envelope and the data (headers and body).
type Message struct {
	From string
	To   []string
	Data string
}

// Header returns the value of the first header line name (case-insensitive).
func (m Message) Header(name string) string {
	head, _, _ := strings.Cut(m.Data, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Fake is a fake SMTP server that records what it receives and answers as its mode says.
type Fake struct {
	Addr     string
	mode     atomic.Int32
	sessions atomic.Int64
	mu       sync.Mutex
	msgs     []Message
	out      chan<- string
	done     chan struct{}
}

// Start starts a fake SMTP server answering as mode says (SetMode changes it).
func Start(t testing.TB, mode Mode) *Fake {
	t.Helper()
	return start(t, mode, nil)
}

func start(t testing.TB, mode Mode, out chan<- string) *Fake {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	f := &Fake{Addr: ln.Addr().String(), out: out, done: done}
	f.mode.Store(int32(mode))
	var conns sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		ln.Close()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.sessions.Add(1)
			conns.Add(1)
			go func() {
				defer conns.Done()
				go func() { <-done; c.Close() }()
				f.serve(c)
			}()
		}
	}()
	return f
}

// Down returns the address of a port nothing listens on (a server that is down).
func Down(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SetMode changes how the server answers from the next command on.
func (f *Fake) SetMode(m Mode) { f.mode.Store(int32(m)) }

// Sessions returns how many connections the server accepted.
func (f *Fake) Sessions() int { return int(f.sessions.Load()) }

// Messages returns the messages accepted so far.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.msgs...)
}

// Wait waits up to timeout until at least n messages were accepted and returns them.
func (f *Fake) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		got := f.Messages()
		if len(got) >= n {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("%d messages within %s, want %d", len(got), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *Fake) serve(c net.Conn) {
	defer c.Close()
	if Mode(f.mode.Load()) == Hang {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
	r := bufio.NewReader(c)
	reply := func(s string) { c.Write([]byte(s + "\r\n")) }
	reply("220 fake ready")
	var m Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		upper := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(upper, "EHLO"), strings.HasPrefix(upper, "HELO"):
			reply("250 fake")
		case strings.HasPrefix(upper, "MAIL FROM:"):
			m = Message{From: strings.Trim(cmd[len("MAIL FROM:"):], "<> ")}
			reply("250 ok")
		case strings.HasPrefix(upper, "RCPT TO:"):
			switch Mode(f.mode.Load()) {
			case Refuse:
				reply("550 mailbox unavailable")
			case TempFail:
				reply("451 try again later")
			default:
				m.To = append(m.To, strings.Trim(cmd[len("RCPT TO:"):], "<> "))
				reply("250 ok")
			}
		case strings.HasPrefix(upper, "RSET"):
			m = Message{}
			reply("250 ok")
		case strings.HasPrefix(upper, "DATA"):
			if len(m.To) == 0 {
				reply("503 no valid recipients")
				continue
			}
			reply("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			f.mu.Lock()
			f.msgs = append(f.msgs, m)
			f.mu.Unlock()
			if f.out != nil {
				select {
				case f.out <- m.Data:
				case <-f.done:
					return
				}
			}
			m = Message{}
			reply("250 queued")
		case strings.HasPrefix(upper, "QUIT"):
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}
