// Package wstransport serves GraphQL over websocket with gorilla/websocket, in both
// subprotocols: graphql-transport-ws and the legacy graphql-ws. It is a gqlgen transport
// built for many idle subscribers:
//
//   - an idle connection costs one goroutine, its reader, started fresh with a small
//     stack once the HTTP handler has upgraded it (the handler returns, and net/http's
//     goroutine and write buffer go with it); pings come from one goroutine for all
//     connections, the init timeout and token expiry are timers;
//   - a small pool of writers, growing only while connections wait to be written,
//     sends what is queued: a fan-out to thousands of connections does not flood the
//     scheduler with a goroutine each, which would delay every other request;
//   - a subscription whose source delivers through an outlet (package outlet) costs no
//     goroutine at all: the source hands each event to the connection's queue;
//   - an event is rendered once for all subscriptions that share an operation (query,
//     operation name, variables) and the event's token, and the same bytes are written
//     to each of them; with an outlet.Token, once for all viewers when the rendering
//     never asked for its viewer (Options.Watch);
//   - write buffers come from a pool, so an idle connection holds none.
//
// Subscriptions whose source reads no outlet still work: the transport then waits on
// their channel with a goroutine each, as gqlgen's own transport does.
package wstransport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/outlet"
)

// The subprotocols, the modern one preferred when a client offers both.
const (
	Modern = "graphql-transport-ws"
	Legacy = "graphql-ws"
)

// Close codes of graphql-transport-ws, used for both subprotocols.
const (
	CloseBadMessage    = 4400
	CloseUnauthorized  = 4401
	CloseForbidden     = 4403
	CloseInitTimeout   = 4408
	CloseDuplicateID   = 4409
	CloseTooManyInits  = 4429
	maxCloseReasonSize = 123 // a control frame's 125 bytes less the code
)

// CloseTooManyConnections refuses a connection whose owner (its user) already holds
// Options.MaxPerOwner open ones: WebSocket's own "policy violation".
const CloseTooManyConnections = websocket.ClosePolicyViolation

// Options configures a Transport; zero values take the defaults named.
type Options struct {
	// AllowedOrigins lists the browser origins allowed to connect, as browsers send them
	// ("https://portal.example.com"), or "*" for any. Requests without Origin (not a
	// browser) and same-origin requests are always allowed; others get HTTP 403.
	AllowedOrigins []string
	// InitFunc checks the connection_init payload and returns the connection's context,
	// derived from ctx (its viewer: values, not an end of its own), and a function run
	// once the connection has closed (nil for none). It ends the connection later by
	// calling end, which never blocks (when the token expires: ErrTokenExpired; when
	// the session ends): with a *CloseError the connection closes with that code, else
	// with 4403. A returned *CloseError chooses the close code; other errors close with
	// 4403. A hook and a call of end instead of a context that ends: each idle socket
	// would otherwise hold a cancel context and a watcher of it.
	InitFunc func(ctx context.Context, payload map[string]any, end func(error)) (context.Context, func(), error)
	// ConnContext returns the context a connection starts from, holding what its
	// operations need of the upgrade request. Nil: the request's context without its
	// end, which keeps the request's whole chain of contexts (net/http's and every
	// middleware's) for as long as the socket is open.
	ConnContext func(r *http.Request) context.Context
	// OperationContext prepares the context of each operation and of each rendering of a
	// subscription event (per-request batch loaders, so no cache outlives one event).
	OperationContext func(context.Context) context.Context
	// Watch wraps the context of an event's rendering and returns a function telling,
	// after it, whether the rendering depended on the connection's viewer (auth.Watch).
	// A rendering of an outlet.Token that did not is shared by every subscription of its
	// operation handed the same Event, whatever the viewer. Nil: none is shared beyond
	// its token.
	Watch func(context.Context) (context.Context, func() bool)
	// InitTimeout closes connections that send no connection_init in time (10s).
	InitTimeout time.Duration
	// PingInterval is how often the server pings (graphql-transport-ws "ping", legacy
	// "ka") (20s). A graphql-transport-ws client that sends nothing, not even a pong,
	// for two and a half intervals is dropped.
	PingInterval time.Duration
	// ReadLimit bounds a client message; larger ones close with 1009 (64 KiB).
	ReadLimit int64
	// WriteTimeout bounds each write to a client (10s).
	WriteTimeout time.Duration
	// MaxQueue is how many messages may wait for a slow client before its connection
	// is closed with 1013, telling it to reconnect and refetch (256).
	MaxQueue int
	// Owner names whom an initialised connection belongs to (its user), from the
	// context InitFunc returned; "" counts against no one. With MaxPerOwner > 0, an
	// owner holding that many open connections gets the next one closed with
	// CloseTooManyConnections right after connection_init.
	Owner       func(ctx context.Context) string
	MaxPerOwner int
	// MaxOperations bounds the operations one connection runs at once (its
	// subscriptions, and queries and mutations in flight); the next is refused with a
	// BAD_USER_INPUT error. 0: no bound. Counted here, where operations start and end,
	// so that no feed can skip it and a subscription holds nothing more for it.
	MaxOperations int
	Log           *slog.Logger
}

