package live

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/portico-dev/portico/outlet"
)

// recorder is an outlet that records what it is handed.
type recorder struct {
	ended chan string
}

func (r *recorder) Bind(func()) outlet.Outlet { return r }
func (r *recorder) Deliver(any, func())       {}
func (r *recorder) End(message, code string)  { r.ended <- code + ": " + message }

// bound returns a sink over an outlet.Sub driven by r.
func bound[C any](ctx context.Context, r *recorder) *sink[C] {
	sub := outlet.NewSub[C](outlet.WithBinder(ctx, r), false, nil)
	return &sink[C]{ctx: ctx, send: func(token any, c C) { sub.Send(token, c) }, lost: sub.Lost}
}

// TestResyncEndsSubscriptions: when events may have been lost, every task, case and
// notification subscriber is ended with EVENTS_LOST, so its client resubscribes and
// refetches instead of missing changes silently.
func TestResyncEndsSubscriptions(t *testing.T) {
	bus := NewLocal("test")
	defer bus.Close()
	h := NewHub(nil, nil, nil, bus, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{ended: make(chan string, 3)}
	v := &viewer{key: "v", tasks: map[string]*group[TaskChange]{"": newGroup[TaskChange](nil)},
		cases: newGroup[CaseChange](nil), notes: newGroup[Notification](nil)}
	v.tasks[""].subs[bound[TaskChange](ctx, r)] = struct{}{}
	v.cases.subs[bound[CaseChange](ctx, r)] = struct{}{}
	v.notes.subs[bound[Notification](ctx, r)] = struct{}{}
	h.mu.Lock()
	h.viewers["v"] = v
	h.mu.Unlock()

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

// TestUnwatchedWorkCostsNothing: with no subscriber, a work event neither syncs the list
// index nor reads its rows (the hub here has neither: doing so would panic), and the
// hub goes on to the events after it.
func TestUnwatchedWorkCostsNothing(t *testing.T) {
	bus := NewLocal("test")
	defer bus.Close()
	h := NewHub(nil, nil, nil, bus, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus.Publish(ctx, Event{Kind: KindWork, Tasks: []int{1, 2}, Cases: []int{3}, Created: []int{2}})

	// Then a subscriber, and a resync that only reaches it once the hub is past the
	// work event.
	r := &recorder{ended: make(chan string, 1)}
	v := &viewer{key: "v", tasks: map[string]*group[TaskChange]{"": newGroup[TaskChange](nil)}}
	v.tasks[""].subs[bound[TaskChange](ctx, r)] = struct{}{}
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	h.viewers["v"] = v
	h.mu.Unlock()
	bus.Publish(ctx, Event{Kind: KindResync})
	select {
	case <-r.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the hub did not get past the unwatched work event")
	}
}

// TestUnwatchedFeedsCostNothing: a work event is read only for the feeds someone
// watches. A viewer with a case subscription alone costs a task event no index sync and
// no rows read (the hub here has neither: doing so would panic), and the hub goes on.
func TestUnwatchedFeedsCostNothing(t *testing.T) {
	bus := NewLocal("test")
	defer bus.Close()
	h := NewHub(nil, nil, nil, bus, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{ended: make(chan string, 1)}
	v := &viewer{key: "v", tasks: map[string]*group[TaskChange]{}, cases: newGroup[CaseChange](nil)}
	v.cases.subs[bound[CaseChange](ctx, r)] = struct{}{}
	h.mu.Lock()
	h.viewers["v"] = v
	h.mu.Unlock()

	bus.Publish(ctx, Event{Kind: KindWork, Tasks: []int{1, 2}, Created: []int{2}, Assigned: []int{1}, Assignment: "ASSIGNED"})
	bus.Publish(ctx, Event{Kind: KindResync})
	select {
	case <-r.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the hub did not get past the unwatched task event")
	}
}
