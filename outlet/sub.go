package outlet

import (
	"context"
	"sync"
)

// What a subscriber is told when it missed events (its source fell behind, or it could
// not be served in time): it must subscribe again and refetch. No gap is silent.
const (
	EventsLostMessage = "events may have been lost; subscribe again and refetch"
	EventsLostCode    = "EVENTS_LOST"
)

// Buffer is how many events an unbound subscription's channel holds before it is ended
// as lost.
const Buffer = 256

// Sub is one subscription's end of a live feed: the one type every feed (tasks, cases,
// notifications, announcements, charts) hands its events to. It never blocks the feed:
// through an outlet the transport queues the event (and renders it once per token);
// without one (a transport that reads channels) the event goes into a buffered channel.
// When an event cannot be handed on, the subscription ends with EVENTS_LOST instead of
// missing it in silence.
type Sub[E any] struct {
	to     Outlet
	out    chan E
	latest bool // only the newest value matters: replace instead of queueing

	mu   sync.Mutex
	done bool // ended: its context ended, or it lost events
}

// NewSub returns the subscription of ctx, ended when it ends (see Bind); then ended
// runs, when not nil (a feed forgets the subscriber there: one hook per subscription
// instead of one each, about 200 bytes per socket). With latest, a subscriber is owed
// only the newest value (a chart's numbers, the announcement): a value not read yet is
// replaced, never lost. Call it last, once the subscription cannot fail any more (see
// Bind).
func NewSub[E any](ctx context.Context, latest bool, ended func()) *Sub[E] {
	s := &Sub[E]{latest: latest}
	s.mu.Lock() // the end hook, which may run at once on another goroutine, finds out set
	defer s.mu.Unlock()
	s.to = Bind(ctx, func() {
		s.end(false)
		if ended != nil {
			ended()
		}
	})
	switch {
	case s.to != nil || latest:
		s.out = make(chan E, 1) // bound: filled right before the transport reads it
	default:
		s.out = make(chan E, Buffer)
	}
	return s
}

// C is the channel the subscription's resolver returns.
func (s *Sub[E]) C() <-chan E { return s.out }

// Send hands v to the subscriber. token names the event as its audience sees it (see
// Outlet.Deliver): equal tokens, equal renderings.
func (s *Sub[E]) Send(token any, v E) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	if s.to != nil {
		out := s.out
		s.to.Deliver(token, func() { Replace(out, v) })
		return
	}
	if s.latest {
		Replace(s.out, v)
		return
	}
	select {
	case s.out <- v:
	default: // a full buffer behind: it is told, not skipped
		s.mu.Unlock()
		s.Lost()
		s.mu.Lock()
	}
}

// Lost ends the subscription with EVENTS_LOST. Without an outlet its channel closes
// (the client sees the subscription complete).
func (s *Sub[E]) Lost() { s.end(true) }

// Ended reports whether the subscription ended.
func (s *Sub[E]) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *Sub[E]) end(lost bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	if s.to == nil {
		close(s.out) // under s.mu: nothing sends after it
		return
	}
	// A bound channel stays open: the transport may still push a late event into it.
	if lost {
		s.to.End(EventsLostMessage, EventsLostCode)
	}
}
