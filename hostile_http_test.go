package portico_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entdialect "entgo.io/ent/dialect"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// The reproductions of issue 11's HTTP items (8, 12, 14, 16): body limits, malformed
// bodies, a database outage, timeouts and the per-user websocket cap.

// logBuffer collects a server's log, safe for its concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// post sends body to /graphql with the content type and returns the status and the
// decoded GraphQL response.
func post(t *testing.T, srv *servertest.Server, contentType string, body io.Reader) (int, servertest.Response) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/graphql", contentType, body)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("HTTP %d, not a GraphQL response: %v: %.300s", resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

// multipartQuery is a GraphQL multipart request (as an upload sends) without a file.
func multipartQuery(t *testing.T) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("operations", `{"query":"{ viewer { name } }"}`)
	mw.WriteField("map", `{}`)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &b
}

// bigJSON is a valid GraphQL JSON body of about size bytes.
func bigJSON(size int) string {
	return `{"query":"{ viewer { name } }","variables":{"x":"` + strings.Repeat("a", size) + `"}}`
}

// noBodyLength hides a reader's length, so the client sends it chunked.
type noBodyLength struct{ io.Reader }

// TestHostileBodyLimitAfterUpload (item 8): the JSON body limit (1 MiB) holds after
// multipart requests, which may be larger, even while they run concurrently (run with
// -race: the limit was a captured variable each multipart request rewrote); an
// oversized body, with a length or chunked, gets 413 and a GraphQL-shaped error.
func TestHostileBodyLimitAfterUpload(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ct, body := multipartQuery(t)
		if status, _ := post(t, srv, ct, body); status >= 500 {
			t.Fatalf("multipart request: HTTP %d", status)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ct, body := multipartQuery(t)
				resp, err := http.Post(srv.URL+"/graphql", ct, body)
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		for _, tc := range []struct {
			name string
			body io.Reader
		}{
			{"with a length", strings.NewReader(bigJSON(2 << 20))},
			{"chunked", noBodyLength{strings.NewReader(bigJSON(2 << 20))}},
		} {
			status, r := post(t, srv, "application/json", tc.body)
			if status != http.StatusRequestEntityTooLarge || r.Code() != "BAD_USER_INPUT" ||
				!strings.Contains(r.Errors[0].Message, fmt.Sprint(1<<20)) {
				t.Errorf("2 MiB JSON body %s after a multipart request: HTTP %d %+v, want 413 BAD_USER_INPUT naming the limit", tc.name, status, r.Errors)
			}
		}
		wg.Wait()
		// Within the limit, still served.
		if status, r := post(t, srv, "application/json", strings.NewReader(bigJSON(512<<10))); status != http.StatusOK || r.Code() != "UNAUTHENTICATED" {
			t.Errorf("512 KiB body: HTTP %d %+v, want 200 and the anonymous viewer's UNAUTHENTICATED", status, r.Errors)
		}
	})
}

// TestHostileMalformedBodies (item 12): bodies that are not one GraphQL request get 400
// (413 when too large) with BAD_USER_INPUT, not a panic inside the transaction
// extension logged at ERROR and answered 500 INTERNAL; a mutation still runs.
func TestHostileMalformedBodies(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		var log logBuffer
		cfg := demo()
		cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
		srv := servertest.Start(t, dialect, cfg)
		for _, tc := range []struct {
			name, body string
			status     int
		}{
			{"truncated JSON", `{`, http.StatusBadRequest},
			{"batch array", `[{"query":"{viewer{name}}"}]`, http.StatusBadRequest},
			{"query not a string", `{"query":1}`, http.StatusBadRequest},
			{"batch of mutations", `[{"query":"mutation { login(input: {username: \"demo\", password: \"demo\"}) { token } }"}]`, http.StatusBadRequest},
			{"oversized", bigJSON(2 << 20), http.StatusRequestEntityTooLarge},
		} {
			status, r := post(t, srv, "application/json", strings.NewReader(tc.body))
			if status != tc.status || r.Code() != "BAD_USER_INPUT" {
				t.Errorf("%s: HTTP %d %+v, want %d BAD_USER_INPUT", tc.name, status, r.Errors, tc.status)
			}
		}
		if l := log.String(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "panic") {
			t.Errorf("malformed bodies logged errors:\n%s", l)
		}
		srv.Login(t, "demo", "demo") // mutations still run in their transaction
	})
}

// proxy forwards TCP connections to target until cut, which drops them all and closes
// the port: the database becomes unreachable under a running server.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestHostileDatabaseOutage (item 14): with the database gone under a running server
// (PostgreSQL: its connections dropped and its port closed, so dials are refused;
// SQLite: the writer and readers closed), login, mutations and queries answer INTERNAL with a
// request id, never the driver's text ("cannot create transaction: … connection
// refused", "pq: …").
func TestHostileDatabaseOutage(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		cfg := demo()
		cut := func(srv *servertest.Server) { srv.DB.Close() } // the writer and the readers
		if dialect == "postgres" {
			u, err := url.Parse(servertest.DatabaseURL(t, dialect))
			if err != nil {
				t.Fatal(err)
			}
			p := newProxy(t, u.Host)
			u.Host = p.ln.Addr().String()
			cfg.DatabaseURL = u.String()
			cut = func(*servertest.Server) { p.cut() }
		}
		srv := servertest.Start(t, dialect, cfg)
		admin := srv.Login(t, "admin", "admin")
		cut(srv)
		leaks := []string{"pq", "dial", "refused", "sql", "transaction", "connection", "database", "closed", "57P"}
		for _, tc := range []struct {
			name  string
			c     *servertest.Client
			query string
		}{
			{"login", srv.Client(), `mutation { login(input: {username: "admin", password: "admin"}) { token } }`},
			{"mutation", admin, `mutation { setAnnouncement(input: {contents: [{language: "en", value: "x"}], enabled: true}) { announcement { value } } }`},
			{"mutation creating a role", admin, `mutation { createRole(input: {name: "Outage"}) { role { name } } }`},
			{"query", admin, `{ viewer { name } roles { totalCount } }`},
		} {
			r := tc.c.Do(t, tc.query, nil)
			if len(r.Errors) == 0 {
				t.Errorf("%s: no error without a database", tc.name)
				continue
			}
			for _, e := range r.Errors {
				id, _ := e.Extensions["requestId"].(string)
				if e.Extensions["code"] != "INTERNAL" || id == "" || !strings.Contains(e.Message, id) {
					t.Errorf("%s: %+v, want INTERNAL with a request id", tc.name, e)
				}
				for _, w := range leaks {
					if strings.Contains(strings.ToLower(e.Message), w) {
						t.Errorf("%s: the message shows driver text (%q): %s", tc.name, w, e.Message)
					}
				}
			}
		}
	})
}

