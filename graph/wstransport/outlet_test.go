package wstransport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/graph/wstransport"
	"github.com/portico-dev/portico/outlet"
)

// ticker is a subscription source that delivers through outlets, as Portico's do.
type ticker struct {
	mu      sync.Mutex
	subs    map[outlet.Outlet]chan string
	viewers map[outlet.Outlet]*auth.Viewer
	renders atomic.Int32
}

// publishToViewers delivers v to every subscription under an outlet.Token naming event
// and the subscription's viewer.
func (tk *ticker) publishToViewers(event any, v string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for o, ch := range tk.subs {
		o.Deliver(outlet.Token{Event: event, Viewer: tk.viewers[o].Name}, func() { ch <- v })
	}
}

func (tk *ticker) publish(token any, v string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	for o, ch := range tk.subs {
		o.Deliver(token, func() { ch <- v })
	}
}

func (tk *ticker) count() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return len(tk.subs)
}

// newTickServer serves `subscription { tick }` from tk through the transport. A tick
// "who" renders as the name of the subscription's viewer (the connection_init payload's
// "user"), asked of its context as Portico's rules do.
func newTickServer(t *testing.T, tk *ticker) *httptest.Server {
	return newTickServerWith(t, tk, wstransport.Options{})
}

func newTickServerWith(t *testing.T, tk *ticker, opts wstransport.Options) *httptest.Server {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `
		type Query { name: String! }
		type Subscription { tick: String! }
	`})
	tk.subs = map[outlet.Outlet]chan string{}
	tk.viewers = map[outlet.Outlet]*auth.Viewer{}
	h := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 1, true
		},
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			ch := make(chan string, 1)
			var o outlet.Outlet
			tk.mu.Lock() // the end hook may run at once, on another goroutine
			o = outlet.Bind(ctx, func() {
				tk.mu.Lock()
				delete(tk.subs, o)
				tk.mu.Unlock()
			})
			if o == nil {
				tk.mu.Unlock()
				return graphql.OneShot(graphql.ErrorResponse(ctx, "no outlet"))
			}
			tk.subs[o] = ch
			tk.viewers[o] = auth.FromContext(ctx)
			tk.mu.Unlock()
			return func(ctx context.Context) *graphql.Response {
				select {
				case v := <-ch:
					tk.renders.Add(1)
					if v == "who" {
						if av := auth.FromContext(ctx); av != nil {
							v = av.Name
						}
					}
					return &graphql.Response{Data: []byte(`{"tick":"` + v + `"}`)}
				case <-ctx.Done():
					return nil
				}
			}
		},
	})
	h.AddTransport(wstransport.New(opts))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestOutletSharesRenderings: subscriptions driven by their source cost no goroutine,