// CloseError, returned by InitFunc, closes the connection with Code and Reason.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return e.Reason }

// ErrTokenExpired closes a connection whose token expired: what an InitFunc passes to
// end then.
var ErrTokenExpired = &CloseError{Code: CloseUnauthorized, Reason: "token expired; log in again"}

// Transport is the gqlgen transport; add it to a handler.Server.
type Transport struct {
	opts      Options
	upgrader  websocket.Upgrader
	anyOrigin bool
	origins   []string
	renders   renderCache

	mu         sync.Mutex
	conns      map[*conn]struct{} // initialised connections, for the pinger
	open       map[*conn]struct{} // every upgraded connection not yet closed, for Shutdown
	owned      map[string]int     // open connections per owner
	pinging    bool
	registered int    // connections registered so far: each one's ping slice
	shutdown   string // the close reason once Shutdown was called: new connections are refused

	wmu     sync.Mutex
	ready   []*conn // connections with queued messages, waiting for a writer
	writers int

	delivered, dropped, lost atomic.Int64 // see Stats
}

// Stats tells what the transport holds and did since it was made.
type Stats struct {
	Connections   int   // initialised connections open
	Subscriptions int   // operations running on them
	Delivered     int64 // subscription events written to clients
	Dropped       int64 // events shed from the queue of a slow client (their subscriptions ended with EVENTS_LOST)
	Lost          int64 // subscriptions ended with EVENTS_LOST: shed events, a full outlet, a gap on the bus
}

// Renderings counts the renderings of subscription events: a hit is an event served by
// a rendering made for another subscription.
func (t *Transport) Renderings() cachestats.Counts { return t.renders.lookups.Counts() }

// Stats returns the counts; it visits every open connection.
func (t *Transport) Stats() Stats {
	st := Stats{Delivered: t.delivered.Load(), Dropped: t.dropped.Load(), Lost: t.lost.Load()}
	t.mu.Lock()
	defer t.mu.Unlock()
	st.Connections = len(t.conns)
	for c := range t.conns {
		c.mu.Lock()
		st.Subscriptions += len(c.subs)
		c.mu.Unlock()
	}
	return st
}

// yieldEvery is how long a writer keeps its core before letting others in.
const yieldEvery = 500 * time.Microsecond

// maxWriters bounds the writer pool: enough that a few clients stalled until their
// write deadline do not stop the others, few enough to leave the scheduler to requests.
const maxWriters = 32

var _ graphql.Transport = (*Transport)(nil)

// New returns a Transport configured by opts.
func New(opts Options) *Transport {
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 10 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 20 * time.Second
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = 64 << 10
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 256
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	t := &Transport{opts: opts, conns: map[*conn]struct{}{}, open: map[*conn]struct{}{}, owned: map[string]int{}}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			t.anyOrigin = true
		}
		t.origins = append(t.origins, strings.TrimSuffix(o, "/"))
	}
	t.upgrader = websocket.Upgrader{
		Subprotocols: []string{Modern, Legacy},
		CheckOrigin:  t.checkOrigin,
		// Idle connections hold no write buffer, and a small read buffer: client
		// messages are few and small (pongs; a subscribe takes a few reads), and every
		// byte here is held by each idle socket for its whole life.
		WriteBufferPool: &sync.Pool{},
		ReadBufferSize:  256,
	}
	t.renders.shared = map[renderKey]*rendering{}
	return t
}

