package live

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/portico-dev/portico/outlet"
)

// TestSubscribersCostNoGoroutine: an idle subscriber is a map entry and a channel, no
// goroutine; its channel closes and it leaves the hub when its context ends; a subscriber
// lagging a full buffer behind misses events instead of blocking the hub.
func TestSubscribersCostNoGoroutine(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	h := NewHub(nil, bus, slog.New(slog.DiscardHandler)) // no dispatch here: no client needed
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chans := make([]<-chan int, 200)
	for i := range chans {
		chans[i] = Tasks(h, ctx, "viewer", nil, func(c TaskChange) int { return len(c.Kind) })
	}
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Errorf("200 subscribers started %d goroutines", n)
	}

	h.mu.Lock()
	for s := range h.tasks {
		for range buffer + 5 { // must not block
			s.send(nil, TaskChange{Kind: Changed})
		}
	}
	h.mu.Unlock()
	if n := len(chans[0]); n != buffer {
		t.Errorf("a lagging subscriber holds %d events, want %d", n, buffer)
	}
	if v := <-chans[0]; v != len(Changed) {
		t.Errorf("converted event %d, want %d", v, len(Changed))
	}

	cancel()
	for i, ch := range chans {
		deadline := time.After(5 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatalf("subscriber %d: channel still open after its context ended", i)
			}
		}
	}
	h.mu.Lock()
	left := len(h.tasks)
	h.mu.Unlock()
	if left != 0 {
		t.Errorf("%d subscribers left in the hub", left)
	}
}

// recorder is an outlet that records what it is handed.
type recorder struct {
	ended chan string
}

func (r *recorder) Bind() outlet.Outlet      { return r }
func (r *recorder) Deliver(any, func())      {}
func (r *recorder) End(message, code string) { r.ended <- code + ": " + message }

// TestResyncEndsSubscriptions: when events may have been lost, every task, case and
// notification subscriber driven through an outlet is ended with EVENTS_LOST, so its
// client resubscribes and refetches instead of missing changes silently.
func TestResyncEndsSubscriptions(t *testing.T) {
	bus := NewLocal()
	defer bus.Close()
	h := NewHub(nil, bus, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{ended: make(chan string, 3)}
	bound := outlet.WithBinder(ctx, r)
	Tasks(h, bound, "v", nil, func(c TaskChange) int { return 0 })
	Cases(h, bound, "v", func(c CaseChange) int { return 0 })
	Notifications(h, bound, "v", nil, func(n Notification) int { return 0 })

	bus.Publish(ctx, Event{Kind: KindResync})
	for range 3 {
		select {
		case got := <-r.ended:
			if got != EventsLostCode+": "+EventsLostMessage {
				t.Fatalf("ended with %q", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a subscriber was not told that events were lost")
		}
	}
}
