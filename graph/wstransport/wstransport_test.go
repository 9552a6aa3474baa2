package wstransport_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/graph/wstransport"
)

const (
	transportWS = "graphql-transport-ws"
	legacyWS    = "graphql-ws"
)

type msg struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// newServer serves gqlgen's test schema (its subscriptions read no outlet) through the
// transport. The returned server is closed at test cleanup.
func newServer(t *testing.T, opts wstransport.Options) (*testserver.TestServer, *httptest.Server) {
	t.Helper()
	h := testserver.New()
	h.AddTransport(wstransport.New(opts))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func dial(t *testing.T, srv *httptest.Server, header http.Header, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: subprotocols, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), header)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

func mustDial(t *testing.T, srv *httptest.Server, subprotocols ...string) *websocket.Conn {
	t.Helper()
	c, _, err := dial(t, srv, nil, subprotocols...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func send(t *testing.T, c *websocket.Conn, m msg) {
	t.Helper()
	if err := c.WriteJSON(m); err != nil {
		t.Fatalf("write %s: %v", m.Type, err)
	}
}

// read returns the next protocol message, skipping pings and legacy keep-alives,
// which arrive at arbitrary points.
func read(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m msg
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("read: %v", err)
		}
		if m.Type != "ka" && m.Type != "ping" {
			return m
		}
	}
}

func expect(t *testing.T, c *websocket.Conn, typ, id string) msg {
	t.Helper()
	m := read(t, c)
	if m.Type != typ || m.ID != id {
		t.Fatalf("got %s id=%q payload=%s, want %s id=%q", m.Type, m.ID, m.Payload, typ, id)
	}
	return m
}

// expectClose reads until the close frame and returns it.
func expectClose(t *testing.T, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err == nil {
			continue // e.g. legacy keep-alives
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("want close frame, got %v (last message %s)", err, data)
		}
		return ce
	}
}

var subscription = json.RawMessage(`{"query":"subscription { name }"}`)

func TestGraphQLTransportWS(t *testing.T) {
	h, srv := newServer(t, wstransport.Options{InitTimeout: 5 * time.Second})
	c := mustDial(t, srv, transportWS)
	if got := c.Subprotocol(); got != transportWS {
		t.Fatalf("subprotocol = %q, want %q", got, transportWS)
	}

	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	send(t, c, msg{Type: "ping", Payload: json.RawMessage(`{"n":1}`)})
	if m := expect(t, c, "pong", ""); string(m.Payload) != `{"n":1}` {
		t.Fatalf("pong payload = %s", m.Payload)
	}

	send(t, c, msg{Type: "subscribe", ID: "1", Payload: subscription})
	for range 3 {
		h.SendNextSubscriptionMessage()
		m := expect(t, c, "next", "1")
		if want := `{"data":{"name":"test"}}`; string(m.Payload) != want {
			t.Fatalf("payload = %s, want %s", m.Payload, want)
		}
	}
	h.SendCompleteSubscriptionMessage()
	expect(t, c, "complete", "1")

	// A client-side complete stops a running subscription.
	send(t, c, msg{Type: "subscribe", ID: "2", Payload: subscription})
	h.SendNextSubscriptionMessage()
	expect(t, c, "next", "2")
	send(t, c, msg{Type: "complete", ID: "2"})
	expect(t, c, "complete", "2")

	// Queries run over the socket too.
	send(t, c, msg{Type: "subscribe", ID: "q", Payload: json.RawMessage(`{"query":"{ name }"}`)})
	if m := expect(t, c, "next", "q"); !strings.Contains(string(m.Payload), `"test"`) {
		t.Fatalf("query payload = %s", m.Payload)
	}
	expect(t, c, "complete", "q")

	// A query that does not parse is an error message, not a next.
	send(t, c, msg{Type: "subscribe", ID: "bad", Payload: json.RawMessage(`{"query":"subscription {"}`)})
	expect(t, c, "error", "bad")

	// Two live operations may not share an id.
	send(t, c, msg{Type: "subscribe", ID: "3", Payload: subscription})
	send(t, c, msg{Type: "subscribe", ID: "3", Payload: subscription})
	if ce := expectClose(t, c); ce.Code != wstransport.CloseDuplicateID {
		t.Fatalf("close code = %d, want 4409", ce.Code)
	}
}