// Supports reports websocket upgrades.
func (t *Transport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// checkOrigin guards against cross-site websocket hijacking: browsers always send Origin
// on websocket handshakes, so only they are restricted.
func (t *Transport) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || t.anyOrigin {
		return true
	}
	if slices.ContainsFunc(t.origins, func(o string) bool { return strings.EqualFold(o, origin) }) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// Do serves one websocket until it closes; its goroutine is the connection's reader.
func (t *Transport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.mu.Lock()
	down := t.shutdown != ""
	t.mu.Unlock()
	if down {
		http.Error(w, "the server is shutting down; connect again", http.StatusServiceUnavailable)
		return
	}
	ws, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // gorilla has answered (403 for a bad Origin)
	}
	ws.SetReadLimit(t.opts.ReadLimit)
	c := &conn{t: t, ws: ws, exec: exec, legacy: ws.Subprotocol() != Modern, subs: map[string]*subscription{}}
	// The connection outlives this handler: its context keeps the request's values (or
	// those ConnContext chose) but not its end.
	base := context.WithoutCancel(r.Context())
	if t.opts.ConnContext != nil {
		base = t.opts.ConnContext(r)
	}
	c.ctx, c.cancel = context.WithCancel(base)
	c.ping = []byte(`{"type":"ping"}`)
	if c.legacy {
		c.ping = []byte(`{"type":"ka"}`)
	}
	c.mu.Lock() // the timer's close reads initTimer
	c.initTimer = time.AfterFunc(t.opts.InitTimeout, func() {
		c.close(CloseInitTimeout, "connection initialisation timeout")
	})
	c.mu.Unlock()
	t.mu.Lock()
	reason := t.shutdown
	if reason == "" {
		t.open[c] = struct{}{}
	}
	t.mu.Unlock()
	if reason != "" { // Shutdown began during the upgrade
		c.close(websocket.CloseGoingAway, reason)
		return
	}
	go c.serve()
}

// Shutdown refuses new connections (HTTP 503) and closes every open one with 1001
// (going away) and reason, so clients reconnect, to another server behind a balancer.
// It returns once all are closed, or with ctx's error when ctx ends first.
func (t *Transport) Shutdown(ctx context.Context, reason string) error {
	if reason == "" {
		reason = "server shutting down"
	}
	t.mu.Lock()
	t.shutdown = reason
	open := make([]*conn, 0, len(t.open))
	for c := range t.open {
		open = append(open, c)
	}
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range open {
		wg.Add(1)
		go func() { // each close may wait up to a second for its close frame
			defer wg.Done()
			c.close(websocket.CloseGoingAway, reason)
		}()
	}
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close websockets: %w", context.Cause(ctx))
	}
}

// message is a protocol message in either subprotocol.
type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// conn is one websocket connection; mu guards the fields below it.
type conn struct {
	t         *Transport
	ws        *websocket.Conn
	exec      graphql.GraphExecutor
	headers   http.Header
	legacy    bool
	ping      []byte
	cancel    context.CancelFunc
	wmu       sync.Mutex // one writer at a time, as gorilla requires
	deadline  time.Time  // the socket's write deadline; c.wmu guards it
	owner     string     // counted in t.owned; t.mu guards it
	pingSlice int        // which of pingLoop's turns pings it; set by register

	mu        sync.Mutex
	initTimer *time.Timer
	ctx       context.Context // the connection's: its viewer after connection_init
	onClosed  func()          // InitFunc's hook
	inited    bool
	closed    bool
	subs      map[string]*subscription
	queue     []item // messages waiting for the writer
	writing   bool   // a writer goroutine is running
}

// item is a message to write: raw bytes, or an event of sub to render.
type item struct {
	raw   []byte
	end   *subscription // ended once raw is written (see End)
	sub   *subscription
	token any
	push  func()
}

