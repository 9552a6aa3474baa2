package wsgorilla_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/graph/wsgorilla"
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

// newServer serves a gqlgen test schema whose only websocket transport is
// the gorilla adapter. The returned server is closed at test cleanup.
func newServer(t *testing.T, opts wsgorilla.Options, ws transport.Websocket) (*testserver.TestServer, *httptest.Server) {
	t.Helper()
	h := testserver.New()
	ws.Implementation = wsgorilla.New(opts)
	h.AddTransport(ws)
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

// read returns the next protocol message, skipping legacy keep-alives,
// which arrive at arbitrary points.
func read(t *testing.T, c *websocket.Conn) msg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m msg
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("read: %v", err)
		}
		if m.Type != "ka" {
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
	readErrs := make(chan error, 10)
	closed := make(chan int, 1)
	h, srv := newServer(t, wsgorilla.Options{}, transport.Websocket{
		InitTimeout: 5 * time.Second,
		ErrorFunc:   func(_ context.Context, err error) { readErrs <- err },
		CloseFunc:   func(_ context.Context, code int) { closed <- code },
	})
	c := mustDial(t, srv, transportWS)
	if got := c.Subprotocol(); got != transportWS {
		t.Fatalf("subprotocol = %q, want %q", got, transportWS)
	}

	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")

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

	// A normal close by the client must not be reported as an error.
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-closed:
		if code != websocket.CloseNormalClosure {
			t.Errorf("CloseFunc code = %d, want 1000", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server never closed the connection")
	}
	select {
	case err := <-readErrs:
		t.Errorf("ErrorFunc called for a normal close: %v", err)
	default:
	}
}

func TestLegacyGraphQLWS(t *testing.T) {
	for _, tc := range []struct {
		name       string
		offer      []string
		negotiated string
	}{
		{name: "graphql-ws", offer: []string{legacyWS}, negotiated: legacyWS},
		// gqlgen treats a connection without a subprotocol as graphql-ws.
		{name: "no subprotocol", offer: nil, negotiated: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := newServer(t, wsgorilla.Options{}, transport.Websocket{
				// Frequent keep-alives race with subscription writes,
				// which -race checks for unsafe concurrent writes.
				KeepAlivePingInterval: 5 * time.Millisecond,
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
	// gqlgen closes with 1000 "terminated" on an InitFunc error unless the
	// returned context carries a code and reason.
	reject := func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx = transport.WithWebsocketCloseCode(ctx, 4401)
		ctx = transport.AppendCloseReason(ctx, "unauthorized")
		return ctx, nil, errors.New("bad token")
	}
	rejectPlain := func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		return ctx, nil, errors.New("bad token")
	}
	for _, tc := range []struct {
		name       string
		proto      string
		init       transport.WebsocketInitFunc
		wantCode   int
		wantReason string
	}{
		{"transport-ws", transportWS, reject, 4401, "unauthorized"},
		{"legacy", legacyWS, reject, 4401, "unauthorized"},
		{"transport-ws without close code", transportWS, rejectPlain, 1000, "terminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newServer(t, wsgorilla.Options{}, transport.Websocket{InitFunc: tc.init})
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
			if ce.Code != tc.wantCode || ce.Text != tc.wantReason {
				t.Fatalf("close = %d %q, want %d %q", ce.Code, ce.Text, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	const portal = "https://portal.example.com"
	_, listed := newServer(t, wsgorilla.Options{AllowedOrigins: []string{portal}}, transport.Websocket{})
	_, sameOnly := newServer(t, wsgorilla.Options{}, transport.Websocket{})
	_, anyOrigin := newServer(t, wsgorilla.Options{AllowedOrigins: []string{"*"}}, transport.Websocket{})

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
	_, srv := newServer(t, wsgorilla.Options{ReadLimit: limit}, transport.Websocket{})

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
	readErrs := make(chan error, 10)
	_, srv := newServer(t, wsgorilla.Options{}, transport.Websocket{
		PingPongInterval: 20 * time.Millisecond,
		ErrorFunc:        func(_ context.Context, err error) { readErrs <- err },
	})
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")

	// Never answer the pings: the read deadline gqlgen sets must fire.
	expectClose(t, c)
	select {
	case err := <-readErrs:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("want a read timeout, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no read error reported")
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	closed := make(chan int, 1)
	h, srv := newServer(t, wsgorilla.Options{}, transport.Websocket{
		KeepAlivePingInterval: 10 * time.Millisecond,
		CloseFunc:             func(context.Context, int) { closed <- 1 },
	})
	baseline := runtime.NumGoroutine()

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
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection %d never closed on the server", i)
		}
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline+5 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, baseline %d\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