func TestProtocolErrors(t *testing.T) {
	_, srv := newServer(t, wstransport.Options{InitTimeout: 100 * time.Millisecond})
	for _, tc := range []struct {
		name string
		do   func(c *websocket.Conn)
		want int
	}{
		{"no connection_init in time", func(*websocket.Conn) {}, wstransport.CloseInitTimeout},
		{"subscribe before connection_init", func(c *websocket.Conn) {
			send(t, c, msg{Type: "subscribe", ID: "1", Payload: subscription})
		}, wstransport.CloseUnauthorized},
		{"two connection_inits", func(c *websocket.Conn) {
			send(t, c, msg{Type: "connection_init"})
			expect(t, c, "connection_ack", "")
			send(t, c, msg{Type: "connection_init"})
		}, wstransport.CloseTooManyInits},
		{"not JSON", func(c *websocket.Conn) {
			c.WriteMessage(websocket.TextMessage, []byte("hello"))
		}, wstransport.CloseBadMessage},
		{"unknown type", func(c *websocket.Conn) {
			send(t, c, msg{Type: "connection_init"})
			expect(t, c, "connection_ack", "")
			send(t, c, msg{Type: "start", ID: "1", Payload: subscription}) // legacy's word
		}, wstransport.CloseBadMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDial(t, srv, transportWS)
			tc.do(c)
			if ce := expectClose(t, c); ce.Code != tc.want {
				t.Fatalf("close = %d %q, want %d", ce.Code, ce.Text, tc.want)
			}
		})
	}
}

func TestLegacyGraphQLWS(t *testing.T) {
	for _, tc := range []struct {
		name       string
		offer      []string
		negotiated string
	}{
		{name: "graphql-ws", offer: []string{legacyWS}, negotiated: legacyWS},
		// A connection without a subprotocol is graphql-ws, as with gqlgen.
		{name: "no subprotocol", offer: nil, negotiated: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newServer(t, wstransport.Options{
				// Frequent keep-alives race with subscription writes,
				// which -race checks for unsafe concurrent writes.
				PingInterval: 5 * time.Millisecond,
			})
			c := mustDial(t, srv, tc.offer...)
			if got := c.Subprotocol(); got != tc.negotiated {
				t.Fatalf("subprotocol = %q, want %q", got, tc.negotiated)
			}

			send(t, c, msg{Type: "connection_init"})
			expect(t, c, "connection_ack", "")

			send(t, c, msg{Type: "start", ID: "1", Payload: subscription})
			for range 3 {
				h.SendNextSubscriptionMessage()
				expect(t, c, "data", "1")
			}
			send(t, c, msg{Type: "stop", ID: "1"})
			expect(t, c, "complete", "1")

			send(t, c, msg{Type: "connection_terminate"})
			if ce := expectClose(t, c); ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("close code = %d, want 1000", ce.Code)
			}
		})
	}
}

func TestInitFuncErrorCloseCode(t *testing.T) {
	reject := func(ctx context.Context, _ map[string]any, _ func(error)) (context.Context, func(), error) {
		return ctx, nil, &wstransport.CloseError{Code: 4401, Reason: "bad token"}
	}
	rejectPlain := func(ctx context.Context, _ map[string]any, _ func(error)) (context.Context, func(), error) {
		return ctx, nil, errors.New("bad token")
	}
	for _, tc := range []struct {
		name     string
		proto    string
		init     func(context.Context, map[string]any, func(error)) (context.Context, func(), error)
		wantCode int
	}{
		{"transport-ws", transportWS, reject, 4401},
		{"legacy", legacyWS, reject, 4401},
		{"transport-ws without close code", transportWS, rejectPlain, wstransport.CloseForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newServer(t, wstransport.Options{InitFunc: tc.init})
			c := mustDial(t, srv, tc.proto)
			send(t, c, msg{Type: "connection_init", Payload: json.RawMessage(`{"authorization":"x"}`)})
			if tc.proto == legacyWS {
				// Only the legacy protocol has a connection_error message.
				m := expect(t, c, "connection_error", "")
				if !strings.Contains(string(m.Payload), "bad token") {
					t.Errorf("connection_error payload = %s", m.Payload)
				}
			}
			ce := expectClose(t, c)
			if ce.Code != tc.wantCode || ce.Text != "bad token" {
				t.Fatalf("close = %d %q, want %d %q", ce.Code, ce.Text, tc.wantCode, "bad token")
			}
		})
	}
}