// serve reads client messages until the connection ends.
func (c *conn) serve() {
	defer c.close(websocket.CloseNormalClosure, "")
	defer c.recover("reading")
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return // closed, timed out or too big (gorilla has sent 1009)
		}
		var m message
		dec := json.NewDecoder(r)
		if err := dec.Decode(&m); err != nil {
			c.protocolError(CloseBadMessage, "invalid message: not a JSON protocol message")
			return
		}
		if c.inited && !c.legacy {
			// Any message shows the client alive; it must at least answer pings.
			c.ws.SetReadDeadline(time.Now().Add(c.t.opts.PingInterval * 5 / 2))
		}
		switch {
		case m.Type == "connection_init":
			if !c.init(m.Payload) {
				return
			}
		case m.Type == "connection_terminate" && c.legacy:
			return
		case !c.inited:
			c.protocolError(CloseUnauthorized, "Unauthorized: send connection_init first")
			return
		case m.Type == "subscribe" && !c.legacy, m.Type == "start" && c.legacy:
			if !c.start(m) {
				return
			}
		case m.Type == "complete" && !c.legacy, m.Type == "stop" && c.legacy:
			c.stop(m.ID)
		case m.Type == "ping" && !c.legacy:
			c.sendRaw(append([]byte(`{"type":"pong"`), appendPayload(m.Payload)...))
		case m.Type == "pong" && !c.legacy:
		default:
			c.protocolError(CloseBadMessage, fmt.Sprintf("invalid message type %q", m.Type))
			return
		}
	}
}

func appendPayload(p json.RawMessage) []byte {
	if len(p) == 0 {
		return []byte("}")
	}
	return append(append([]byte(`,"payload":`), p...), '}')
}

// protocolError closes for a broken protocol; legacy clients get connection_error first,
// their only way to learn why.
func (c *conn) protocolError(code int, reason string) {
	if c.legacy {
		c.writeNow(c.errorMessage("connection_error", "", reason))
	}
	c.close(code, reason)
}

// init handles connection_init; false ends the connection.
func (c *conn) init(payload json.RawMessage) bool {
	if c.inited {
		c.protocolError(CloseTooManyInits, "Too many initialisation requests")
		return false
	}
	c.mu.Lock()
	timedOut := !c.initTimer.Stop()
	c.initTimer = nil // not kept for the connection's life
	c.mu.Unlock()
	if timedOut {
		return false // closing
	}
	p := map[string]any{}
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.protocolError(CloseBadMessage, "invalid connection_init payload: not a JSON object")
			return false
		}
	}
	ctx := c.ctx
	var closed func()
	if c.t.opts.InitFunc != nil {
		var err error
		if ctx, closed, err = c.t.opts.InitFunc(c.ctx, p, c.end); err != nil {
			code, reason := CloseForbidden, err.Error()
			var ce *CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			c.protocolError(code, reason)
			return false
		}
	}
	c.mu.Lock()
	if c.closed { // meanwhile (the client left, or end was called): close has run
		c.mu.Unlock()
		if closed != nil {
			closed()
		}
		return false
	}
	c.onClosed = closed
	c.mu.Unlock()
	if !c.t.claim(ctx, c) {
		c.protocolError(CloseTooManyConnections, fmt.Sprintf("too many open connections for this user (at most %d); close one and connect again", c.t.opts.MaxPerOwner))
		return false
	}
	c.mu.Lock()
	c.ctx, c.inited = ctx, true
	c.mu.Unlock()
	c.sendRaw([]byte(`{"type":"connection_ack"}`))
	if c.legacy {
		c.sendRaw(c.ping)
	} else {
		c.ws.SetReadDeadline(time.Now().Add(c.t.opts.PingInterval * 5 / 2))
	}
	c.t.register(c)
	return true
}

