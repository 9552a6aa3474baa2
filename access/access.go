// Package access tells who sent a request and what it was, for the access log, the
// metrics and the login throttle: the client's address (the peer's, or the one a
// trusted proxy forwarded in X-Forwarded-For), the request id (a trusted proxy's
// X-Request-Id, else a new one), and once the request ran its route, GraphQL operation
// and user. Handler logs one line per request.
package access

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/requestid"
	"github.com/portico-dev/portico/tracing"
)

// Proxies are the peers trusted to say whom they forward a request for.
type Proxies struct{ nets []netip.Prefix }

// ParseProxies reads a list of CIDR prefixes (10.0.0.0/8, fd00::/8) or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q: want a CIDR prefix (10.0.0.0/8) or an address: %w", s, err)
			}
			pre = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		p.nets = append(p.nets, pre.Masked())
	}
	return p, nil
}

// trusts reports whether a is a trusted proxy.
func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// maxHops bounds the X-Forwarded-For entries read, from the right; maxEntry the length
// of one (an IPv6 address with a zone and a port fits).
const (
	maxHops  = 16
	maxEntry = 64
)

// Client returns the client address of r and whether its peer is a trusted proxy. The
// address is the peer's unless the peer is trusted; then it is the rightmost entry of
// X-Forwarded-For that is not a trusted proxy (each proxy appends the one it got the
// request from, so entries left of it are the client's to invent). Reading stops at
// an entry that is no address, or after maxHops: the address then is the last good one.
func (p Proxies) Client(r *http.Request) (addr string, trusted bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return clip(r.RemoteAddr, maxEntry), false // not a TCP peer (tests, a unix socket)
	}
	if !p.trusts(peer) {
		return peer.String(), false
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			if hops++; hops > maxHops {
				return client.String(), true
			}
			entry := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, ok := parseAddr(strings.TrimSpace(entry))
			if !ok {
				return client.String(), true
			}
			client = a
			if !p.trusts(a) {
				return client.String(), true
			}
		}
	}
	return client.String(), true
}

// parseAddr reads an address, with or without a port.
func parseAddr(s string) (netip.Addr, bool) {
	if s == "" || len(s) > maxEntry {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// clip bounds a client-sent text before it is logged.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// Record is what the access line tells beyond the request itself, filled in while
// the request runs.
type Record struct {
	mu        sync.Mutex
	operation string
	user      int
}

type recordKey struct{}

// SetOperation records the request's GraphQL operation name; the first one counts
// (a websocket carries many).
func SetOperation(ctx context.Context, name string) {
	if r, _ := ctx.Value(recordKey{}).(*Record); r != nil && name != "" {
		r.mu.Lock()
		if r.operation == "" {
			r.operation = clip(name, 100)
		}
		r.mu.Unlock()
	}
}

// SetUser records the request's authenticated user.
func SetUser(ctx context.Context, id int) {
	if r, _ := ctx.Value(recordKey{}).(*Record); r != nil {
		r.mu.Lock()
		r.user = id
		r.mu.Unlock()
	}
}

// Options configure Handler.
type Options struct {
	Proxies Proxies
	Log     *slog.Logger
	// Observe, when set, is told of each answered request: the pattern of the mux that
	// matched it ("" for none), its method, status and duration (metrics).
	Observe func(route, method string, status int, d time.Duration)
}

// Handler serves mux with the request's client address (auth.ClientAddrFrom), its id
// (requestid.FromContext, and in the X-Request-Id response header) and a Record in its
// context, then logs one access line: at Info for a server error or a request slower
// than a second, else at Debug, so a busy server does not spend its time writing logs.
func Handler(mux *http.ServeMux, opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		addr, trusted := opts.Proxies.Client(r)
		id := ""
		if trusted {
			if v := r.Header.Get("X-Request-Id"); requestid.Valid(v) {
				id = v
			}
		}
		if id == "" {
			id = requestid.New()
		}
		w.Header().Set("X-Request-Id", id)
		rec := &Record{}
		ctx := context.WithValue(requestid.NewContext(auth.WithClientAddr(r.Context(), addr), id), recordKey{}, rec)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		mux.ServeHTTP(sw, r) // sets r.Pattern
		d := time.Since(start)
		tracing.NameByRoute(ctx, r.Method, r.Pattern)
		if opts.Observe != nil {
			opts.Observe(r.Pattern, r.Method, sw.status, d)
		}
		level := slog.LevelDebug
		if sw.status >= 500 || d > time.Second {
			level = slog.LevelInfo
		}
		if !opts.Log.Enabled(ctx, level) {
			return
		}
		rec.mu.Lock()
		op, user := rec.operation, rec.user
		rec.mu.Unlock()
		attrs := []slog.Attr{slog.String("method", clip(r.Method, 16)), slog.String("path", clip(r.URL.Path, 200)),
			slog.String("route", r.Pattern), slog.Int("status", sw.status),
			slog.Float64("durationMs", float64(d.Microseconds())/1000), slog.String("client", addr), slog.String("requestId", id)}
		if op != "" {
			attrs = append(attrs, slog.String("operation", op))
		}
		if user != 0 {
			attrs = append(attrs, slog.Int("userId", user))
		}
		opts.Log.LogAttrs(ctx, level, "request", attrs...)
	})
}