// TestTokenExpiryCloses: InitFunc ends the connection when its token expires; it
// closes with 4401 so the client logs in again, and InitFunc's hook runs once, after.
func TestTokenExpiryCloses(t *testing.T) {
	var hooks atomic.Int32
	_, srv := newServer(t, wstransport.Options{InitFunc: func(ctx context.Context, _ map[string]any, end func(error)) (context.Context, func(), error) {
		time.AfterFunc(200*time.Millisecond, func() { end(wstransport.ErrTokenExpired) })
		return ctx, func() { hooks.Add(1) }, nil
	}})
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	send(t, c, msg{Type: "subscribe", ID: "1", Payload: subscription})
	if ce := expectClose(t, c); ce.Code != wstransport.CloseUnauthorized {
		t.Fatalf("close = %d %q, want 4401", ce.Code, ce.Text)
	}
	waitFor(t, func() bool { return hooks.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := hooks.Load(); n != 1 {
		t.Fatalf("the closed hook ran %d times, want once", n)
	}
}

// TestClosedHookRuns: InitFunc's hook runs once whichever way the connection ends: the
// client leaves, the owner's limit refuses it right after connection_init, or InitFunc
// ended it before returning.
func TestClosedHookRuns(t *testing.T) {
	type ownerKey struct{}
	var hooks atomic.Int32
	_, srv := newServer(t, wstransport.Options{
		InitFunc: func(ctx context.Context, p map[string]any, end func(error)) (context.Context, func(), error) {
			if p["end"] == true {
				end(&wstransport.CloseError{Code: 4401, Reason: "ended at once"})
				<-ctx.Done() // closed before InitFunc returns
			}
			return context.WithValue(ctx, ownerKey{}, "a"), func() { hooks.Add(1) }, nil
		},
		Owner:       func(ctx context.Context) string { s, _ := ctx.Value(ownerKey{}).(string); return s },
		MaxPerOwner: 1,
	})
	first := mustDial(t, srv, transportWS)
	send(t, first, msg{Type: "connection_init"})
	expect(t, first, "connection_ack", "")
	over := mustDial(t, srv, transportWS)
	send(t, over, msg{Type: "connection_init"})
	if ce := expectClose(t, over); ce.Code != wstransport.CloseTooManyConnections {
		t.Fatalf("second connection: close = %d %q, want %d", ce.Code, ce.Text, wstransport.CloseTooManyConnections)
	}
	waitFor(t, func() bool { return hooks.Load() == 1 })
	first.Close()
	waitFor(t, func() bool { return hooks.Load() == 2 })
	ended := mustDial(t, srv, transportWS)
	send(t, ended, msg{Type: "connection_init", Payload: json.RawMessage(`{"end":true}`)})
	for {
		var m msg
		ended.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ended.ReadJSON(&m); err != nil {
			if !websocket.IsCloseError(err, 4401) {
				t.Fatalf("ended in InitFunc: %v, want close 4401", err)
			}
			break
		}
	}
	waitFor(t, func() bool { return hooks.Load() == 3 })
	time.Sleep(50 * time.Millisecond)
	if n := hooks.Load(); n != 3 {
		t.Fatalf("hooks ran %d times for 3 connections", n)
	}
}

func TestOrigin(t *testing.T) {
	const portal = "https://portal.example.com"
	_, listed := newServer(t, wstransport.Options{AllowedOrigins: []string{portal}})
	_, sameOnly := newServer(t, wstransport.Options{})
	_, anyOrigin := newServer(t, wstransport.Options{AllowedOrigins: []string{"*"}})

	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		origin string
		ok     bool
	}{
		{"listed origin", listed, portal, true},
		{"listed origin, other case", listed, "HTTPS://Portal.Example.com", true},
		{"unlisted origin", listed, "https://evil.example.com", false},
		{"listed host, wrong scheme", listed, "http://portal.example.com", false},
		{"no origin header", listed, "", true},
		{"same origin, empty list", sameOnly, sameOnly.URL, true},
		{"cross origin, empty list", sameOnly, portal, false},
		{"no origin header, empty list", sameOnly, "", true},
		{"wildcard", anyOrigin, "https://anything.example.org", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.origin != "" {
				header.Set("Origin", tc.origin)
			}
			c, resp, err := dial(t, tc.srv, header, transportWS)
			if !tc.ok {
				if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("want 403, got err=%v resp=%v", err, resp)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status = %d, want 101", resp.StatusCode)
			}
			send(t, c, msg{Type: "connection_init"})
			expect(t, c, "connection_ack", "")
		})
	}
}