// start begins an operation; false ends the connection.
func (c *conn) start(m message) bool {
	id, err := json.Marshal(m.ID)
	if err != nil || m.ID == "" {
		c.protocolError(CloseBadMessage, "invalid message: an operation needs an id")
		return false
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if _, dup := c.subs[m.ID]; dup {
		c.mu.Unlock()
		c.protocolError(CloseDuplicateID, "Subscriber for "+m.ID+" already exists")
		return false
	}
	s := &subscription{c: c, id: m.ID, idJSON: id}
	if max := c.t.opts.MaxOperations; max > 0 && len(c.subs) >= max {
		c.mu.Unlock()
		c.refuse(s, &gqlerror.Error{Message: fmt.Sprintf("this connection already runs %d operations; complete some subscriptions or open another connection", max),
			Extensions: map[string]any{"code": "BAD_USER_INPUT"}})
		return true
	}
	s.nextPrefix = s.envelope(s.nextType(), nil)
	s.nextPrefix = append(s.nextPrefix[:len(s.nextPrefix)-1], `,"payload":`...)
	s.ctx, s.cancel = context.WithCancel(c.ctx)
	c.subs[m.ID] = s
	c.mu.Unlock()
	// Resolvers need a deep stack and may wait for the database: not on the reader,
	// whose stack would stay grown for the connection's life.
	go s.run(m.Payload)
	return true
}

// refuse answers an operation that did not start with err, as a resolver's error is
// answered (a result with errors, then complete).
func (c *conn) refuse(s *subscription, err *gqlerror.Error) {
	c.sendRaw(s.envelope(s.nextType(), mustJSON(&graphql.Response{Errors: gqlerror.List{err}})))
	c.sendRaw(s.envelope("complete", nil))
}

// stop ends an operation at the client's request.
func (c *conn) stop(id string) {
	c.mu.Lock()
	s := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if s == nil {
		return
	}
	s.end()
	c.mu.Lock()
	bound := s.bound
	c.mu.Unlock()
	if bound { // a waiting goroutine sends its own complete when the channel closes
		c.sendRaw(s.envelope("complete", nil))
	}
}

// sendRaw queues a message.
func (c *conn) sendRaw(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(item{raw: b})
}

// queueLocked adds it to the queue and starts the writer when it is not running; c.mu
// is held. A client that lets MaxQueue messages pile up is too slow to serve.
func (c *conn) queueLocked(it item) {
	if c.closed {
		return
	}
	if len(c.queue) >= c.t.opts.MaxQueue && !c.shedLocked(it) {
		go c.close(websocket.CloseTryAgainLater, "too slow: messages were lost; reconnect and refetch")
		return
	}
	if it.sub != nil && (it.sub.ending || it.sub.ended.Load()) {
		c.t.dropped.Add(1)
		return // shed: its subscription was told it lost events
	}
	c.queue = append(c.queue, it)
	if !c.writing {
		c.writing = true
		c.t.schedule(c)
	}
}

// shedLocked makes room in a full queue by dropping the events waiting in it, it
// included: each subscription that had one dropped ends with EVENTS_LOST (its client
// subscribes again and refetches), so no event is missed in silence and the connection
// and its other subscriptions stay. It reports false when that frees no room (the
// queue holds protocol messages only). c.mu is held.
func (c *conn) shedLocked(it item) bool {
	var lost []*subscription
	kept := c.queue[:0]
	for _, q := range c.queue {
		if q.sub == nil {
			kept = append(kept, q)
		} else if !slices.Contains(lost, q.sub) {
			lost = append(lost, q.sub)
		}
	}
	if it.sub != nil && !slices.Contains(lost, it.sub) {
		lost = append(lost, it.sub)
	}
	c.t.dropped.Add(int64(len(c.queue) - len(kept)))
	clear(c.queue[len(kept):])
	c.queue = kept
	if len(c.queue) >= c.t.opts.MaxQueue {
		return false
	}
	for _, s := range lost {
		s.endLocked(eventsLostMessage, eventsLostCode)
	}
	return true
}

// The error of a subscription whose events were shed; the same as package outlet's.
const (
	eventsLostMessage = outlet.EventsLostMessage
	eventsLostCode    = outlet.EventsLostCode
)

// schedule hands c to the writer pool, starting a writer when all are busy.
func (t *Transport) schedule(c *conn) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.ready = append(t.ready, c)
	if t.writers < maxWriters {
		t.writers++
		go t.write()
	}
}

// write flushes ready connections until none is left.
func (t *Transport) write() {
	yielded := time.Now()
	for {
		t.wmu.Lock()
		if len(t.ready) == 0 {
			t.writers--
			t.ready = nil // let a burst's backing array go
			t.wmu.Unlock()
			return
		}
		c := t.ready[0]
		t.ready[0] = nil
		t.ready = t.ready[1:]
		t.wmu.Unlock()
		c.flush()
		// Writes seldom block, so a writer would keep its core for a whole time slice;
		// yielding every yieldEvery lets requests (and their database replies) in
		// between connections, without a trip through the scheduler for each.
		if time.Since(yielded) > yieldEvery {
			runtime.Gosched()
			yielded = time.Now()
		}
	}
}

