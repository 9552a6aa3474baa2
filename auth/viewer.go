// Package auth holds who is calling: password hashing, bearer tokens, the login throttle
// and the viewer carried in the request context.
package auth

import (
	"context"
	"sync/atomic"
)

// Viewer is the authenticated caller of a request.
type Viewer struct {
	UserID int
	Name   string
	// TokenVersion is the user's token version the request's token carries (current,
	// or the token would have been refused).
	TokenVersion int
	// Language is the user's own language setting ("" for the application default).
	Language string
	// SubstituteFor are users whose personal tasks the viewer works now (as their
	// substitute, permanently or during their absence).
	SubstituteFor []int
	// SubstituteRoles are roles whose tasks the viewer works now as someone's substitute.
	SubstituteRoles []int
	// WithHidden: this request reads hidden tasks and cases although
	// PortalHiddenTaskCaseExcluded is on (only setHidden, which needs its permission,
	// sets it; see policy.Subject.taskSources).
	WithHidden bool
}

type viewerKey struct{}

// NewContext returns a context carrying the viewer.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer of the request, or nil when nobody is logged in.
func FromContext(ctx context.Context) *Viewer {
	switch v := ctx.Value(viewerKey{}).(type) {
	case *Viewer:
		return v
	case watched:
		v.read.Store(true)
		return v.v
	}
	return nil
}

// watched is the viewer of a context made by Watch.
type watched struct {
	v    *Viewer
	read *atomic.Bool
}

// Watch returns ctx, with the same viewer, and a function reporting whether anything
// under it has asked for the viewer since. Every rule that depends on who asks (the read
// rules, permission checks, field rules such as a user's email, the language) reads the
// viewer through FromContext; work that never did comes out the same for any viewer, so
// the websocket transport may share such a rendering of an event among the subscribers of
// different users. A rule that found the viewer some other way would break that: keep
// FromContext the one way to it.
func Watch(ctx context.Context) (context.Context, func() bool) {
	var read atomic.Bool
	return context.WithValue(ctx, viewerKey{}, watched{FromContext(ctx), &read}), read.Load
}

type systemKey struct{}

// SystemContext marks work done by the server itself (timers, bootstrap, the command
// line, internal lookups): visibility filters and permission checks do not apply to it.
// Never derive it from a request.
func SystemContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

// IsSystem reports whether ctx is a SystemContext.
func IsSystem(ctx context.Context) bool { v, _ := ctx.Value(systemKey{}).(bool); return v }

// Privilege names one narrow read or write beyond the viewer's visibility that a request
// path needs (the user lookup of a login, say). Package policy's rule table says what
// each allows; a privilege it does not know allows nothing. Unlike SystemContext it
// lifts no rule but the ones its entry names.
type Privilege string

// ReadForLogin lets a login read the User entity to look up the name, before anybody is
// logged in.
const ReadForLogin Privilege = "ReadForLogin"

type privilegeKey struct{}

// Elevate returns ctx carrying the privilege p (replacing any other).
func Elevate(ctx context.Context, p Privilege) context.Context {
	return context.WithValue(ctx, privilegeKey{}, p)
}

// PrivilegeOf returns the privilege ctx carries, if any.
func PrivilegeOf(ctx context.Context) (Privilege, bool) {
	p, ok := ctx.Value(privilegeKey{}).(Privilege)
	return p, ok
}