func TestReadLimit(t *testing.T) {
	const limit = 512
	_, srv := newServer(t, wstransport.Options{ReadLimit: limit})

	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")

	// Just under the limit still works.
	query := `{"query":"subscription { name }","variables":{"pad":"` + strings.Repeat("x", limit-120) + `"}}`
	send(t, c, msg{Type: "subscribe", ID: "ok", Payload: json.RawMessage(query)})
	send(t, c, msg{Type: "complete", ID: "ok"})
	expect(t, c, "complete", "ok")

	// Kept small so the whole frame is sent before the server hangs up.
	big := `{"query":"subscription { name }","variables":{"pad":"` + strings.Repeat("x", 4*limit) + `"}}`
	send(t, c, msg{Type: "subscribe", ID: "big", Payload: json.RawMessage(big)})
	if ce := expectClose(t, c); ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("close code = %d, want 1009", ce.Code)
	}

	// The server is still serving.
	c2 := mustDial(t, srv, transportWS)
	send(t, c2, msg{Type: "connection_init"})
	expect(t, c2, "connection_ack", "")
}

func TestMissingPongClosesConnection(t *testing.T) {
	_, srv := newServer(t, wstransport.Options{PingInterval: 20 * time.Millisecond})
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.ReadJSON(new(msg)); err != nil {
		t.Fatalf("no ping: %v", err)
	}

	// Never answer the pings: the server drops the connection.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a client that never answers pings")
			}
			return
		}
	}
}

