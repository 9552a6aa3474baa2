// Package listindex keeps every task and case in memory, with the sets of rows each
// source of visibility reaches (a responsible role or user, a worker, a case), the rows
// of each value of the fields lists filter by, and the rows in each order lists sort
// by, so that a page of any task or case list, and its exact total, costs about the page
// and not the viewer's visible rows. Package policy says which sources a viewer sees
// (TaskView, CaseView); package filter compiles the where inputs into Conds.
//
// The index follows the database through package changefeed: every query first applies
// what was committed before it began (on this server or another), so totals are exact
// and fresh. The index is a copy: the database stays the truth, and a server rebuilds
// the index at start.
package listindex

import (
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/portico-dev/portico/cachestats"
)

// Index holds the tasks and cases. Queries share its lock; applying changes holds it
// alone.
type Index struct {
	mu    sync.RWMutex
	tasks *table[TaskRow]
	cases *table[CaseRow]

	// Sources of task visibility, by slot of tasks: the tasks each role and user is a
	// current (not expiry) responsible of, while not DELAYED, and the system tasks. The
	// tasks each user works on and each case holds are the value sets of the tasks'
	// workerID and caseID (workedBy, ofCase): one set each, not a copy beside them.
	byRole, byUser map[int]*Set
	system         Set
	// hidden are the hidden tasks and hiddenCases the hidden cases (the seed's HIDE
	// property), which viewers do not see while PortalHiddenTaskCaseExcluded is on.
	hidden, hiddenCases Set
	// taskCase is the slot of each task's case (by slot of tasks; noSlot while the case
	// is not in the index), so that the cases of many tasks cost an array read each.
	taskCase []uint32
	// Sources of case involvement, by slot of cases: created, owned, and started a task
	// of (a STARTED workflow event; whoever started stays involved after a reset).
	byCreator, byOwner, byStarter map[int]*Set
	starters                      map[int][]int // case id → users who started one of its tasks

	source *source // the database, when the index follows one

	lookups *lookups // of both tables' kept orders and conditions; kept by a reload
}

// lookups count the lookups of kept orders (a miss sorts the table) and of kept keyed
// conditions (a miss tests the candidates).
type lookups struct{ orders, conditions cachestats.Counter }

// New returns an empty index.
func New() *Index { return newIndex(&lookups{}) }

func newIndex(l *lookups) *Index {
	return &Index{
		tasks:  newTable(taskColumns, func(r *TaskRow) text { return r.own }, (*TaskRow).move, l),
		cases:  newTable(caseColumns, func(r *CaseRow) text { return r.own }, (*CaseRow).move, l),
		byRole: map[int]*Set{}, byUser: map[int]*Set{},
		byCreator: map[int]*Set{}, byOwner: map[int]*Set{}, byStarter: map[int]*Set{},
		starters: map[int][]int{},
		lookups:  l,
	}
}

// Orders counts the lookups of kept orders.
func (ix *Index) Orders() cachestats.Counts { return ix.lookups.orders.Counts() }

// Conditions counts the lookups of kept keyed conditions.
func (ix *Index) Conditions() cachestats.Counts { return ix.lookups.conditions.Counts() }

func add(m map[int]*Set, key int, s uint32) {
	set := m[key]
	if set == nil {
		set = roaring.New()
		m[key] = set
	}
	set.Add(s)
}

func drop(m map[int]*Set, key int, s uint32) {
	if set := m[key]; set != nil {
		set.Remove(s)
		if set.IsEmpty() {
			delete(m, key)
		}
	}
}

// noSlot is no slot.
const noSlot = ^uint32(0)

// putTask stores a task (the caller holds the lock alone).
func (ix *Index) putTask(d *taskData) {
	s, old, replaced := ix.tasks.put(d.ID, d.row(&ix.tasks.st))
	if replaced {
		ix.postTask(s, &old, drop)
	}
	r := &ix.tasks.rows[s]
	ix.postTask(s, r, add)
	for int(s) >= len(ix.taskCase) {
		ix.taskCase = append(ix.taskCase, noSlot)
	}
	ix.taskCase[s] = noSlot
	if _, cs, ok := ix.cases.row(r.CaseID); ok {
		ix.taskCase[s] = cs
	}
}

// removeTask drops a task (the caller holds the lock alone).
func (ix *Index) removeTask(id int) {
	if s, old, ok := ix.tasks.remove(id); ok {
		ix.postTask(s, &old, drop)
		ix.system.Remove(s)
		ix.hidden.Remove(s)
	}
}

// postTask adds a task to (or drops it from) the sources that reach it.
func (ix *Index) postTask(s uint32, r *TaskRow, f func(map[int]*Set, int, uint32)) {
	roles, users := ix.responsibleSources(r)
	for _, id := range roles {
		f(ix.byRole, id, s)
	}
	for _, id := range users {
		f(ix.byUser, id, s)
	}
	mark(&ix.system, s, r.System)
	mark(&ix.hidden, s, r.Hidden)
}

