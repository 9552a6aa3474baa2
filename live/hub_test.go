package live

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"
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