// TestPingsSpread: connections are pinged once an interval, but not all at once, so
// thousands of clients do not answer in one burst.
func TestPingsSpread(t *testing.T) {
	_, srv := newServer(t, wstransport.Options{PingInterval: time.Second})
	const n = 20
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = mustDial(t, srv, transportWS)
		send(t, conns[i], msg{Type: "connection_init"})
		expect(t, conns[i], "connection_ack", "")
	}
	first := make([]time.Time, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			var m msg
			if err := c.ReadJSON(&m); err != nil || m.Type != "ping" {
				t.Errorf("connection %d: %v, %+v, want a ping within the interval", i, err, m)
				return
			}
			first[i] = time.Now()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	earliest, latest := slices.MinFunc(first, time.Time.Compare), slices.MaxFunc(first, time.Time.Compare)
	if spread := latest.Sub(earliest); spread < 500*time.Millisecond {
		t.Errorf("the first pings of %d connections came within %v: pinged together, not spread over the interval", n, spread)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	h, srv := newServer(t, wstransport.Options{PingInterval: time.Second})
	// Earlier tests' connections may still be closing, and their pingers end at their
	// next turn (every 400 ms at the default interval): start from a count that held
	// for half a second.
	baseline, steady := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(10 * time.Second); steady < 10 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == baseline {
			steady++
		} else {
			baseline, steady = n, 0
		}
	}
	// settled waits until the server's goroutines for earlier connections have ended.
	settled := func(round int) {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > baseline+1 { // the pinger may run
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("round %d: goroutines: %d, baseline %d\n%s", round, runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	for i := range 200 {
		proto := []string{transportWS, legacyWS}[i%2]
		start := map[string]string{transportWS: "subscribe", legacyWS: "start"}[proto]
		next := map[string]string{transportWS: "next", legacyWS: "data"}[proto]

		c, _, err := dial(t, srv, nil, proto)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		send(t, c, msg{Type: "connection_init"})
		expect(t, c, "connection_ack", "")
		// Leave a live subscription behind so closing must cancel it.
		send(t, c, msg{Type: start, ID: "1", Payload: subscription})
		h.SendNextSubscriptionMessage()
		expect(t, c, next, "1")
		if i%4 < 2 {
			c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		}
		c.Close() // every other pair drops TCP without a close frame

		// The test schema feeds all subscriptions from one channel, so the
		// next round must not start before this subscription is cancelled.
		settled(i)
	}
}

// TestMaxPerOwner: an owner holding MaxPerOwner open connections has the next closed
// with CloseTooManyConnections after connection_init; closing one makes room again, and
// other owners and connections without an owner are not counted.
func TestMaxPerOwner(t *testing.T) {
	type ownerKey struct{}
	_, srv := newServer(t, wstransport.Options{
		InitFunc: func(ctx context.Context, p map[string]any, _ func(error)) (context.Context, func(), error) {
			user, _ := p["user"].(string)
			return context.WithValue(ctx, ownerKey{}, user), nil, nil
		},
		Owner:       func(ctx context.Context) string { s, _ := ctx.Value(ownerKey{}).(string); return s },
		MaxPerOwner: 2,
	})
	open := func(user string) *websocket.Conn {
		c := mustDial(t, srv, transportWS)
		send(t, c, msg{Type: "connection_init", Payload: json.RawMessage(`{"user":"` + user + `"}`)})
		return c
	}
	first := open("a")
	expect(t, first, "connection_ack", "")
	expect(t, open("a"), "connection_ack", "")
	if ce := expectClose(t, open("a")); ce.Code != wstransport.CloseTooManyConnections || !strings.Contains(ce.Text, "at most 2") {
		t.Fatalf("third connection of one owner: close = %d %q, want %d naming the limit", ce.Code, ce.Text, wstransport.CloseTooManyConnections)
	}
	expect(t, open("b"), "connection_ack", "")
	expect(t, open(""), "connection_ack", "")
	expect(t, open(""), "connection_ack", "")
	expect(t, open(""), "connection_ack", "")
	first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := open("a")
		var m msg
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		err := c.ReadJSON(&m)
		if err == nil && m.Type == "connection_ack" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after closing a connection: %v %+v", err, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShutdown: Shutdown closes every open connection with 1001 and its reason (one with
// a running subscription, a legacy one, one not yet initialised) and returns once they
// are closed; an upgrade afterwards is refused with 503.
func TestShutdown(t *testing.T) {
	h := testserver.New()
	tr := wstransport.New(wstransport.Options{InitTimeout: 5 * time.Second})
	h.AddTransport(tr)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	modern := mustDial(t, srv, transportWS)
	send(t, modern, msg{Type: "connection_init"})
	expect(t, modern, "connection_ack", "")
	send(t, modern, msg{Type: "subscribe", ID: "1", Payload: subscription})
	h.SendNextSubscriptionMessage()
	expect(t, modern, "next", "1")
	legacy := mustDial(t, srv, legacyWS)
	send(t, legacy, msg{Type: "connection_init"})
	expect(t, legacy, "connection_ack", "")
	fresh := mustDial(t, srv, transportWS)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx, "going away; reconnect"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, c := range map[string]*websocket.Conn{"subscribed": modern, "legacy": legacy, "uninitialised": fresh} {
		if ce := expectClose(t, c); ce.Code != websocket.CloseGoingAway || ce.Text != "going away; reconnect" {
			t.Errorf("%s: closed with %d %q, want 1001 and the reason", name, ce.Code, ce.Text)
		}
	}
	if _, resp, err := dial(t, srv, nil, transportWS); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v (%v), want HTTP 503", err, resp)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}
