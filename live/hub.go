package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/outlet"
	"github.com/portico-dev/portico/policy"
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
	Kind string // ASSIGNED, DELEGATED or EXPIRING
	Task *ent.Task
}

// CaseChange is a case event for one subscriber; like a TaskChange, a DELETED one
// carries the id alone.
type CaseChange struct {
	Kind string
	ID   int
	Case *ent.BusinessCase // nil for Deleted
}

// EventsLostMessage and EventsLostCode end subscriptions that missed events.
const (
	EventsLostMessage = outlet.EventsLostMessage
	EventsLostCode    = outlet.EventsLostCode
)

// Hub turns the bus's work events into per-subscriber task, case and notification
// events. For each event it computes the audience once: the index's reach of the row
// (its responsibles, worker, case involvement) finds the candidate viewers in an index
// of the subscribed viewers by role and user, and policy's SeesTask or SeesCase decides
// for each (the visibility rule stated once, in policy). The row is read once, by id,
// for all of them. So an event costs its audience and their sockets, not the viewers
// times a query; the database is read before the hub's lock is taken, never under it.
//
// Subscribers are grouped by viewer (user and whom it substitutes) and filter: a group
// shares its decisions. An event is rendered once per viewer, whatever its socket
// count, or once for all viewers when the rendering asks nothing of the viewer (see
// outlet.Token).
type Hub struct {
	client *ent.Client
	policy *policy.Policy
	index  *listindex.Index
	log    *slog.Logger
	// reevaluate asks the dispatch loop to re-read every viewer's subject (a policy
	// change); one pending request covers any number.
	reevaluate chan struct{}

	mu       sync.Mutex
	viewers  map[string]*viewer
	byRole   map[int]map[*viewer]struct{} // viewers whose responsible roles include it
	byUser   map[int]map[*viewer]struct{} // viewers who are it or substitute it
	allTasks map[*viewer]struct{}         // TaskReadAll
	allCases map[*viewer]struct{}         // CaseReadAll
	// sent records the viewers a task or case was sent to while they may see it: an
	// event about it concerns them too (it may have to say DELETED).
	sent map[int]map[*viewer]struct{}
	// changes wake those who recompute derived numbers (charts) after work or policy
	// changes.
	changes map[chan struct{}]struct{}
}

// viewer is a user as its sockets see: its subject and what reaches it.
type viewer struct {
	key     string
	v       *auth.Viewer
	subject *policy.Subject
	reach   policy.Reach
	tasks   map[string]*group[TaskChange] // by filter key ("" none)
	cases   *group[CaseChange]
	notes   *group[Notification]
}

func (v *viewer) empty() bool { return len(v.tasks) == 0 && v.cases == nil && v.notes == nil }

// group is a viewer's subscriptions of one feed with one filter.
type group[C any] struct {
	filter *TaskFilter
	subs   map[*sink[C]]struct{}
	seen   map[int]bool // ids sent and still visible, to tell DELETED when one leaves
}

func newGroup[C any](f *TaskFilter) *group[C] {
	return &group[C]{filter: f, subs: map[*sink[C]]struct{}{}, seen: map[int]bool{}}
}

// sink is one subscription of a group: its outlet.Sub behind the conversion to the
// GraphQL type.
type sink[C any] struct {
	ctx  context.Context
	send func(token any, c C)
	lost func()
}

// TaskFilter is a taskUpdated filter. Key is equal for equal filters. Cond is evaluated
// on the event's row in memory; a filter the index cannot evaluate has DB instead, run
// by the database under the viewer's read rules, once per group and event.
type TaskFilter struct {
	Key  string
	Cond *listindex.Cond[listindex.TaskRow]
	DB   func(*ent.TaskQuery) (*ent.TaskQuery, error)
}

// NewHub starts dispatching the bus's work events; it stops when the bus closes.
func NewHub(client *ent.Client, p *policy.Policy, ix *listindex.Index, bus Bus, log *slog.Logger) *Hub {
	h := &Hub{client: client, policy: p, index: ix, log: log, reevaluate: make(chan struct{}, 1),
		viewers: map[string]*viewer{}, byRole: map[int]map[*viewer]struct{}{}, byUser: map[int]map[*viewer]struct{}{},
		allTasks: map[*viewer]struct{}{}, allCases: map[*viewer]struct{}{}, sent: map[int]map[*viewer]struct{}{}, changes: map[chan struct{}]struct{}{}}
	events, _ := bus.Subscribe()
	go h.run(events)
	return h
}

