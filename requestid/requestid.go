// Package requestid tags each request with an id that appears in logs and in the
// INTERNAL errors a client sees, so a report can be matched to its log lines.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
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

// Middleware gives every request an id and returns it in the X-Request-Id header.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := New()
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}