// mark adds s to set when on, else removes it.
func mark(set *Set, s uint32, on bool) {
	if on {
		set.Add(s)
	} else {
		set.Remove(s)
	}
}

// ofCase returns the tasks of a case (nil when none); the caller must not change it.
func (ix *Index) ofCase(id int) *Set { return ix.tasks.values["caseID"][number(id)] }

// workedBy returns the tasks a user works on (nil when none); the caller must not change
// it.
func (ix *Index) workedBy(user int) *Set {
	if user == 0 {
		return nil // ref(0) is NULL: the tasks nobody works on
	}
	return ix.tasks.values["workerID"][ref(user)]
}

// putCase stores a case (the caller holds the lock alone).
func (ix *Index) putCase(d *caseData) {
	s, old, replaced := ix.cases.put(d.ID, d.row(&ix.cases.st))
	if replaced {
		ix.postCase(s, &old, drop)
	} else {
		ix.linkCase(d.ID, s)
	}
	ix.postCase(s, &ix.cases.rows[s], add)
	mark(&ix.hiddenCases, s, d.Hidden)
	for _, u := range ix.starters[d.ID] {
		add(ix.byStarter, u, s)
	}
}

// removeCase drops a case (the caller holds the lock alone).
func (ix *Index) removeCase(id int) {
	if s, old, ok := ix.cases.remove(id); ok {
		ix.linkCase(id, noSlot)
		ix.postCase(s, &old, drop)
		ix.hiddenCases.Remove(s)
		for _, u := range ix.starters[id] {
			drop(ix.byStarter, u, s)
		}
	}
	delete(ix.starters, id)
}

// linkCase points the tasks of a case at its slot.
func (ix *Index) linkCase(id int, s uint32) {
	if tasks := ix.ofCase(id); tasks != nil {
		tasks.Iterate(func(t uint32) bool {
			if int(t) < len(ix.taskCase) {
				ix.taskCase[t] = s
			}
			return true
		})
	}
}

func (ix *Index) postCase(s uint32, r *CaseRow, f func(map[int]*Set, int, uint32)) {
	if r.CreatorID != 0 {
		f(ix.byCreator, r.CreatorID, s)
	}
	if r.OwnerID != 0 {
		f(ix.byOwner, r.OwnerID, s)
	}
}

// setStarters records who started a task of a case (the caller holds the lock alone).
func (ix *Index) setStarters(caseID int, users []int) {
	_, s, ok := ix.cases.row(caseID)
	for _, u := range ix.starters[caseID] {
		if ok {
			drop(ix.byStarter, u, s)
		}
	}
	if len(users) == 0 {
		delete(ix.starters, caseID)
		return
	}
	ix.starters[caseID] = users
	if ok {
		for _, u := range users {
			add(ix.byStarter, u, s)
		}
	}
}

// TaskView reads the sources of task visibility while a query holds the lock. Every set
// it returns is new: the caller may change it.
type TaskView struct{ ix *Index }

// All returns every task.
func (v TaskView) All() *Set { return v.ix.tasks.live.Clone() }

// WithoutSystem removes the system tasks from rows.
func (v TaskView) WithoutSystem(rows *Set) { rows.AndNot(&v.ix.system) }

// WithoutHidden removes the hidden tasks from rows.
func (v TaskView) WithoutHidden(rows *Set) { rows.AndNot(&v.ix.hidden) }

// Responsible returns the tasks, not DELAYED, whose current responsibles include one of
// the roles or users.
func (v TaskView) Responsible(roles, users []int) *Set {
	sets := make([]*Set, 0, len(roles)+len(users))
	for _, r := range roles {
		if s := v.ix.byRole[r]; s != nil {
			sets = append(sets, s)
		}
	}
	for _, u := range users {
		if s := v.ix.byUser[u]; s != nil {
			sets = append(sets, s)
		}
	}
	return roaring.FastOr(sets...)
}

// WorkedBy returns the tasks the user works on (the worker).
func (v TaskView) WorkedBy(user int) *Set {
	if s := v.ix.workedBy(user); s != nil {
		return s.Clone()
	}
	return roaring.New()
}

// OfCases returns the tasks of the cases (slots of cases, as CaseView gives them).
func (v TaskView) OfCases(cases *Set) *Set {
	var sets []*Set
	it := cases.Iterator()
	for it.HasNext() {
		if s := v.ix.ofCase(v.ix.cases.ids[it.Next()]); s != nil {
			sets = append(sets, s)
		}
	}
	return roaring.FastOr(sets...)
}