// viewerKey names the viewer of a subscription: users with equal keys see the same.
func viewerKey(v *auth.Viewer) string {
	return fmt.Sprint(v.UserID, v.SubstituteFor, v.SubstituteRoles)
}

// Tasks subscribes the viewer of ctx to changes of the tasks it may see that match
// filter (nil for all). conv turns each change into what the returned channel carries.
func Tasks[E any](h *Hub, ctx context.Context, filter *TaskFilter, conv func(TaskChange) E) (<-chan E, error) {
	key := ""
	if filter != nil {
		key = filter.Key
	}
	return add(h, ctx, conv, func(v *viewer) *group[TaskChange] {
		if v.tasks[key] == nil {
			v.tasks[key] = newGroup[TaskChange](filter)
		}
		return v.tasks[key]
	}, func(v *viewer) {
		if g := v.tasks[key]; g != nil && len(g.subs) == 0 {
			delete(v.tasks, key)
		}
	})
}

// Cases subscribes the viewer of ctx to changes of the cases it may see.
func Cases[E any](h *Hub, ctx context.Context, conv func(CaseChange) E) (<-chan E, error) {
	return add(h, ctx, conv, func(v *viewer) *group[CaseChange] {
		if v.cases == nil {
			v.cases = newGroup[CaseChange](nil)
		}
		return v.cases
	}, func(v *viewer) {
		if v.cases != nil && len(v.cases.subs) == 0 {
			v.cases = nil
		}
	})
}

// Notifications subscribes the viewer of ctx to tasks newly assigned or delegated to it,
// its roles or whom it substitutes, and theirs about to expire.
func Notifications[E any](h *Hub, ctx context.Context, conv func(Notification) E) (<-chan E, error) {
	return add(h, ctx, conv, func(v *viewer) *group[Notification] {
		if v.notes == nil {
			v.notes = newGroup[Notification](nil)
		}
		return v.notes
	}, func(v *viewer) {
		if v.notes != nil && len(v.notes.subs) == 0 {
			v.notes = nil
		}
	})
}

// add registers a subscription in the group of its viewer that pick returns, until its
// context ends; prune drops the group once empty. Nothing waits for the end: with
// thousands of idle subscribers a goroutine each would be most of their memory.
func add[C, E any](h *Hub, ctx context.Context, conv func(C) E, pick func(*viewer) *group[C], prune func(*viewer)) (<-chan E, error) {
	av := auth.FromContext(ctx)
	if av == nil {
		return nil, fmt.Errorf("live subscription without a viewer")
	}
	subject, err := h.policy.Subject(av.UserID)
	if err != nil {
		return nil, err
	}
	key := viewerKey(av)
	// Under h.mu until registered: the end hook (which waits for h.mu) and deliveries
	// (decided under it) find v, sk and sub set.
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.viewers[key]
	if v == nil {
		v = &viewer{key: key, v: av, subject: subject, reach: subject.Reach(av), tasks: map[string]*group[TaskChange]{}}
		h.viewers[key] = v
		h.indexViewer(v, true)
	}
	sk := &sink[C]{ctx: ctx}
	g := pick(v) // the hook keeps the group, not pick (which holds the subscriber's filter)
	sub := outlet.NewSub[E](ctx, false, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(g.subs, sk)
		prune(v)
		if v.empty() && h.viewers[key] == v {
			delete(h.viewers, key)
			h.indexViewer(v, false)
			h.forget(v)
		}
	})
	sk.send, sk.lost = func(token any, c C) { sub.Send(token, conv(c)) }, sub.Lost
	g.subs[sk] = struct{}{}
	return sub.C(), nil
}

// indexViewer adds v to (or removes it from) the index of viewers by what reaches them;
// h.mu is held.
func (h *Hub) indexViewer(v *viewer, in bool) {
	put := func(m map[int]map[*viewer]struct{}, k int) {
		if in {
			if m[k] == nil {
				m[k] = map[*viewer]struct{}{}
			}
			m[k][v] = struct{}{}
		} else if m[k] != nil {
			delete(m[k], v)
			if len(m[k]) == 0 {
				delete(m, k)
			}
		}
	}
	for _, r := range v.reach.Roles {
		put(h.byRole, r)
	}
	for _, u := range v.reach.Users {
		put(h.byUser, u)
	}
	for _, all := range []struct {
		m  map[*viewer]struct{}
		on bool
	}{{h.allTasks, v.reach.AllTasks}, {h.allCases, v.reach.AllCases}} {
		if in && all.on {
			all.m[v] = struct{}{}
		} else {
			delete(all.m, v)
		}
	}
}

