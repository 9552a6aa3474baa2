// Package outlet lets an event source hand a subscription's events to the websocket
// transport that drives it, instead of a goroutine per subscription waiting on the
// subscription's channel. With thousands of idle subscribers such goroutines are most of
// their memory, and rendering every event once per subscriber most of the CPU: through
// an outlet the transport renders an event once for all subscriptions that share an
// operation and a token, and writes the same bytes to each.
package outlet

import "context"

// Outlet receives a subscription's events.
type Outlet interface {
	// Deliver queues one event and never blocks. token identifies the event as its
	// audience sees it: whoever is handed equal tokens must be sent values that render
	// identically for the same operation (same object, same viewer or a viewer-independent
	// type), whatever the subscription field's arguments: those choose which events a
	// subscription gets (a filter), never what a value holds, so subscriptions that differ
	// only in them share renderings. nil means "render for this subscription alone". push
	// puts the event's value into the subscription's channel; the transport calls it at
	// most once, right before it reads that channel, or never when it reuses an earlier
	// rendering.
	Deliver(token any, push func())
	// End ends the subscription with an error the client sees, after the events
	// delivered before; code goes into the error's extensions. For a source that lost
	// events: the client must subscribe again and refetch.
	End(message, code string)
}

// Token is the token of an event that reaches the subscribers of many viewers with one
// value (the same object in the same change): Event names the value, Viewer whom it is
// rendered for. A transport renders it once per Event and operation when that rendering
// depended on no viewer (it never asked who the viewer is), else once per whole token:
// a rendering that applied someone's rights is never shared with anybody else.
type Token struct {
	Event, Viewer any
}

type key struct{}

// Binder is what a transport puts into a subscription's context.
type Binder interface {
	// Bind reports that the caller delivers the subscription's events through the
	// returned Outlet; the transport then stops waiting on the channel itself. ended,
	// when not nil, runs once the subscription has ended (on another goroutine when it
	// ended already: never inside Bind).
	Bind(ended func()) Outlet
}

// WithBinder gives a subscription's context its transport's binder.
func WithBinder(ctx context.Context, b Binder) context.Context {
	return context.WithValue(ctx, key{}, b)
}

// Bind returns the outlet of the subscription of ctx, or nil when its transport reads
// the channel itself (then the source sends to the channel as usual). ended, when not
// nil, runs once the subscription has ended, never inside Bind: the transport runs it,
// or, without one, context.AfterFunc when ctx ends. Told by the transport, an idle
// subscription holds no watcher of its context. A source calls Bind last, once the
// subscription cannot fail any more: a bound subscription's resolver must return its
// channel.
func Bind(ctx context.Context, ended func()) Outlet {
	if b, ok := ctx.Value(key{}).(Binder); ok {
		return b.Bind(ended)
	}
	if ended != nil {
		context.AfterFunc(ctx, ended)
	}
	return nil
}

// Replace puts v into a one-slot channel, replacing a value not read yet: for sources
// whose subscribers need only the newest value (push functions, mostly).
func Replace[T any](ch chan T, v T) {
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- v:
	default:
	}
}
