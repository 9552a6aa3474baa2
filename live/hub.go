package live

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/outlet"
)

// Change kinds delivered to subscribers.
const (
	Created = "CREATED"
	Changed = "CHANGED"
	Deleted = "DELETED" // no longer visible to the subscriber (destroyed, delegated away, rights revoked)
)

// TaskChange is a task event for one subscriber. A DELETED change carries the id alone:
// the subscriber may no longer see the task, so nothing of its current state goes out.
type TaskChange struct {
	Kind string
	ID   int
	Task *ent.Task // nil for Deleted
}

// Notification tells a subscriber a task was assigned or delegated to it or its roles.
type Notification struct {
	Kind string // ASSIGNED or DELEGATED
	Task *ent.Task
}

// CaseChange is a case event for one subscriber; like a TaskChange, a DELETED one
// carries the id alone.
type CaseChange struct {
	Kind string
	ID   int
	Case *ent.BusinessCase // nil for Deleted
}

// Hub turns the bus's work events into per-subscriber task and case events. Each event
// is checked against what the subscriber may see at that moment, with the same
// visibility predicates as queries: one query per group of subscribers that share a
// viewer and a filter, not one per subscriber.
type Hub struct {
	client *ent.Client
	log    *slog.Logger
	mu     sync.Mutex
	tasks  map[*sub[TaskChange, *ent.TaskQuery]]struct{}
	cases  map[*sub[CaseChange, *ent.BusinessCaseQuery]]struct{}
	notes  map[*sub[Notification, *ent.TaskQuery]]struct{}
	// changes wake those who recompute derived numbers (charts) after work or policy
	// changes.
	changes map[chan struct{}]struct{}
}

type sub[C any, Q any] struct {
	ctx    context.Context // the subscriber's: carries its viewer
	key    string          // viewer and filter: subscribers with one key share a query
	filter func(Q) (Q, error)
	send   func(token any, c C) // hands an event to the subscriber, never blocking; see eventToken
	lost   func()               // tells the subscriber events were lost (nil: it cannot be told)
	seen   map[int]bool         // ids delivered, to tell DELETED when one disappears
}

// buffer is how many events a subscriber may lag behind before it misses some.
const buffer = 256

// NewHub starts dispatching the bus's work events; it stops when the bus closes.
func NewHub(client *ent.Client, bus Bus, log *slog.Logger) *Hub {
	h := &Hub{client: client, log: log,
		tasks:   map[*sub[TaskChange, *ent.TaskQuery]]struct{}{},
		cases:   map[*sub[CaseChange, *ent.BusinessCaseQuery]]struct{}{},
		notes:   map[*sub[Notification, *ent.TaskQuery]]struct{}{},
		changes: map[chan struct{}]struct{}{}}
	events, _ := bus.Subscribe()
	go h.run(events)
	return h
}

// Tasks subscribes the viewer of ctx to changes of the tasks it may see that match filter
// (nil for all). key must be equal for equal viewers and filters. conv turns each change
// into what the returned channel carries, so the GraphQL executor reads the hub's channel
// directly, with no goroutine in between. The channel closes when ctx ends.
func Tasks[E any](h *Hub, ctx context.Context, key string, filter func(*ent.TaskQuery) (*ent.TaskQuery, error), conv func(TaskChange) E) <-chan E {
	return add(h, h.tasks, &sub[TaskChange, *ent.TaskQuery]{ctx: ctx, key: key, filter: filter, seen: map[int]bool{}}, conv)
}

// Cases subscribes the viewer of ctx to changes of the cases it may see.
func Cases[E any](h *Hub, ctx context.Context, key string, conv func(CaseChange) E) <-chan E {
	return add(h, h.cases, &sub[CaseChange, *ent.BusinessCaseQuery]{ctx: ctx, key: key, seen: map[int]bool{}}, conv)
}

// Notifications subscribes the viewer of ctx to tasks newly assigned or delegated to it;
// mine narrows a task query to the tasks whose responsibles include the viewer, its roles
// or whom it substitutes.
func Notifications[E any](h *Hub, ctx context.Context, key string, mine func(*ent.TaskQuery) (*ent.TaskQuery, error), conv func(Notification) E) <-chan E {
	return add(h, h.notes, &sub[Notification, *ent.TaskQuery]{ctx: ctx, key: key, filter: mine}, conv)
}

func (h *Hub) dispatchAssigned(kind string, ids []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range grouped(h.notes) {
		q, err := g[0].filter(h.client.Task.Query().Where(task.IDIn(ids...)))
		if err != nil {
			continue
		}
		mine, err := q.All(g[0].ctx)
		if err != nil {
			h.log.Warn("notification visibility", "err", err)
			continue
		}
		d := new(byte)
		for _, s := range g {
			for _, t := range mine {
				s.send(eventToken{d, t.ID, kind}, Notification{Kind: kind, Task: t})
			}
		}
	}
}