// taskCandidates adds to out the viewers the task's row may reach: a superset of its
// audience, which SeesTask narrows. h.mu is held.
func (h *Hub) taskCandidates(r listindex.TaskReach, out map[*viewer]struct{}) {
	for v := range h.allTasks {
		out[v] = struct{}{}
	}
	for _, role := range r.Roles {
		for v := range h.byRole[role] {
			out[v] = struct{}{}
		}
	}
	for _, users := range [][]int{r.Users, {r.Worker}, r.Involved} {
		for _, u := range users {
			for v := range h.byUser[u] {
				out[v] = struct{}{}
			}
		}
	}
}

// PolicyChanged has every viewer's rights re-read (after a role, membership or grant
// change): what each may see is re-evaluated at once, and a task or case it was sent
// and may no longer see arrives as DELETED.
func (h *Hub) PolicyChanged() {
	select {
	case h.reevaluate <- struct{}{}:
	default:
	}
}

// What subscribers are told when events may have been lost (the bus listener
// reconnected, or this server fell behind it): no silent gaps.

// resync ends every task, case and notification subscription with EventsLostCode:
// their clients resubscribe and refetch. (Chart feeds recompute on the change signal,
// announcements re-read the settings.)
func (h *Hub) resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range h.viewers {
		for _, g := range v.tasks {
			lostAll(g)
		}
		lostAll(v.cases)
		lostAll(v.notes)
	}
}

func lostAll[C any](g *group[C]) {
	if g == nil {
		return
	}
	for s := range g.subs {
		s.lost()
	}
}

// eventKey names the value one dispatch hands every subscriber of an object's change
// (ids are unique across tasks and cases; notification kinds are not change kinds).
type eventKey struct {
	id   int
	kind string
	n    uint64 // the dispatch
}

// token names an event as viewer v gets it: the transport renders it once per viewer,
// or once for all of them when the rendering does not depend on the viewer.
func token(v *viewer, id int, kind string, n uint64) outlet.Token {
	return outlet.Token{Event: eventKey{id, kind, n}, Viewer: v}
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
	// The hub's own reads: the rows of an event, once for its whole audience, and the
	// index's sync. Each subscriber's rendering runs in its own context.
	ctx := policy.SystemContext(context.Background())
	var n uint64
	for {
		var batch []Event
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			batch = append(batch, h.arrived(e))
		case <-h.reevaluate:
			h.signalChanges()
			n++
			h.reevaluateViewers(ctx, n)
			continue
		}
		// Take what else has arrived: one index sync then serves the whole batch (a sync
		// that begins after an event arrived has every write the event names).
		closed := false
	more:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-events:
				if !ok {
					closed = true
					break more
				}
				batch = append(batch, h.arrived(e))
			default:
				break more
			}
		}
		// One index sync serves the whole batch: one begun after the latest mark.
		var mark uint64
		for _, e := range batch {
			mark = max(mark, e.Mark)
		}
		synced := false
		for _, e := range batch {
			h.handle(ctx, e, &n, mark, &synced)
		}
		if closed {
			return
		}
	}
}

// maxBatch bounds the events the hub takes at once.
const maxBatch = 64

// arrived gives a work event from another server the index's mark at its arrival: a
// sync begun after it has the event's writes. This server's own events carry the mark
// taken right after their commit, whose sync is often running already.
func (h *Hub) arrived(e Event) Event {
	if e.Kind == KindWork && e.Mark == 0 {
		e.Mark = h.index.Mark()
	}
	return e
}

