package live

import (
	"context"
	"encoding/json"
	"testing"
)

func TestSplitKeepsEveryIDUnderTheLimit(t *testing.T) {
	e := Event{Origin: "x", Kind: KindWork, Assignment: "EXPIRING"}
	for i := 0; i < 5000; i++ {
		e.Tasks = append(e.Tasks, 25769803776+i)
		e.Cases = append(e.Cases, i)
		e.Assigned = append(e.Assigned, 25769803776+i)
	}
	parts := split(e)
	var tasks, cases, assigned int
	for _, p := range parts {
		b, _ := json.Marshal(p)
		if len(b) > maxPayload {
			t.Fatalf("a part is %d bytes", len(b))
		}
		if len(p.Assigned) > 0 && p.Assignment != "EXPIRING" {
			t.Fatalf("a part lost its assignment kind: %q", p.Assignment)
		}
		tasks, cases, assigned = tasks+len(p.Tasks), cases+len(p.Cases), assigned+len(p.Assigned)
	}
	if tasks != 5000 || cases != 5000 || assigned != 5000 || len(parts) < 3 {
		t.Fatalf("%d parts carry %d tasks, %d cases and %d assigned tasks", len(parts), tasks, cases, assigned)
	}
}

func TestLocalFanoutAndResync(t *testing.T) {
	bus := NewLocal("test")
	fast, stopFast := bus.Subscribe()
	slow, stopSlow := bus.Subscribe()
	defer stopFast()
	defer stopSlow()
	ctx := context.Background()
	// Overflow the slow subscriber's buffer while the fast one keeps reading.
	for i := 0; i < 300; i++ {
		if err := bus.Publish(ctx, Event{Kind: KindPolicy}); err != nil {
			t.Fatal(err)
		}
		<-fast
	}
	got := 0
	for len(slow) > 0 {
		<-slow
		got++
	}
	if got != cap(slow) {
		t.Fatalf("slow subscriber holds %d events, want its buffer of %d", got, cap(slow))
	}
	bus.Publish(ctx, Event{Kind: KindWork})
	if e := <-slow; e.Kind != KindResync {
		t.Fatalf("after missing events the slow subscriber got %q first, want a resync", e.Kind)
	}
	if e := <-slow; e.Kind != KindWork {
		t.Fatalf("then %q, want the new event", e.Kind)
	}
}

// TestEventsFromOutside: what the bus accepts from a notification is a kind a server
// publishes, never a resync (it would end every subscription), and an assignment kind
// only among the known ones (it is shown to subscribers as it is).
func TestEventsFromOutside(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want bool
	}{
		{Event{Kind: KindPolicy}, true},
		{Event{Kind: KindSettings, Variables: []string{"a"}}, true},
		{Event{Kind: KindWork, Tasks: []int{1}}, true},
		{Event{Kind: KindWork, Assigned: []int{1}, Assignment: "DELEGATED"}, true},
		{Event{Kind: KindResync}, false},
		{Event{Kind: ""}, false},
		{Event{Kind: "policy2"}, false},
		{Event{Kind: KindWork, Assigned: []int{1}, Assignment: "Your account is locked: call 555-0100"}, false},
	} {
		if got := tc.e.valid(); got != tc.want {
			t.Errorf("%+v: valid %v, want %v", tc.e, got, tc.want)
		}
	}
}
