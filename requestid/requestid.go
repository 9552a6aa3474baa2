// Package requestid tags each request with an id that appears in logs and in the
// INTERNAL errors a client sees, so a report can be matched to its log lines.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type key struct{}

// New returns a fresh random request id.
func New() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewContext returns a context carrying the id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the request id, or "" outside a request.
func FromContext(ctx context.Context) string { id, _ := ctx.Value(key{}).(string); return id }

// MaxLen bounds an id taken from a trusted proxy's X-Request-Id.
const MaxLen = 64

// Valid reports whether id, sent by a trusted proxy, may be used as the request id: 1
// to MaxLen letters, digits, '-', '_', '.' or ':' (nothing a log or header would
// need to escape).
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