// flush writes the queue until it is empty; one writer at a time flushes a connection.
func (c *conn) flush() {
	defer c.recover("writing")
	for {
		c.mu.Lock()
		items := c.queue
		c.queue = nil
		if len(items) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, it := range items {
			var err error
			if it.sub == nil {
				err = c.writeNow(it.raw)
				if it.end != nil {
					it.end.end()
				}
			} else if payload := it.sub.render(it); payload != nil {
				if err = c.writeEvent(it.sub, payload); err == nil {
					c.t.delivered.Add(1)
				}
			}
			if err != nil {
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				c.close(websocket.CloseAbnormalClosure, "")
				return
			}
		}
	}
}

// recover ends the connection, not the server, after a panic; deferred by the
// connection's goroutines, which no HTTP server guards.
func (c *conn) recover(doing string) {
	if r := recover(); r != nil {
		c.t.opts.Log.Error("websocket connection panicked", "while", doing, "panic", r, "stack", string(debug.Stack()))
		c.close(websocket.CloseInternalServerErr, "internal error")
	}
}

// writeEvent writes an event's message around its shared payload, without copying
// the payload into a message of its own first.
func (c *conn) writeEvent(s *subscription, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.extendWriteDeadline()
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	w.Write(s.nextPrefix)
	w.Write(payload)
	w.Write([]byte{'}'})
	return w.Close() // reports any failed Write
}