// handle delivers one event; synced says whether the index was synced since mark
// (handle syncs it when it needs the rows and it was not).
func (h *Hub) handle(ctx context.Context, e Event, n *uint64, mark uint64, synced *bool) {
	if e.Kind != KindSettings && e.Kind != KindSessions { // neither changes what charts show
		h.signalChanges()
	}
	if e.Kind == KindResync {
		h.resync()
		return
	}
	if e.Kind == KindPolicy {
		// A change made on this server is applied already: events after it must be
		// decided with it. One from another server is re-evaluated again once this
		// server's policy follower has read it (PolicyChanged).
		*n++
		h.reevaluateViewers(ctx, *n)
		return
	}
	if e.Kind != KindWork {
		return
	}
	// Only the feeds someone watches are read: a work event with no subscriber of its
	// kinds costs nothing, no index sync, no rows read.
	tasksWatched, casesWatched, notesWatched := h.watched()
	var taskIDs, caseIDs []int
	if tasksWatched {
		taskIDs = slices.Clone(e.Tasks) // the event is shared with the bus's other subscribers
	}
	if notesWatched {
		for _, id := range e.Assigned {
			if !slices.Contains(taskIDs, id) {
				taskIDs = append(taskIDs, id)
			}
		}
	}
	if casesWatched {
		caseIDs = e.Cases
	}
	if len(taskIDs) == 0 && len(caseIDs) == 0 {
		return
	}
	// The index sync and the rows' reads are independent (each starts after the event's
	// write committed, so each sees it): they run side by side, one round trip's wait
	// instead of three.
	var wg sync.WaitGroup
	var syncErr, taskErr, caseErr error
	var tasks []*ent.Task
	var cases []*ent.BusinessCase
	if !*synced {
		wg.Go(func() { syncErr = h.index.SyncSince(ctx, mark) })
	}
	if len(taskIDs) > 0 {
		wg.Go(func() { tasks, taskErr = h.client.Task.Query().Where(task.IDIn(taskIDs...)).All(ctx) })
	}
	if len(caseIDs) > 0 {
		wg.Go(func() { cases, caseErr = h.client.BusinessCase.Query().Where(businesscase.IDIn(caseIDs...)).All(ctx) })
	}
	wg.Wait()
	if err := errors.Join(syncErr, taskErr, caseErr); err != nil {
		// Without the rows or their reach the audience is unknown: nobody may miss the
		// event.
		h.log.Warn("live: read an event's rows", "err", err)
		*synced = false
		h.resync()
		return
	}
	*synced = true
	*n++
	if tasksWatched && len(e.Tasks) > 0 {
		h.dispatchTasks(*n, e.Tasks, e.Created, tasks)
	}
	if len(caseIDs) > 0 {
		h.dispatchCases(*n, e.Cases, e.Created, cases)
	}
	if notesWatched && len(e.Assigned) > 0 {
		h.dispatchAssigned(*n, e.Assignment, e.Assigned, tasks)
	}
}

// watched reports which feeds any viewer has open: task, case and notification
// subscriptions. A subscription that opens later gets the events processed after it.
func (h *Hub) watched() (tasks, cases, notes bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range h.viewers {
		tasks = tasks || len(v.tasks) > 0
		cases = cases || v.cases != nil
		notes = notes || v.notes != nil
		if tasks && cases && notes {
			break
		}
	}
	return tasks, cases, notes
}

// kindOf tells a new object from a changed one by the event's created ids.
func kindOf(id int, created []int) string {
	if slices.Contains(created, id) {
		return Created
	}
	return Changed
}

// delivery is one event for one group's subscribers, decided under the lock and sent
// after it.
type delivery[C any] struct {
	subs  []*sink[C]
	token outlet.Token
	c     C
}

func (d delivery[C]) send() {
	for _, s := range d.subs {
		s.send(d.token, d.c)
	}
}

// decide records what group g of viewer v gets for id, visible or not (to it and its
// filter), and returns its delivery: the change while it may see it, DELETED once when
// it stops, nothing otherwise. h.mu is held.
func decide[C any](h *Hub, v *viewer, g *group[C], id int, visible bool, kind string, n uint64, change func(kind string) C) (delivery[C], bool) {
	if !visible {
		if !g.seen[id] {
			return delivery[C]{}, false
		}
		delete(g.seen, id)
		kind = Deleted
	} else if !g.seen[id] {
		g.seen[id] = true
		if h.sent[id] == nil {
			h.sent[id] = map[*viewer]struct{}{}
		}
		h.sent[id][v] = struct{}{}
	}
	subs := make([]*sink[C], 0, len(g.subs))
	for s := range g.subs {
		subs = append(subs, s)
	}
	return delivery[C]{subs: subs, token: token(v, id, kind, n), c: change(kind)}, true
}

// forget drops a viewer leaving the hub from the record of who was sent what; h.mu is
// held.
func (h *Hub) forget(v *viewer) {
	drop := func(seen map[int]bool) {
		for id := range seen {
			if m := h.sent[id]; m != nil {
				delete(m, v)
				if len(m) == 0 {
					delete(h.sent, id)
				}
			}
		}
	}
	for _, g := range v.tasks {
		drop(g.seen)
	}
	if v.cases != nil {
		drop(v.cases.seen)
	}
}

