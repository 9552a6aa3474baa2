package live

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/policy"
)

func TestSplitKeepsEveryIDUnderTheLimit(t *testing.T) {
	e := Event{Origin: "x", Kind: KindWork}
	for i := 0; i < 5000; i++ {
		e.Tasks = append(e.Tasks, 25769803776+i)
		e.Cases = append(e.Cases, i)
	}
	parts := split(e)
	var tasks, cases int
	for _, p := range parts {
		b, _ := json.Marshal(p)
		if len(b) > maxPayload {
			t.Fatalf("a part is %d bytes", len(b))
		}
		tasks, cases = tasks+len(p.Tasks), cases+len(p.Cases)
	}
	if tasks != 5000 || cases != 5000 || len(parts) < 2 {
		t.Fatalf("%d parts carry %d tasks and %d cases", len(parts), tasks, cases)
	}
}

func TestLocalFanoutAndResync(t *testing.T) {
	bus := NewLocal()
	fast, stopFast := bus.Subscribe()
	slow, stopSlow := bus.Subscribe()
	defer stopFast()
	defer stopSlow()
	ctx := context.Background()
	// Overflow the slow subscriber's buffer while the fast one keeps reading.
	for i := 0; i < 300; i++ {
		if err := bus.Publish(ctx, Event{Kind: KindPolicy, Policy: []policy.Change{policy.Link("u:1", "r:2")}}); err != nil {
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

// TestSplitDropsValuesThatDoNotFit: settings values ride along while the event fits in a
// NOTIFY; otherwise the event goes without them (receivers read the database).
func TestSplitDropsValuesThatDoNotFit(t *testing.T) {
	small := Event{Kind: KindSettings, Variables: []string{"a"}, Values: map[string]string{"a": "x"}}
	if parts := split(small); len(parts) != 1 || parts[0].Values["a"] != "x" {
		t.Fatalf("small event: %+v", parts)
	}
	big := Event{Kind: KindSettings, Variables: []string{"a"}, Values: map[string]string{"a": strings.Repeat("x", maxPayload)}}
	parts := split(big)
	if len(parts) != 1 || parts[0].Values != nil || len(parts[0].Variables) != 1 {
		t.Fatalf("big event: %d parts, values kept: %v", len(parts), parts[0].Values != nil)
	}
}
