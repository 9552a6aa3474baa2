package listindex

import (
	"slices"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// Set is a set of rows of one table, by slot.
type Set = roaring.Bitmap

// Type is how a column's values compare.
type Type uint8

const (
	Text   Type = iota // S, byte order (the databases' C collation)
	Number             // I
	Time               // I: Unix microseconds
	Enum               // I: the rank of the value in its declared order; S: its name
	Bool               // I: 0 or 1
)

// Value is one field of a row as the index compares it.
type Value struct {
	S    string
	I    int64
	Null bool
}

// compare orders two non-null values of a type.
func (t Type) compare(a, b Value) int {
	if t == Text {
		switch {
		case a.S < b.S:
			return -1
		case a.S > b.S:
			return 1
		}
		return 0
	}
	switch {
	case a.I < b.I:
		return -1
	case a.I > b.I:
		return 1
	}
	return 0
}

// Column is a field of a row that filters and orders read.
type Column[R any] struct {
	Name    string // the where input's field name: name, createdAt, state, …
	Type    Type
	Get     func(*R, *store) Value
	Indexed bool // keep each value's rows: equality and membership filters read them
	// Fold, when set, returns the text in lower case, kept with the row so that
	// case-insensitive filters do not fold every row they test.
	Fold func(*R, *store) string
}

// key is a value as the column's value sets hold it: an enum by its name.
func (c *Column[R]) key(v Value) Value {
	if c.Type == Enum {
		v.I = 0
	}
	return v
}

// same reports whether two non-null values are equal.
func (c *Column[R]) same(a, b Value) bool {
	if c.Type == Enum {
		return a.S == b.S
	}
	return c.Type.compare(a, b) == 0
}

// table holds the rows of one entity by slot, with what filters and orders need kept in
// step with every change: the rows of each value of the indexed columns, the rows sorted
// in each order asked for so far, and the rows matching each costly condition asked for
// so far. Callers hold the Index's lock: shared to read, exclusive to change.
//
// Rows are kept by value in one array and hold no pointers (their texts are in st), so
// the garbage collector never scans them.
type table[R any] struct {
	rows   []R
	st     store
	move   func(r *R, at text) // points a row's texts at where compact copied them
	own    func(r *R) text     // all of a row's texts
	ids    []int
	slotOf map[int]uint32
	free   []uint32
	live   Set
	cols   map[string]*Column[R]
	values map[string]map[Value]*Set // indexed column → value → rows

	// Built on first use while reading (under the shared lock, so cacheMu guards the
	// maps); changed only under the exclusive lock.
	cacheMu sync.Mutex
	sorted  map[string]*sortedRows[R]
	memo    map[string]*memoRows[R]
	asked   map[string]int // keyed conditions not kept yet: how often asked

	lookups *lookups // of sorted and memo (the Index's)
}

func newTable[R any](cols []*Column[R], own func(*R) text, move func(*R, text), l *lookups) *table[R] {
	t := &table[R]{st: newStore(), own: own, move: move, slotOf: map[int]uint32{}, cols: map[string]*Column[R]{}, values: map[string]map[Value]*Set{},
		sorted: map[string]*sortedRows[R]{}, memo: map[string]*memoRows[R]{}, lookups: l}
	for _, c := range cols {
		t.cols[c.Name] = c
		if c.Indexed {
			t.values[c.Name] = map[Value]*Set{}
		}
	}
	return t
}

// row returns the row of an id, if present. The pointer is valid while the caller
// holds the lock.
func (t *table[R]) row(id int) (*R, uint32, bool) {
	s, ok := t.slotOf[id]
	if !ok {
		return nil, 0, false
	}
	return &t.rows[s], s, true
}

// put stores the row of id, replacing an older one, and returns its slot and the row it
// replaced (false for a new one). The old row's texts stay readable until the next
// compact.
func (t *table[R]) put(id int, r R) (uint32, R, bool) {
	if s, ok := t.slotOf[id]; ok {
		old := t.rows[s]
		t.unindex(s, &old)
		t.rows[s] = r
		t.index(s, &t.rows[s], &old)
		t.st.drop(t.own(&old))
		return s, old, true
	}
	var s uint32
	if n := len(t.free); n > 0 {
		s, t.free = t.free[n-1], t.free[:n-1]
		t.rows[s], t.ids[s] = r, id
	} else {
		s = uint32(len(t.rows))
		t.rows, t.ids = append(t.rows, r), append(t.ids, id)
	}
	t.slotOf[id] = s
	t.live.Add(s)
	t.index(s, &t.rows[s], nil)
	var none R
	return s, none, false
}

// remove drops the row of id and returns its slot and row (false when absent).
func (t *table[R]) remove(id int) (uint32, R, bool) {
	var none R
	s, ok := t.slotOf[id]
	if !ok {
		return 0, none, false
	}
	old := t.rows[s]
	t.unindex(s, &old)
	for _, o := range t.sorted {
		o.remove(t, s, &old)
	}
	for _, m := range t.memo {
		m.rows.Remove(s)
	}
	delete(t.slotOf, id)
	t.live.Remove(s)
	t.rows[s], t.ids[s] = none, 0
	t.free = append(t.free, s)
	t.st.drop(t.own(&old))
	return s, old, true
}

// compact copies the texts of the live rows into a new array once most of the old one
// is texts of replaced rows. Strings read from the old array stay valid: it is only
// dropped, never changed.
func (t *table[R]) compact() {
	if !t.st.wasteful() {
		return
	}
	b := make([]byte, 0, max(len(t.st.b)-t.st.dead, 0))
	t.live.Iterate(func(s uint32) bool {
		r := &t.rows[s]
		own := t.own(r)
		at := text{uint32(len(b)), own.n}
		b = append(b, t.st.bytes(own)...)
		t.move(r, at)
		return true
	})
	t.st.b, t.st.dead = b, 0
}

func (t *table[R]) unindex(s uint32, r *R) {
	for name, m := range t.values {
		c := t.cols[name]
		if set := m[c.key(c.Get(r, &t.st))]; set != nil {
			set.Remove(s)
		}
	}
}

// index adds a stored row to the value sets, the sorted orders (moving it from where old
// stood) and the kept conditions.
func (t *table[R]) index(s uint32, r, old *R) {
	for name, m := range t.values {
		c := t.cols[name]
		v := c.key(c.Get(r, &t.st))
		set := m[v]
		if set == nil {
			set = roaring.New()
			v.S = strings.Clone(v.S) // the key outlives the store's array
			m[v] = set
		}
		set.Add(s)
	}
	for _, o := range t.sorted {
		if old != nil {
			o.remove(t, s, old)
		}
		o.insert(t, s, r)
	}
	for _, m := range t.memo {
		if m.match(r) {
			m.rows.Add(s)
		} else {
			m.rows.Remove(s)
		}
	}
}

// valueRows returns the rows whose indexed column equals one of vs (a new set).
func (t *table[R]) valueRows(col string, vs []Value) *Set {
	m, c := t.values[col], t.cols[col]
	sets := make([]*Set, 0, len(vs))
	for _, v := range vs {
		if s := m[c.key(v)]; s != nil {
			sets = append(sets, s)
		}
	}
	return roaring.FastOr(sets...)
}

// memoRows are the rows matching a condition, kept in step with every change.
type memoRows[R any] struct {
	match func(*R) bool
	rows  *Set
}

// maxMemo bounds the kept conditions per table; past it they start over.
const maxMemo = 256

// memoFor returns the kept rows of a keyed condition: kept already, or kept now when
// now is set or the condition was asked memoAfter times. Otherwise nil: test the
// candidates.
func (t *table[R]) memoFor(key string, now bool, match func(*R) bool) *Set {
	t.cacheMu.Lock()
	m := t.memo[key]
	if m == nil && !now {
		if t.asked == nil || len(t.asked) > 4*maxMemo {
			t.asked = map[string]int{}
		}
		t.asked[key]++
		now = t.asked[key] >= memoAfter
	}
	t.cacheMu.Unlock()
	t.lookups.conditions.Record(m != nil)
	if m != nil {
		return m.rows
	}
	if !now {
		return nil
	}
	rows := roaring.New()
	t.live.Iterate(func(s uint32) bool {
		if match(&t.rows[s]) {
			rows.Add(s)
		}
		return true
	})
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if m := t.memo[key]; m != nil {
		return m.rows
	}
	if len(t.memo) >= maxMemo {
		t.memo = map[string]*memoRows[R]{}
	}
	t.memo[key] = &memoRows[R]{match: match, rows: rows}
	return rows
}

// maxSorted bounds the kept orders per table; past it they start over.
const maxSorted = 32

// sortedRows are all rows of a table in one order, kept in step with every change.
type sortedRows[R any] struct {
	ord   *order[R]
	slots runs
}

// sortedBy returns the table's rows in an order, from the kept ones or sorted now.
func (t *table[R]) sortedBy(o *order[R]) *sortedRows[R] {
	t.cacheMu.Lock()
	sr := t.sorted[o.key]
	t.cacheMu.Unlock()
	t.lookups.orders.Record(sr != nil)
	if sr != nil {
		return sr
	}
	// Sort once over the values read out beforehand: reading them inside every
	// comparison made a sort of a million rows take seconds.
	type entry struct {
		vals []Value
		id   int
		slot uint32
	}
	n := int(t.live.GetCardinality())
	entries := make([]entry, 0, n)
	flat := make([]Value, 0, n*len(o.cols))
	t.live.Iterate(func(s uint32) bool {
		at := len(flat)
		for _, c := range o.cols {
			flat = append(flat, c.Get(&t.rows[s], &t.st))
		}
		entries = append(entries, entry{vals: flat[at:len(flat):len(flat)], id: t.ids[s], slot: s})
		return true
	})
	slices.SortFunc(entries, func(a, b entry) int {
		for i := range o.cols {
			if c := o.compareValues(i, a.vals[i], b.vals[i]); c != 0 {
				return c
			}
		}
		return o.compareIDs(a.id, b.id)
	})
	slots := make([]uint32, len(entries))
	for i, e := range entries {
		slots[i] = e.slot
	}
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if sr := t.sorted[o.key]; sr != nil {
		return sr
	}
	if len(t.sorted) >= maxSorted {
		t.sorted = map[string]*sortedRows[R]{}
	}
	sr = &sortedRows[R]{ord: o, slots: newRuns(slots)}
	t.sorted[o.key] = sr
	return sr
}

// search returns the first place whose row is not before (r, id).
func (sr *sortedRows[R]) search(t *table[R], r *R, id int) pos {
	return sr.slots.search(func(s uint32) int { return sr.ord.compare(&t.rows[s], t.ids[s], r, id) })
}

func (sr *sortedRows[R]) remove(t *table[R], s uint32, old *R) {
	// The slot's row is already replaced: compare the others with old's values.
	p := sr.slots.search(func(x uint32) int {
		if x == s {
			return 0
		}
		return sr.ord.compare(&t.rows[x], t.ids[x], old, t.ids[s])
	})
	ok := sr.slots.valid(p) && sr.slots.at(p) == s
	if !ok {
		p, ok = sr.slots.index(s)
	}
	if ok {
		sr.slots.delete(p)
	}
}

func (sr *sortedRows[R]) insert(t *table[R], s uint32, r *R) {
	sr.slots.insert(sr.search(t, r, t.ids[s]), s)
}
