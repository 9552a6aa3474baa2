package outlet

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestSubCostsNoGoroutine: an idle subscription is a channel, no goroutine; its channel
// closes when its context ends.
func TestSubCostsNoGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	before := runtime.NumGoroutine()
	subs := make([]*Sub[int], 200)
	for i := range subs {
		subs[i] = NewSub[int](ctx, false, nil)
	}
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Errorf("200 subscriptions started %d goroutines", n)
	}
	cancel()
	for i, s := range subs {
		select {
		case _, ok := <-s.C():
			if ok {
				t.Fatalf("subscription %d: a value after its end", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("subscription %d: channel still open after its context ended", i)
		}
	}
}

// TestSubLagging: an unbound subscription a full buffer behind is ended (its channel
// closes after what it holds) instead of skipping events; one driven by a transport is
// told EVENTS_LOST; a latest-only one keeps the newest value.
func TestSubLagging(t *testing.T) {
	ctx := t.Context()
	s := NewSub[int](ctx, false, nil)
	for i := range Buffer + 5 { // must not block
		s.Send(nil, i)
	}
	n := 0
	for range s.C() {
		n++
	}
	if n != Buffer || !s.Ended() {
		t.Fatalf("a lagging subscription held %d events (ended %v), want %d and ended", n, s.Ended(), Buffer)
	}

	r := &endRecorder{}
	b := NewSub[int](WithBinder(ctx, r), false, nil)
	b.Lost()
	b.Send(nil, 1)
	if r.ended != EventsLostCode || r.delivered != 0 {
		t.Fatalf("bound: ended %q, %d delivered after the end", r.ended, r.delivered)
	}

	l := NewSub[int](ctx, true, nil)
	for i := range 10 {
		l.Send(nil, i)
	}
	if v := <-l.C(); v != 9 || l.Ended() {
		t.Fatalf("latest-only: got %d (ended %v), want 9", v, l.Ended())
	}
}

type endRecorder struct {
	ended     string
	delivered int
}

func (r *endRecorder) Bind(func()) Outlet       { return r }
func (r *endRecorder) Deliver(any, func())      { r.delivered++ }
func (r *endRecorder) End(message, code string) { r.ended = code }
