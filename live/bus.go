// Package live carries change events between the parts of a server and between the
// servers sharing a database: in-process for SQLite, PostgreSQL LISTEN/NOTIFY otherwise.
//
// Events say what changed, by kind and id, and never carry state a receiver applies:
// any session on the database may NOTIFY (and LISTEN), so a receiver reads what changed
// from the database, the one source of truth. A forged event can at most cause a
// harmless re-read.
package live

import (
	"context"
	"slices"
	"sync"

	"github.com/portico-dev/portico/workflow"
)

// Kinds of events.
const (
	KindPolicy   = "policy"   // roles, memberships or grants changed: re-read them
	KindWork     = "work"     // tasks and cases changed (Tasks, Cases, Assigned)
	KindSettings = "settings" // variables changed (Variables): re-read their values
	KindSessions = "sessions" // users' sessions ended (Users): their sockets re-check their tokens
	// KindResync tells receivers that events may have been lost (the listener
	// reconnected, or a subscriber fell behind): reload state instead of trusting
	// increments. Only this server makes it; the bus never accepts one from outside.
	KindResync = "resync"
)

// Event is one change, published after its transaction committed.
type Event struct {
	Origin string `json:"o"` // the publishing server's id
	Kind   string `json:"k"`
	Tasks  []int  `json:"t,omitempty"`
	Cases  []int  `json:"c,omitempty"`
	// Created are the ids among Tasks and Cases that the write created (the others
	// changed): the kind travels with the event instead of being guessed on arrival.
	Created []int `json:"n,omitempty"`
	// Assigned tasks got new responsibles; Assignment says how (ASSIGNED, DELEGATED,
	// EXPIRING).
	Assigned   []int  `json:"a,omitempty"`
	Assignment string `json:"as,omitempty"`
	// Variables names the settings that changed; their values stay in the database.
	Variables []string `json:"v,omitempty"`
	// Users whose sessions ended (KindSessions): ids only; each server re-reads them.
	Users []int `json:"u,omitempty"`
	// At is when the event was published (Unix microseconds, the publisher's clock), for
	// the bus lag metric alone: receivers apply nothing from it.
	At int64 `json:"at,omitempty"`
	// Mark, on a work event of this process's own write, is the list index's mark taken
	// right after the write committed (listindex.Index.Mark): the hub waits for a sync
	// begun after it, often already running, instead of beginning one. It never travels
	// between servers.
	Mark uint64 `json:"-"`
}

// assignments are the values Event.Assignment may take.
var assignments = []string{workflow.AssignedNew, workflow.AssignedDelegated, workflow.AssignedExpiring}

// valid reports whether an event received from outside this process is one a server
// publishes: a known kind (never a resync, which would end every subscription) and a
// known assignment kind, the one word of an event shown to subscribers as it is.
func (e Event) valid() bool {
	switch e.Kind {
	case KindPolicy, KindWork, KindSettings, KindSessions:
	default:
		return false
	}
	return len(e.Assigned) == 0 || slices.Contains(assignments, e.Assignment)
}

// Bus publishes events to every server on the database, this one included: this
// server's subscribers get them at once, in process. It stamps each with the origin it
// was made for (the server's id).
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
type Local struct {
	*fanout
	origin string
}

// NewLocal returns an in-process bus for the server origin.
func NewLocal(origin string) *Local { return &Local{newFanout(), origin} }

// Publish delivers e, from this server, to its subscribers.
func (l *Local) Publish(_ context.Context, e Event) error {
	e.Origin = l.origin
	l.deliver(e)
	return nil
}

// Close ends every subscription.
func (l *Local) Close() error { l.closeAll(); return nil }