// startTimed serves cfg through portico's HTTPServer (with its timeouts), which
// servertest.Start's plain httptest server does not use.
func startTimed(t *testing.T, dialect string, cfg portico.Config) *servertest.Server {
	t.Helper()
	cfg.DatabaseURL = servertest.DatabaseURL(t, dialect)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := portico.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = srv.HTTPServer()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &servertest.Server{Server: srv, URL: hs.URL, HTTP: hs}
}

// TestHostileSlowBody (item 16): a body trickled a byte at a time is cut off at the read
// timeout with 408, instead of holding the connection for as long as the client likes.
func TestHostileSlowBody(t *testing.T) {
	cfg := demo()
	cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 10*time.Second
	srv := startTimed(t, "sqlite", cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"query":"{ viewer { name } }"}`
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: portico\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond): // 9 s for the whole body
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if took := time.Since(start); err != nil || took > 5*time.Second {
		t.Fatalf("trickled body: %v after %v, want an answer soon after the 2 s read timeout", err, took)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), "BAD_USER_INPUT") {
		t.Fatalf("trickled body: HTTP %d %s, want 408 BAD_USER_INPUT", resp.StatusCode, raw)
	}
}

// slowTx is a driver whose transactions begin late while slow is set: it makes the
// export take longer than the write timeout.
type slowTx struct {
	entdialect.Driver
	slow atomic.Bool
}

func (d *slowTx) BeginTx(ctx context.Context, opts *sql.TxOptions) (entdialect.Tx, error) {
	if d.slow.Load() {
		time.Sleep(5 * time.Second) // past the write timeout
	}
	return d.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (entdialect.Tx, error)
	}).BeginTx(ctx, opts)
}

// TestHostileTimeoutsSpareStreams (item 16): the write timeout does not cut an export
// that takes longer to build, nor a websocket open for longer than every timeout.
func TestHostileTimeoutsSpareStreams(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		drv := &slowTx{}
		cfg := demo()
		// Long enough for ordinary requests on a busy test machine.
		cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = 3*time.Second, 4*time.Second, 3*time.Second
		cfg.WrapDriver = func(d entdialect.Driver) entdialect.Driver { drv.Driver = d; return drv }
		srv := startTimed(t, dialect, cfg)
		admin := srv.Login(t, "admin", "admin")

		ws := subscribe(t, srv, admin.Token, `subscription { announcementChanged { value } }`)
		time.Sleep(5 * time.Second) // past every timeout
		admin.MustDo(t, `mutation { setAnnouncement(input: {contents: [{language: "en", value: "still here"}], enabled: true}) { announcement { value } } }`, nil, nil)
		for {
			m := ws.next()
			if m.Type != "next" {
				t.Fatalf("websocket after the timeouts: %+v", m)
			}
			if a := m.Payload.Data.AnnouncementChanged; a != nil && a.Value == "still here" {
				break
			}
		}

		drv.slow.Store(true)
		defer drv.slow.Store(false)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/tasks.xlsx", nil)
		req.Header.Set("Authorization", "Bearer "+admin.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("export slower than the write timeout: %v", err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(raw, []byte("PK")) {
			t.Fatalf("export slower than the write timeout: HTTP %d, %d bytes, %v", resp.StatusCode, len(raw), err)
		}
	})
}

// TestHostileSocketsPerUser (item 16): one user may hold 20 open websockets; the 21st
// is closed with 1008 and a reason naming the limit, other users are unaffected, and
// closing one makes room again.
func TestHostileSocketsPerUser(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		demoToken, alice := srv.Login(t, "demo", "demo").Token, srv.Login(t, "alice", "alice").Token
		open := func(token string) (*websocket.Conn, error) {
			d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
			conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}})
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var m struct{ Type string }
			if err := conn.ReadJSON(&m); err != nil {
				return conn, err
			}
			if m.Type != "connection_ack" {
				return conn, fmt.Errorf("got %q, want connection_ack", m.Type)
			}
			return conn, nil
		}
		var first *websocket.Conn
		for i := range 20 {
			c, err := open(demoToken)
			if err != nil {
				t.Fatalf("socket %d of 20: %v", i+1, err)
			}
			if first == nil {
				first = c
			}
		}
		_, err := open(demoToken)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "at most 20") {
			t.Fatalf("21st socket of one user: %v, want close 1008 naming the limit", err)
		}
		if _, err := open(alice); err != nil {
			t.Fatalf("another user's socket: %v", err)
		}
		first.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := open(demoToken)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no room after closing a socket: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