// CaseView reads the sources of case visibility while a query holds the lock. Every set
// it returns is new.
type CaseView struct{ ix *Index }

// All returns every case.
func (v CaseView) All() *Set { return v.ix.cases.live.Clone() }

// Involved returns the cases the user created, owns, works a task of or started one of.
func (v CaseView) Involved(user int) *Set {
	sets := []*Set{roaring.New()}
	for _, m := range []map[int]*Set{v.ix.byCreator, v.ix.byOwner, v.ix.byStarter} {
		if s := m[user]; s != nil {
			sets = append(sets, s)
		}
	}
	out := roaring.FastOr(sets...)
	if w := v.ix.workedBy(user); w != nil {
		out.Or(v.OfTasks(w))
	}
	return out
}

// OfTasks returns the cases of the tasks (slots of tasks, as TaskView gives them).
func (v CaseView) OfTasks(tasks *Set) *Set {
	slots := make([]uint32, 0, tasks.GetCardinality())
	tasks.Iterate(func(t uint32) bool {
		if c := v.ix.taskCase[t]; c != noSlot {
			slots = append(slots, c)
		}
		return true
	})
	slices.Sort(slots)
	out := roaring.New()
	out.AddMany(slices.Compact(slots))
	return out
}

// Tasks returns a page of the tasks visible says a viewer sees, filtered by where (nil:
// no filter). visible runs under the index's lock and returns a set the query may change.
func (ix *Index) Tasks(visible func(TaskView, CaseView) *Set, where *Cond[TaskRow], p Page) (Result, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	rows := visible(TaskView{ix}, CaseView{ix})
	if where != nil {
		var err error
		if rows, err = ix.tasks.eval(ix, where, rows, false); err != nil {
			return Result{}, err
		}
	}
	return ix.tasks.page(rows, p)
}

// Cases returns a page of the cases visible says a viewer sees, filtered by where.
func (ix *Index) Cases(visible func(TaskView, CaseView) *Set, where *Cond[CaseRow], p Page) (Result, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	rows := visible(TaskView{ix}, CaseView{ix})
	if where != nil {
		var err error
		if rows, err = ix.cases.eval(ix, where, rows, false); err != nil {
			return Result{}, err
		}
	}
	return ix.cases.page(rows, p)
}

// CaseMatches is a test for a task condition: the task's case matches where. It is made
// when the query runs (the cases' rows are read under its lock).
func CaseMatches(where *Cond[CaseRow]) *Cond[TaskRow] {
	return Bind(func(ix *Index) func(*TaskRow) Truth {
		rows, err := ix.cases.eval(ix, where, &ix.cases.live, false)
		if err != nil {
			rows = roaring.New()
		}
		return func(r *TaskRow) Truth {
			s, ok := ix.cases.slotOf[r.CaseID]
			return TruthOf(ok && rows.Contains(s))
		}
	})
}

// rank returns the rank of an enum value of a column of tasks or cases.
func rank(ranks map[string]map[string]int16) func(col, name string) (int64, bool) {
	return func(col, name string) (int64, bool) {
		r, ok := ranks[col][name]
		return int64(r), ok
	}
}

var (
	taskRanks = rank(map[string]map[string]int16{"state": taskStateRank, "priority": taskPriorityRank, "expiryPriority": taskPriorityRank})
	caseRanks = rank(map[string]map[string]int16{"state": caseStateRank})
)

// TaskKey reads a cursor of the task order back into a key.
func (ix *Index) TaskKey(terms []OrderTerm, id int, vals []any) (Key, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	o, err := ix.tasks.order(terms)
	if err != nil {
		return Key{}, err
	}
	return o.parseKey(id, vals, taskRanks)
}

// CaseKey reads a cursor of the case order back into a key.
func (ix *Index) CaseKey(terms []OrderTerm, id int, vals []any) (Key, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	o, err := ix.cases.order(terms)
	if err != nil {
		return Key{}, err
	}
	return o.parseKey(id, vals, caseRanks)
}

// Rows returns how many tasks and cases the index holds.
func (ix *Index) Rows() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return int(ix.tasks.live.GetCardinality() + ix.cases.live.GetCardinality())
}

// TaskColumn returns the type of a column of tasks, by the where input's name of it.
func TaskColumn(name string) (Type, bool) { return columnType(taskColumns, name) }

// CaseColumn returns the type of a column of cases, by the where input's name of it.
func CaseColumn(name string) (Type, bool) { return columnType(caseColumns, name) }

func columnType[R any](cols []*Column[R], name string) (Type, bool) {
	for _, c := range cols {
		if c.Name == name {
			return c.Type, true
		}
	}
	return 0, false
}

// WithoutHidden removes the hidden cases from rows.
func (v CaseView) WithoutHidden(rows *Set) { rows.AndNot(&v.ix.hiddenCases) }