// concerned returns the viewers an event about id concerns: its audience and those it
// was sent to before (who may have to be told DELETED). h.mu is held.
func (h *Hub) concerned(id int, audience map[*viewer]struct{}) map[*viewer]struct{} {
	out := make(map[*viewer]struct{}, len(audience)+len(h.sent[id]))
	for v := range audience {
		out[v] = struct{}{}
	}
	for v := range h.sent[id] {
		out[v] = struct{}{}
	}
	return out
}

// dispatchTasks delivers the task changes of an event, ids, from their rows as read
// after the event (a row missing is a task gone).
func (h *Hub) dispatchTasks(n uint64, ids, created []int, rows []*ent.Task) {
	byID := map[int]*ent.Task{}
	reach := map[int]listindex.TaskReach{}
	for _, t := range rows {
		if r, ok := h.index.TaskReach(t.ID); ok {
			byID[t.ID], reach[t.ID] = t, r
		}
	}
	// A group whose filter only the database can evaluate is decided after the lock.
	type dbCheck struct {
		v  *viewer
		g  *group[TaskChange]
		id int
	}
	var out []delivery[TaskChange]
	var checks []dbCheck
	h.mu.Lock()
	for _, id := range ids {
		audience := map[*viewer]struct{}{}
		if r, ok := reach[id]; ok {
			cands := map[*viewer]struct{}{}
			h.taskCandidates(r, cands)
			for v := range cands {
				if len(v.tasks) > 0 && v.subject.SeesTask(v.v, r) {
					audience[v] = struct{}{}
				}
			}
		}
		kind, t := kindOf(id, created), byID[id]
		change := func(kind string) TaskChange {
			if kind == Deleted {
				return TaskChange{Kind: kind, ID: id}
			}
			return TaskChange{Kind: kind, ID: id, Task: t}
		}
		matches := map[string]bool{} // each in-memory filter once per event
		for v := range h.concerned(id, audience) {
			_, sees := audience[v]
			for key, g := range v.tasks {
				ok := sees
				if ok && g.filter != nil {
					if g.filter.Cond == nil {
						checks = append(checks, dbCheck{v, g, id})
						continue
					}
					m, done := matches[key]
					if !done {
						var err error
						if m, err = h.index.TaskMatches(g.filter.Cond, id); err != nil {
							h.log.Warn("live: task filter", "err", err)
						}
						matches[key] = m
					}
					ok = m
				}
				if d, send := decide(h, v, g, id, ok, kind, n, change); send {
					out = append(out, d)
				}
			}
		}
	}
	h.mu.Unlock()
	for _, c := range checks {
		ok, err := h.dbMatches(c.g, c.id)
		if err != nil {
			h.log.Warn("live: task filter", "err", err)
			continue
		}
		t := byID[c.id]
		h.mu.Lock()
		d, send := decide(h, c.v, c.g, c.id, ok, kindOf(c.id, created), n, func(kind string) TaskChange {
			if kind == Deleted {
				return TaskChange{Kind: kind, ID: c.id}
			}
			return TaskChange{Kind: kind, ID: c.id, Task: t}
		})
		h.mu.Unlock()
		if send {
			out = append(out, d)
		}
	}
	for _, d := range out {
		d.send()
	}
}

// dbMatches evaluates a group's database filter on one task, in the context of one of
// its subscribers (so under that viewer's read rules).
func (h *Hub) dbMatches(g *group[TaskChange], id int) (bool, error) {
	h.mu.Lock()
	var ctx context.Context
	for s := range g.subs {
		if s.ctx.Err() == nil {
			ctx = s.ctx
			break
		}
	}
	h.mu.Unlock()
	if ctx == nil {
		return false, nil
	}
	q, err := g.filter.DB(h.client.Task.Query().Where(task.ID(id)))
	if err != nil {
		return false, err
	}
	return q.Exist(ctx)
}

