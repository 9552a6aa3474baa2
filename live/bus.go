// Package live carries change events between the parts of a server and between the
// servers sharing a database: in-process for SQLite, PostgreSQL LISTEN/NOTIFY otherwise.
// Events hold ids, never objects, so they stay small; receivers load what they need.
package live

import (
	"context"
	"sync"

	"github.com/portico-dev/portico/policy"
)

// Kinds of events.
const (
	KindPolicy   = "policy"   // role, membership or grant changes (Policy)
	KindWork     = "work"     // tasks and cases changed (Tasks, Cases)
	KindSettings = "settings" // variables changed (Variables)
	KindSessions = "sessions" // users' sessions ended (Users): their sockets re-check their tokens
	// KindResync tells receivers that events may have been lost (the listener
	// reconnected): reload state instead of trusting increments.
	KindResync = "resync"
)

// Event is one change, published after its transaction committed.
type Event struct {
	Origin string          `json:"o"` // the publishing server's id
	Kind   string          `json:"k"`
	Policy []policy.Change `json:"p,omitempty"`
	Tasks  []int           `json:"t,omitempty"`
	Cases  []int           `json:"c,omitempty"`
	// Assigned tasks got new responsibles; Assignment says how (ASSIGNED, DELEGATED).
	Assigned   []int  `json:"a,omitempty"`
	Assignment string `json:"as,omitempty"`
	// Variables names the settings that changed; Values has their new values ("" for
	// the default) unless that made the event too large for NOTIFY.
	Variables []string          `json:"v,omitempty"`
	Values    map[string]string `json:"vv,omitempty"`
	// Users whose sessions ended (KindSessions): ids only; each server re-reads them.
	Users []int `json:"u,omitempty"`
}

// Bus publishes events to every server on the database, this one included.
type Bus interface {
	Publish(ctx context.Context, e Event) error
	// Subscribe returns a channel of events and a function that ends the subscription.
	Subscribe() (<-chan Event, func())
	Close() error
}

// fanout delivers events to this server's subscribers. A subscriber that does not keep
// up loses events rather than blocking the others; it is then sent a resync.
type fanout struct {
	mu   sync.Mutex
	subs map[chan Event]bool // value: the subscriber missed an event
}

func newFanout() *fanout { return &fanout{subs: map[chan Event]bool{}} }

func (f *fanout) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	f.mu.Lock()
	f.subs[ch] = false
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *fanout) deliver(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, missed := range f.subs {
		if missed {
			select {
			case ch <- Event{Kind: KindResync}:
				f.subs[ch] = false
			default:
				continue
			}
		}
		select {
		case ch <- e:
		default:
			f.subs[ch] = true
		}
	}
}

func (f *fanout) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		close(ch)
		delete(f.subs, ch)
	}
}

// Local is the in-process bus, for a single server (SQLite).
type Local struct{ *fanout }

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{newFanout()} }

// Publish delivers e to this server's subscribers.
func (l *Local) Publish(_ context.Context, e Event) error { l.deliver(e); return nil }

// Close ends every subscription.
func (l *Local) Close() error { l.closeAll(); return nil }