// add registers s until its context ends, then closes its channel. Nothing waits for
// the end: with thousands of idle subscribers a goroutine each is most of their memory.
// When the transport drives the subscription (package outlet), events go to it instead,
// rendered once per token for all subscribers of a group.
func add[C, Q, E any](h *Hub, subs map[*sub[C, Q]]struct{}, s *sub[C, Q], conv func(C) E) <-chan E {
	to := outlet.Bind(s.ctx)
	out := make(chan E, buffer)
	s.send = func(_ any, c C) {
		select {
		case out <- conv(c):
		default: // the subscriber lags buffer events behind: it misses this one
		}
	}
	if to != nil {
		out = make(chan E, 1) // filled right before the transport reads it
		s.send = func(token any, c C) {
			to.Deliver(token, func() {
				select {
				case out <- conv(c):
				default:
				}
			})
		}
		s.lost = func() { to.End(EventsLostMessage, EventsLostCode) }
	}
	h.mu.Lock()
	subs[s] = struct{}{}
	h.mu.Unlock()
	// Dispatches send under h.mu, so none is sending when out closes. A bound channel
	// stays open: the transport may still push a late event into it.
	context.AfterFunc(s.ctx, func() {
		h.mu.Lock()
		delete(subs, s)
		if to == nil {
			close(out)
		}
		h.mu.Unlock()
	})
	return out
}

// What subscribers are told when events may have been lost (the bus listener
// reconnected, or this server fell behind it): no silent gaps.
const (
	EventsLostMessage = "events may have been lost; subscribe again and refetch"
	EventsLostCode    = "EVENTS_LOST"
)

// resync ends every task, case and notification subscription with EventsLostCode:
// their clients resubscribe and refetch. (Chart feeds recompute on the change signal,
// announcements re-read the settings.) Subscribers no transport drives cannot be told.
func (h *Hub) resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	lostAll(h.tasks)
	lostAll(h.cases)
	lostAll(h.notes)
}

func lostAll[C, Q any](subs map[*sub[C, Q]]struct{}) {
	for s := range subs {
		if s.lost != nil {
			s.lost()
		}
	}
}

// eventToken names one event as a group of subscribers (one viewer, one filter) gets
// it: equal tokens carry equal values, so the transport renders them once.
type eventToken struct {
	dispatch *byte // one per group and dispatch
	id       int
	kind     string
}

// grouped returns the subscribers by key: each group shares one visibility query.
func grouped[C, Q any](subs map[*sub[C, Q]]struct{}) map[string][]*sub[C, Q] {
	groups := map[string][]*sub[C, Q]{}
	for s := range subs {
		groups[s.key] = append(groups[s.key], s)
	}
	return groups
}

// Changes returns a channel that receives a signal after committed work or policy
// changes on any server, until ctx ends. Signals coalesce: a slow receiver gets one for
// many changes, never none.
func (h *Hub) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.changes[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		delete(h.changes, ch)
		close(ch)
		h.mu.Unlock()
	})
	return ch
}

func (h *Hub) signalChanges() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.changes {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) run(events <-chan Event) {
	for e := range events {
		if e.Kind != KindSettings && e.Kind != KindSessions { // neither changes what charts show
			h.signalChanges()
		}
		if e.Kind == KindResync {
			h.resync()
			continue
		}
		if e.Kind != KindWork {
			continue
		}
		if len(e.Tasks) > 0 {
			h.dispatchTasks(e.Tasks, e.Created)
		}
		if len(e.Cases) > 0 {
			h.dispatchCases(e.Cases, e.Created)
		}
		if len(e.Assigned) > 0 {
			h.dispatchAssigned(e.Assignment, e.Assigned)
		}
	}
}

func (h *Hub) dispatchTasks(ids, created []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range grouped(h.tasks) {
		q := h.client.Task.Query().Where(task.IDIn(ids...))
		var err error
		if g[0].filter != nil {
			if q, err = g[0].filter(q); err != nil {
				continue
			}
		}
		visible, err := q.All(g[0].ctx)
		if err != nil {
			h.log.Warn("task event visibility", "err", err)
			continue
		}
		d := new(byte)
		for _, s := range g {
			got := map[int]bool{}
			for _, t := range visible {
				got[t.ID] = true
				kind := kindOf(t.ID, created)
				s.seen[t.ID] = true
				s.send(eventToken{d, t.ID, kind}, TaskChange{Kind: kind, ID: t.ID, Task: t})
			}
			for _, id := range gone(s.seen, got, ids) {
				s.send(eventToken{d, id, Deleted}, TaskChange{Kind: Deleted, ID: id})
			}
		}
	}
}

// gone returns the ids among ids that the subscriber was sent (seen) but may no longer
// see (not in visible), and forgets them: each leaves with one DELETED event.
func gone(seen, visible map[int]bool, ids []int) []int {
	var out []int
	for _, id := range ids {
		if seen[id] && !visible[id] {
			delete(seen, id)
			out = append(out, id)
		}
	}
	return out
}

func (h *Hub) dispatchCases(ids, created []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range grouped(h.cases) {
		visible, err := h.client.BusinessCase.Query().Where(businesscase.IDIn(ids...)).All(g[0].ctx)
		if err != nil {
			h.log.Warn("case event visibility", "err", err)
			continue
		}
		d := new(byte)
		for _, s := range g {
			got := map[int]bool{}
			for _, c := range visible {
				got[c.ID] = true
				kind := kindOf(c.ID, created)
				s.seen[c.ID] = true
				s.send(eventToken{d, c.ID, kind}, CaseChange{Kind: kind, ID: c.ID, Case: c})
			}
			for _, id := range gone(s.seen, got, ids) {
				s.send(eventToken{d, id, Deleted}, CaseChange{Kind: Deleted, ID: id})
			}
		}
	}
}

// kindOf tells a new object from a changed one by the event's created ids.
func kindOf(id int, created []int) string {
	if slices.Contains(created, id) {
		return Created
	}
	return Changed
}