// dispatchCases delivers the case changes of an event, ids, from their rows.
func (h *Hub) dispatchCases(n uint64, ids, created []int, rows []*ent.BusinessCase) {
	byID := map[int]*ent.BusinessCase{}
	reach := map[int]listindex.CaseReach{}
	for _, c := range rows {
		if r, ok := h.index.CaseReach(c.ID); ok {
			byID[c.ID], reach[c.ID] = c, r
		}
	}
	var out []delivery[CaseChange]
	h.mu.Lock()
	for _, id := range ids {
		audience := map[*viewer]struct{}{}
		if r, ok := reach[id]; ok {
			cands := map[*viewer]struct{}{}
			h.caseCandidates(r, cands)
			for v := range cands {
				if v.cases != nil && v.subject.SeesCase(v.v, r) {
					audience[v] = struct{}{}
				}
			}
		}
		c := byID[id]
		change := func(kind string) CaseChange {
			if kind == Deleted {
				return CaseChange{Kind: kind, ID: id}
			}
			return CaseChange{Kind: kind, ID: id, Case: c}
		}
		for v := range h.concerned(id, audience) {
			if v.cases == nil {
				continue
			}
			_, sees := audience[v]
			if d, send := decide(h, v, v.cases, id, sees, kindOf(id, created), n, change); send {
				out = append(out, d)
			}
		}
	}
	h.mu.Unlock()
	for _, d := range out {
		d.send()
	}
}

// caseCandidates adds to out the viewers the case may reach (CaseReadAll, involved,
// reached by one of its tasks); SeesCase narrows them. h.mu is held.
func (h *Hub) caseCandidates(r listindex.CaseReach, out map[*viewer]struct{}) {
	for v := range h.allCases {
		out[v] = struct{}{}
	}
	for _, u := range r.Involved {
		for v := range h.byUser[u] {
			out[v] = struct{}{}
		}
	}
	for _, t := range r.Tasks {
		h.taskCandidates(t, out)
	}
}

// dispatchAssigned notifies the responsibles of the tasks ids, whose rows are among
// rows.
func (h *Hub) dispatchAssigned(n uint64, kind string, ids []int, rows []*ent.Task) {
	var out []delivery[Notification]
	h.mu.Lock()
	for _, t := range rows {
		if !slices.Contains(ids, t.ID) {
			continue
		}
		r, ok := h.index.TaskReach(t.ID)
		if !ok {
			continue
		}
		cands := map[*viewer]struct{}{}
		h.taskCandidates(r, cands)
		for v := range cands {
			if v.notes == nil || !v.subject.AssignedTo(v.v, r) || !v.subject.SeesTask(v.v, r) {
				continue
			}
			subs := make([]*sink[Notification], 0, len(v.notes.subs))
			for s := range v.notes.subs {
				subs = append(subs, s)
			}
			out = append(out, delivery[Notification]{subs: subs, token: token(v, t.ID, kind, n), c: Notification{Kind: kind, Task: t}})
		}
	}
	h.mu.Unlock()
	for _, d := range out {
		d.send()
	}
}

// reevaluateViewers re-reads every viewer's subject after a policy change, re-indexes
// it, and tells each group DELETED for what it was sent and may no longer see.
func (h *Hub) reevaluateViewers(ctx context.Context, n uint64) {
	h.mu.Lock()
	viewers := make([]*viewer, 0, len(h.viewers))
	for _, v := range h.viewers {
		viewers = append(viewers, v)
	}
	h.mu.Unlock()
	// Subjects are computed outside the lock (the enforcer's work, per user).
	subjects := make(map[*viewer]*policy.Subject, len(viewers))
	for _, v := range viewers {
		s, err := h.policy.Subject(v.v.UserID)
		if err != nil {
			h.log.Warn("live: re-read a viewer's rights", "user", v.v.UserID, "err", err)
			continue
		}
		subjects[v] = s
	}
	var tasks []delivery[TaskChange]
	var cases []delivery[CaseChange]
	h.mu.Lock()
	for v, s := range subjects {
		if h.viewers[v.key] != v {
			continue // left meanwhile
		}
		h.indexViewer(v, false)
		v.subject, v.reach = s, s.Reach(v.v)
		h.indexViewer(v, true)
		for _, g := range v.tasks {
			for id := range g.seen {
				r, ok := h.index.TaskReach(id)
				if ok && s.SeesTask(v.v, r) {
					continue
				}
				d, _ := decide(h, v, g, id, false, Deleted, n, func(kind string) TaskChange { return TaskChange{Kind: kind, ID: id} })
				tasks = append(tasks, d)
			}
		}
		if v.cases != nil {
			for id := range v.cases.seen {
				r, ok := h.index.CaseReach(id)
				if ok && s.SeesCase(v.v, r) {
					continue
				}
				d, _ := decide(h, v, v.cases, id, false, Deleted, n, func(kind string) CaseChange { return CaseChange{Kind: kind, ID: id} })
				cases = append(cases, d)
			}
		}
	}
	h.mu.Unlock()
	for _, d := range tasks {
		d.send()
	}
	for _, d := range cases {
		d.send()
	}
}
