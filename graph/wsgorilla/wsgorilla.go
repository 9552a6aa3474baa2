// Package wsgorilla runs gqlgen's websocket transport over
// github.com/gorilla/websocket instead of gqlgen's default coder/websocket.
package wsgorilla

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

const (
	// DefaultReadLimit is the message size limit used when Options.ReadLimit is 0.
	DefaultReadLimit = 64 << 10
	// DefaultWriteTimeout is the write deadline used when Options.WriteTimeout is 0.
	DefaultWriteTimeout = 10 * time.Second

	// maxCloseReason is what fits in a 125-byte control frame after the
	// 2-byte close code; gorilla refuses to send anything longer.
	maxCloseReason = 123
)

// Options configures an Implementation.
type Options struct {
	// AllowedOrigins lists the browser origins allowed to connect, exactly as
	// browsers send them (e.g. "https://portal.example.com"), or "*" for any.
	// Requests without an Origin header (non-browser clients) and same-origin
	// requests (Origin host equals the request Host) are always allowed, so an
	// empty list means same-origin only. Other origins get HTTP 403.
	AllowedOrigins []string
	// ReadLimit is the maximum size in bytes of a message read from the
	// client; larger messages close the connection with 1009. 0 means
	// DefaultReadLimit, a negative value disables the adapter's own limit.
	// gqlgen's Websocket.PayloadReadLimit is applied too; the smaller wins.
	ReadLimit int64
	// ReadBufferSize and WriteBufferSize are the gorilla I/O buffer sizes;
	// 0 means gorilla's default (4096).
	ReadBufferSize  int
	WriteBufferSize int
	// WriteTimeout bounds every write, so a stalled client cannot block
	// gqlgen's writers forever. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// Implementation is a transport.WebsocketImplementation backed by gorilla/websocket.
type Implementation struct {
	upgrader     websocket.Upgrader
	anyOrigin    bool
	origins      []string
	readLimit    int64
	writeTimeout time.Duration
}

var _ transport.WebsocketImplementation = (*Implementation)(nil)

// New returns an Implementation configured by opts.
func New(opts Options) *Implementation {
	i := &Implementation{
		readLimit:    opts.ReadLimit,
		writeTimeout: opts.WriteTimeout,
	}
	if i.readLimit == 0 {
		i.readLimit = DefaultReadLimit
	}
	if i.writeTimeout <= 0 {
		i.writeTimeout = DefaultWriteTimeout
	}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			i.anyOrigin = true
		}
		i.origins = append(i.origins, strings.TrimSuffix(o, "/"))
	}
	i.upgrader = websocket.Upgrader{
		ReadBufferSize:  opts.ReadBufferSize,
		WriteBufferSize: opts.WriteBufferSize,
		CheckOrigin:     i.checkOrigin,
	}
	return i
}

// checkOrigin guards against cross-site websocket hijacking: browsers always
// send Origin on websocket handshakes, so only they are restricted.
func (i *Implementation) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || i.anyOrigin {
		return true
	}
	if slices.ContainsFunc(i.origins, func(o string) bool { return strings.EqualFold(o, origin) }) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// Accept upgrades the request, offering gqlgen's subprotocols. When the
// client names none of them the negotiated subprotocol is "", which gqlgen
// treats as legacy graphql-ws, as it does with its own coder adapter. On
// failure gorilla has already written the HTTP error (403 for a bad Origin).
func (i *Implementation) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	u := i.upgrader
	u.Subprotocols = slices.Clone(options.Subprotocols)
	ws, err := u.Upgrade(w, r, options.ResponseHeader)
	if err != nil {
		return nil, err
	}
	c := &conn{ws: ws, maxRead: i.readLimit, writeTimeout: i.writeTimeout}
	// Apply our limit now: gqlgen skips SetReadLimit when PayloadReadLimit is -1.
	c.SetReadLimit(0)
	return c, nil
}

// conn adapts *websocket.Conn to transport.WebsocketConn.
type conn struct {
	ws           *websocket.Conn
	maxRead      int64
	writeTimeout time.Duration

	// writeMu serialises data writes: gorilla allows a single concurrent
	// writer. gqlgen's wsConnection currently holds its own mutex around
	// writes, but that is an implementation detail we don't rely on.
	writeMu sync.Mutex
}

var (
	_ transport.WebsocketConn          = (*conn)(nil)
	_ transport.WebsocketReadLimiter   = (*conn)(nil)
	_ transport.WebsocketReadDeadliner = (*conn)(nil)
)

// NextReader returns the next message. A normal close by the peer is
// reported as transport.ErrWebsocketClosed, the only close gqlgen recognises
// (with net.ErrClosed) as not worth passing to its ErrorFunc. Like gqlgen's
// coder adapter, that covers codes 1000 and 1005.
func (c *conn) NextReader() (int, io.Reader, error) {
	t, r, err := c.ws.NextReader()
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) {
		return t, nil, transport.ErrWebsocketClosed
	}
	return t, r, err
}

// WriteJSON writes v as a text message.
func (c *conn) WriteJSON(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// WriteClose sends a close frame with closeCode and message. It does not
// close the connection; gqlgen calls Close right after.
func (c *conn) WriteClose(closeCode int, message string) error {
	// WriteControl is safe alongside other writers, so no writeMu.
	msg := websocket.FormatCloseMessage(closeCode, truncateReason(message))
	return c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.writeTimeout))
}

// Close closes the underlying network connection without a close frame.
func (c *conn) Close() error {
	return c.ws.Close()
}

// Subprotocol returns the negotiated subprotocol, "" if none.
func (c *conn) Subprotocol() string {
	return c.ws.Subprotocol()
}

// SetReadLimit sets the message size limit to the smaller of limit and the
// adapter's own ReadLimit; limit <= 0 means no limit from gqlgen. gqlgen
// always calls this with its 1 MiB default, which must not loosen ours.
func (c *conn) SetReadLimit(limit int64) {
	if c.maxRead > 0 && (limit <= 0 || limit > c.maxRead) {
		limit = c.maxRead
	}
	c.ws.SetReadLimit(limit)
}

// SetReadDeadline sets the read deadline; gqlgen uses it to drop clients
// that miss pongs. After it expires the connection is unusable for reading.
func (c *conn) SetReadDeadline(t time.Time) error {
	return c.ws.SetReadDeadline(t)
}

// truncateReason cuts s to fit a close frame without splitting a UTF-8
// sequence, so a long reason still gets sent instead of failing the close.
func truncateReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	i := maxCloseReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