// writeNow writes b.
func (c *conn) writeNow(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.extendWriteDeadline()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// extendWriteDeadline gives the next write between half a WriteTimeout and a whole one;
// moving the socket's deadline for every message of a fan-out costs a timer update each.
// c.wmu is held.
func (c *conn) extendWriteDeadline() {
	now := time.Now()
	if c.deadline.Sub(now) < c.t.opts.WriteTimeout/2 {
		c.deadline = now.Add(c.t.opts.WriteTimeout)
		c.ws.SetWriteDeadline(c.deadline)
	}
}

// close sends a close frame (best effort), drops the connection and ends its
// subscriptions; only the first call counts.
func (c *conn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var subs []*subscription // to end below: the running ones and those ending in the queue
	for _, s := range c.subs {
		s.ended.Store(true)
		subs = append(subs, s)
	}
	for _, it := range c.queue {
		if it.end != nil {
			subs = append(subs, it.end)
		}
	}
	c.queue = nil
	if c.initTimer != nil {
		c.initTimer.Stop()
	}
	closed := c.onClosed
	c.onClosed = nil
	c.mu.Unlock()
	c.t.unregister(c)
	if code != websocket.CloseAbnormalClosure {
		msg := websocket.FormatCloseMessage(code, truncateReason(reason))
		c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	}
	c.ws.Close()
	c.cancel()
	for _, s := range subs {
		s.end()
	}
	if closed != nil {
		closed()
	}
}

// end is the end InitFunc is given: it closes the connection with err's code, on a
// goroutine of its own, since its caller may hold a lock the closed hook takes.
func (c *conn) end(err error) {
	code, reason := CloseForbidden, err.Error()
	var ce *CloseError
	if errors.As(err, &ce) {
		code, reason = ce.Code, ce.Reason
	}
	go c.close(code, reason)
}

// errorMessage is a message of type typ carrying one GraphQL error.
func (c *conn) errorMessage(typ, id, text string) []byte {
	b, _ := json.Marshal(message{ID: id, Type: typ, Payload: mustJSON(&gqlerror.Error{Message: text})})
	return b
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{"message":"internal error: unencodable response"}`)
	}
	return b
}

// register adds an initialised connection to the pinger's list, starting the pinger
// when it is not running.
func (t *Transport) register(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	t.conns[c] = struct{}{}
	c.pingSlice = t.registered
	t.registered++
	if !t.pinging {
		t.pinging = true
		go t.pingLoop()
	}
}

func (t *Transport) unregister(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	delete(t.open, c)
	if c.owner != "" {
		if t.owned[c.owner]--; t.owned[c.owner] == 0 {
			delete(t.owned, c.owner)
		}
		c.owner = ""
	}
	t.mu.Unlock()
}

// claim counts an initialised connection against its owner's limit; false when the
// owner has no room left or the connection is closing. close releases the claim.
func (t *Transport) claim(ctx context.Context, c *conn) bool {
	if t.opts.MaxPerOwner <= 0 || t.opts.Owner == nil {
		return true
	}
	owner := t.opts.Owner(ctx)
	if owner == "" {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed || t.owned[owner] >= t.opts.MaxPerOwner {
		return false
	}
	t.owned[owner]++
	c.owner = owner
	return true
}

// pingLoop pings every connection once an interval, a slice of them at a time; it
// ends when none is left. Pinging all at once made every client answer at once: with
// 10,000 sockets, a burst every interval that took the cores from requests and their
// database for about 100 ms (a startProcess then answered in 240 ms instead of 15).
func (t *Transport) pingLoop() {
	slices := pingSlices(t.opts.PingInterval)
	tick := time.NewTicker(t.opts.PingInterval / time.Duration(slices))
	defer tick.Stop()
	var due []*conn
	for turn := 0; ; turn = (turn + 1) % slices {
		<-tick.C
		t.mu.Lock()
		if len(t.conns) == 0 {
			t.pinging = false
			t.mu.Unlock()
			return
		}
		due = due[:0]
		for c := range t.conns {
			if c.pingSlice%slices == turn {
				due = append(due, c)
			}
		}
		t.mu.Unlock()
		for _, c := range due {
			c.sendRaw(c.ping)
		}
		clear(due)
	}
}

// pingSlices is how many groups pingLoop pings in turn: one every 100 ms at most,
// and at most 50 (one every 400 ms at the default 20 s).
func pingSlices(interval time.Duration) int {
	return int(min(max(interval/(100*time.Millisecond), 1), 50))
}

// subscription is one operation of a connection. c.mu guards bound, ending, ready and
// early.
type subscription struct {
	c      *conn
	id     string
	idJSON []byte
	ctx    context.Context
	cancel context.CancelFunc

	shape      string // with a token, what decides the rendering (renderShape)
	nextPrefix []byte // an event message up to its payload
	responses  graphql.ResponseHandler
	rctx       context.Context // the context responses runs in

	ended atomic.Bool // the operation is over: deliveries are dropped

	bound  bool   // the source delivers through this outlet
	onEnd  func() // the source's hook, run once by end
	ending bool   // End was called: no more deliveries
	ready  bool   // responses is set
	early  []item // events delivered before ready
}

var _ outlet.Binder = (*subscription)(nil)

// Bind marks the subscription as driven by its source; end runs ended.
func (s *subscription) Bind(ended func()) outlet.Outlet {
	s.c.mu.Lock()
	s.bound = true
	over := s.ended.Load() // the connection closed meanwhile
	if !over {
		s.onEnd = ended
	}
	s.c.mu.Unlock()
	if over && ended != nil {
		go ended()
	}
	return s
}

// Deliver queues an event for rendering.
func (s *subscription) Deliver(token any, push func()) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.ended.Load() || s.ending {
		return
	}
	it := item{sub: s, token: token, push: push}
	if !s.ready {
		s.early = append(s.early, it)
		return
	}
	s.c.queueLocked(it)
}

// End sends the client an error for the subscription, after what is queued, and ends it
// then: events delivered before End still reach the client.
func (s *subscription) End(message, code string) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.endLocked(message, code)
}

// endLocked is End with c.mu held.
func (s *subscription) endLocked(message, code string) {
	c := s.c
	if s.ending || s.ended.Load() {
		return
	}
	s.ending = true
	if code == eventsLostCode {
		c.t.lost.Add(1)
	}
	if c.subs[s.id] == s {
		delete(c.subs, s.id)
	}
	errs := mustJSON(gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}})
	if c.legacy { // an error does not end a legacy operation by itself
		c.queueLocked(item{raw: s.envelope("error", errs)})
		c.queueLocked(item{raw: s.envelope("complete", nil), end: s})
	} else {
		c.queueLocked(item{raw: s.envelope("error", errs), end: s})
	}
}

// run parses, validates and starts the operation. A bound subscription returns at once;
// queries, mutations and unbound subscriptions run here to their end.
func (s *subscription) run(payload json.RawMessage) {
	c := s.c
	ctx := graphql.StartOperationTrace(s.ctx)
	defer func() {
		if r := recover(); r != nil {
			c.t.opts.Log.Error("websocket operation panicked", "panic", r)
			s.finish(&graphql.Response{Errors: gqlerror.List{{Message: "internal error"}}}, false)
		}
	}()
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber() // as gqlgen's transports decode variables
	if err := dec.Decode(&params); err != nil {
		s.finish(&graphql.Response{Errors: gqlerror.List{{Message: "invalid json"}}}, true)
		return
	}
	rc, errs := c.exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		s.finish(resp, errcode.GetErrorKind(errs) == errcode.KindProtocol)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	if rc.Operation.Operation != ast.Subscription {
		if c.t.opts.OperationContext != nil {
			ctx = c.t.opts.OperationContext(ctx)
		}
		responses, ctx := c.exec.DispatchOperation(ctx, rc)
		s.finish(responses(ctx), false)
		return
	}
	shape, rendering := renderShape(rc)
	s.shape = shape
	responses, rctx := c.exec.DispatchOperation(outlet.WithBinder(ctx, s), rc)
	// The field has resolved: what it alone read (a filter, often the largest part of a
	// subscription) is let go, before any event can be rendered from rc.
	rc.Variables = rendering
	c.mu.Lock()
	s.responses, s.rctx, s.ready = responses, rctx, true
	for _, it := range s.early {
		c.queueLocked(it)
	}
	s.early = nil
	bound := s.bound
	c.mu.Unlock()
	if bound {
		return
	}
	for {
		resp := responses(rctx)
		if resp == nil {
			break
		}
		c.sendRaw(s.envelope(s.nextType(), mustJSON(resp)))
	}
	s.finish(nil, false)
}

// finish sends an operation's last response (nil for none; as an "error" message when
// asError) and its complete, unless the connection is gone.
func (s *subscription) finish(resp *graphql.Response, asError bool) {
	c := s.c
	c.mu.Lock()
	if c.subs[s.id] == s {
		delete(c.subs, s.id)
	}
	c.mu.Unlock()
	s.end()
	if resp != nil {
		if asError {
			c.sendRaw(s.envelope("error", mustJSON(resp.Errors)))
			if !c.legacy {
				return // an error message ends the operation in graphql-transport-ws
			}
		} else {
			c.sendRaw(s.envelope(s.nextType(), mustJSON(resp)))
		}
	}
	if c.ctx.Err() == nil {
		c.sendRaw(s.envelope("complete", nil))
	}
}

// end stops the operation's deliveries, cancels its context and runs its source's
// hook; c.mu is not held (the hook takes its source's locks, under which the source
// delivers).
func (s *subscription) end() {
	s.c.mu.Lock()
	s.ended.Store(true)
	hook := s.onEnd
	s.onEnd = nil
	s.c.mu.Unlock()
	s.cancel()
	if hook != nil {
		hook()
	}
}

func (s *subscription) nextType() string {
	if s.c.legacy {
		return "data"
	}
	return "next"
}

// render returns the payload for one delivered event: the rendering shared by
// subscriptions with this shape and token, made here when none has it yet; nil when
// the subscription ended.
func (s *subscription) render(it item) []byte {
	if s.ended.Load() {
		return nil
	}
	return s.c.t.renders.get(s.shape, it.token, func() ([]byte, bool) {
		it.push()
		ctx := s.rctx
		if s.c.t.opts.OperationContext != nil {
			ctx = s.c.t.opts.OperationContext(ctx)
		}
		viewerRead := func() bool { return true }
		if s.c.t.opts.Watch != nil {
			ctx, viewerRead = s.c.t.opts.Watch(ctx)
		}
		resp := s.responses(ctx)
		if resp == nil {
			return nil, true // the subscription ended meanwhile
		}
		// An error is kept to its viewer too: it may come from a rule that failed before
		// it could ask.
		return mustJSON(resp), viewerRead() || len(resp.Errors) > 0
	})
}

// envelope is a protocol message of type typ for this operation.
func (s *subscription) envelope(typ string, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(s.idJSON)+40)
	b = append(b, `{"id":`...)
	b = append(b, s.idJSON...)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if payload != nil {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// truncateReason cuts s to fit a close frame without splitting a UTF-8 sequence.
func truncateReason(s string) string {
	if len(s) <= maxCloseReasonSize {
		return s
	}
	i := maxCloseReasonSize
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
