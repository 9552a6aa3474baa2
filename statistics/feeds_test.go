package statistics

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/outlet"
)

// binder is a transport that keeps the end hook it is given, as wstransport does.
type binder struct {
	mu    sync.Mutex
	ended func()
}

func (b *binder) Bind(ended func()) outlet.Outlet {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = ended
	return b
}
func (b *binder) Deliver(_ any, push func()) {}
func (b *binder) End(string, string)         {}

// TestFeedsForgetSubscribers: a chart feed forgets a subscriber when its context ends
// (no transport) and when its transport says it ended, and drops the feed with the last.
func TestFeedsForgetSubscribers(t *testing.T) {
	changes := make(chan struct{})
	defer close(changes)
	f := NewFeeds(changes, slog.New(slog.DiscardHandler))
	compute := func(context.Context) (*Data, error) { return &Data{Total: 1}, nil }
	subs := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		if fd := f.feeds["k"]; fd != nil {
			return len(fd.subs)
		}
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := f.Subscribe(ctx, "k", compute); err != nil {
		t.Fatal(err)
	}
	b := &binder{}
	if _, err := f.Subscribe(outlet.WithBinder(context.Background(), b), "k", compute); err != nil {
		t.Fatal(err)
	}
	if n := subs(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); subs() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers after one's context ended, want 1", subs())
		}
	}
	b.mu.Lock()
	ended := b.ended
	b.mu.Unlock()
	ended()
	f.mu.Lock()
	left := len(f.feeds)
	f.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d feeds left after the last subscriber ended", left)
	}
}