// and an event with a token is rendered once per operation, not once per subscriber.
func TestOutletSharesRenderings(t *testing.T) {
	tk := &ticker{}
	srv := newTickServer(t, tk)
	const n = 60
	runtime.GC()
	before := runtime.NumGoroutine()
	var conns []*websockConn
	for i := range n {
		proto := []string{transportWS, legacyWS}[i%2]
		start := map[string]string{transportWS: "subscribe", legacyWS: "start"}[proto]
		query := []string{`subscription { tick }`, `subscription Named { tick }`}[i%3/2] // two operations
		c := mustDial(t, srv, proto)
		send(t, c, msg{Type: "connection_init"})
		expect(t, c, "connection_ack", "")
		payload, _ := json.Marshal(map[string]string{"query": query})
		send(t, c, msg{Type: start, ID: "s", Payload: payload})
		conns = append(conns, &websockConn{c, map[string]string{transportWS: "next", legacyWS: "data"}[proto]})
	}
	deadline := time.Now().Add(5 * time.Second)
	for tk.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscriptions registered", tk.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the subscribe goroutines end
	// One reader per connection, one pinger; the test's own client side has none.
	if extra := runtime.NumGoroutine() - before; extra > n+3 {
		t.Errorf("%d idle subscribed connections hold %d goroutines, want about one each", n, extra)
	}

	tk.publish(new(int), "a")
	for _, c := range conns {
		m := expect(t, c.Conn, c.next, "s")
		if string(m.Payload) != `{"data":{"tick":"a"}}` {
			t.Fatalf("payload %s", m.Payload)
		}
	}
	if got := tk.renders.Load(); got != 2 {
		t.Errorf("a shared event was rendered %d times for 2 operations, want 2", got)
	}

	tk.publish(nil, "b") // no token: each subscriber alone
	for _, c := range conns {
		if m := expect(t, c.Conn, c.next, "s"); string(m.Payload) != `{"data":{"tick":"b"}}` {
			t.Fatalf("payload %s", m.Payload)
		}
	}
	if got := tk.renders.Load(); got != 2+n {
		t.Errorf("renders = %d, want %d", got, 2+n)
	}

	// Completing a subscription stops its deliveries.
	c := conns[0]
	send(t, c.Conn, msg{Type: "complete", ID: "s"})
	expect(t, c.Conn, "complete", "s")
	deadline = time.Now().Add(5 * time.Second)
	for tk.count() != n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions after one completed, want %d", tk.count(), n-1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOutletTokenAcrossViewers: an outlet.Token event is rendered once for every viewer
// when the rendering never asks for the viewer, and once per viewer when it does, each
// viewer getting its own (never another's).
func TestOutletTokenAcrossViewers(t *testing.T) {
	tk := &ticker{}
	srv := newTickServerWith(t, tk, wstransport.Options{
		Watch: auth.Watch,
		InitFunc: func(ctx context.Context, p map[string]any, _ func(error)) (context.Context, func(), error) {
			name, _ := p["user"].(string)
			return auth.NewContext(ctx, &auth.Viewer{Name: name}), nil, nil
		},
	})
	users := []string{"ann", "ben", "cid"}
	const perUser = 4
	conns := map[string][]*websocket.Conn{}
	for _, u := range users {
		for range perUser {
			c := mustDial(t, srv, transportWS)
			init, _ := json.Marshal(map[string]string{"user": u})
			send(t, c, msg{Type: "connection_init", Payload: init})
			expect(t, c, "connection_ack", "")
			send(t, c, msg{Type: "subscribe", ID: "s", Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
			conns[u] = append(conns[u], c)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for tk.count() < len(users)*perUser {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions registered", tk.count())
		}
		time.Sleep(5 * time.Millisecond)
	}

	tk.publishToViewers(1, "same")
	for u, cs := range conns {
		for _, c := range cs {
			if m := expect(t, c, "next", "s"); string(m.Payload) != `{"data":{"tick":"same"}}` {
				t.Fatalf("%s: payload %s", u, m.Payload)
			}
		}
	}
	if got := tk.renders.Load(); got != 1 {
		t.Errorf("an event asking nothing of the viewer was rendered %d times for 3 viewers, want 1", got)
	}

	tk.publishToViewers(2, "who")
	for u, cs := range conns {
		for _, c := range cs {
			if m := expect(t, c, "next", "s"); string(m.Payload) != `{"data":{"tick":"`+u+`"}}` {
				t.Fatalf("%s got %s", u, m.Payload)
			}
		}
	}
	if got := tk.renders.Load() - 1; got != int32(len(users)) {
		t.Errorf("an event depending on the viewer was rendered %d times for %d viewers, want one each", got, len(users))
	}
}

type websockConn struct {
	Conn *websocket.Conn
	next string
}

// TestSlowSubscriberLosesEvents: a client that stops reading while events keep coming
// does not make the server hold them all: once MaxQueue messages wait for it, the
// waiting events are dropped and the subscription ends with EVENTS_LOST (the client
// sees it after what was written before), never a silent gap; the connection stays.
func TestSlowSubscriberLosesEvents(t *testing.T) {
	tk := &ticker{}
	srv := newTickServerWith(t, tk, wstransport.Options{MaxQueue: 4, WriteTimeout: time.Minute})
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	send(t, c, msg{Type: "subscribe", ID: "s", Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
	deadline := time.Now().Add(5 * time.Second)
	for tk.count() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("subscription not registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Big events fill the socket buffers; then the writer blocks and the queue grows.
	big := strings.Repeat("x", 64<<10)
	for i := 0; i < 2000 && tk.count() > 0; i++ {
		tk.publish(nil, big)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var m msg
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("got %v, want the subscription's EVENTS_LOST error", err)
		}
		if m.Type == "next" {
			continue
		}
		if m.Type != "error" || m.ID != "s" || !strings.Contains(string(m.Payload), `"code":"EVENTS_LOST"`) {
			t.Fatalf("got %s %s %s, want an EVENTS_LOST error", m.Type, m.ID, m.Payload)
		}
		break
	}
	// The connection still serves: the id is free again.
	send(t, c, msg{Type: "subscribe", ID: "s", Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
	deadline = time.Now().Add(5 * time.Second)
	for tk.count() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("could not subscribe again")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOutletEnd: a source that ends a subscription (events were lost) reaches the client
// as an error with the code, after what was delivered before; the subscription is gone.
func TestOutletEnd(t *testing.T) {
	tk := &ticker{}
	srv := newTickServer(t, tk)
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	send(t, c, msg{Type: "subscribe", ID: "s", Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
	deadline := time.Now().Add(5 * time.Second)
	for tk.count() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("subscription not registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tk.mu.Lock()
	for o, ch := range tk.subs {
		o.Deliver(nil, func() { ch <- "last" })
		o.End("events may have been lost", "EVENTS_LOST")
	}
	tk.mu.Unlock()
	expect(t, c, "next", "s")
	m := expect(t, c, "error", "s")
	if !strings.Contains(string(m.Payload), `"code":"EVENTS_LOST"`) {
		t.Fatalf("error payload %s", m.Payload)
	}
	deadline = time.Now().Add(5 * time.Second)
	for tk.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ended subscription is still registered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The id is free again.
	send(t, c, msg{Type: "subscribe", ID: "s", Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
	deadline = time.Now().Add(5 * time.Second)
	for tk.count() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("could not subscribe again")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClosedConnectionForgetsSubscriptions: when a client leaves, the source is told
// that each of its subscriptions ended, those the writer was about to end included.
func TestClosedConnectionForgetsSubscriptions(t *testing.T) {
	tk := &ticker{}
	srv := newTickServer(t, tk)
	const n = 5
	c := mustDial(t, srv, transportWS)
	send(t, c, msg{Type: "connection_init"})
	expect(t, c, "connection_ack", "")
	for i := range n {
		send(t, c, msg{Type: "subscribe", ID: fmt.Sprint(i), Payload: json.RawMessage(`{"query":"subscription { tick }"}`)})
	}
	deadline := time.Now().Add(5 * time.Second)
	for tk.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscriptions registered", tk.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); tk.count() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions still registered after their connection closed", tk.count())
		}
	}
}
