package listindex

import (
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Op is a comparison of a column with values, as ent's where inputs name them.
type Op uint8

const (
	EQ Op = iota
	NEQ
	In
	NotIn
	GT
	GTE
	LT
	LTE
	Contains
	HasPrefix
	HasSuffix
	EqualFold
	ContainsFold
	IsNil
	NotNil
)

// Cond is a filter on the rows of a table (package filter compiles the where inputs into
// it). It follows SQL's three-valued logic, so NOT of a comparison with NULL matches
// nothing, as in the database.
type Cond[R any] struct {
	kind condKind
	kids []*Cond[R]
	col  string
	op   Op
	vals []Value
	key  string
	test func(*R) Truth
	bind func(ix *Index) func(*R) Truth
	// stored: a test reading the row's texts in its table's store (custom fields,
	// responsibles).
	stored func(*R, *store) Truth
	ids    []int
	// notIDs: the rows the condition is false for (not unknown), when ids came from the
	// database; nil: every other row.
	notIDs []int
}

type condKind uint8

const (
	kindAnd condKind = iota
	kindOr
	kindNot
	kindCompare // col op vals
	kindTest    // test or bind
	kindIDs     // rows with one of ids
)

// Truth is a condition's value on a row: true, false, or unknown (NULL).
type Truth int8

const (
	False Truth = iota
	True
	Unknown
)

// TruthOf turns a boolean into a Truth.
func TruthOf(b bool) Truth {
	if b {
		return True
	}
	return False
}

// And matches the rows every kid matches (all rows without kids).
func And[R any](kids ...*Cond[R]) *Cond[R] { return &Cond[R]{kind: kindAnd, kids: kids} }

// Or matches the rows any kid matches (none without kids).
func Or[R any](kids ...*Cond[R]) *Cond[R] { return &Cond[R]{kind: kindOr, kids: kids} }

// Not matches the rows kid does not match (and where it is not unknown).
func Not[R any](kid *Cond[R]) *Cond[R] { return &Cond[R]{kind: kindNot, kids: []*Cond[R]{kid}} }

// Compare matches the rows whose column compares with the values by op (In and NotIn
// take any number, IsNil and NotNil none, the others one).
func Compare[R any](col string, op Op, vals ...Value) *Cond[R] {
	return &Cond[R]{kind: kindCompare, col: col, op: op, vals: vals}
}

// Test matches the rows test says true for. A non-empty key names the test (equal keys,
// equal tests): the rows it matches in the whole table are then kept in step with every
// change and reused.
func Test[R any](key string, test func(*R) Truth) *Cond[R] {
	return &Cond[R]{kind: kindTest, key: key, test: test}
}

// Bind is a test that needs the rest of the index (rows of another table), made when the
// query runs, under its lock.
func Bind[R any](bind func(ix *Index) func(*R) Truth) *Cond[R] {
	return &Cond[R]{kind: kindTest, bind: bind}
}

// IDs matches the rows with one of the ids; negated, the rows with one of notIDs (a
// condition the database evaluated, whose NULLs make some rows neither), or every other
// row when notIDs is nil.
func IDs[R any](ids, notIDs []int) *Cond[R] { return &Cond[R]{kind: kindIDs, ids: ids, notIDs: notIDs} }

// A keyed test is answered from the set of all rows it matches (kept in step with every
// change) once it is kept; it is kept when asked of more than memoAbove candidates, or
// for the memoAfter-th time: conditions a portal asks again and again (its widgets'
// filters, a business state) cost a bitmap AND, and a one-off asked of a few candidates
// tests only those.
const (
	memoAbove = 20000
	memoAfter = 3
)

// eval returns the rows of cand for which c is true (or false, when negated). cand is
// not changed; the result is the caller's.
func (t *table[R]) eval(ix *Index, c *Cond[R], cand *Set, negated bool) (*Set, error) {
	switch c.kind {
	case kindAnd, kindOr:
		// AND of truths and OR of falsehoods narrow; the others widen.
		narrow := (c.kind == kindAnd) != negated
		if narrow {
			cur := cand
			for _, k := range t.byCost(c.kids) {
				next, err := t.eval(ix, k, cur, negated)
				if err != nil {
					return nil, err
				}
				cur = next
				if cur.IsEmpty() {
					break
				}
			}
			if cur == cand {
				cur = cand.Clone()
			}
			return cur, nil
		}
		out, rest := roaring.New(), cand
		for _, k := range c.kids {
			got, err := t.eval(ix, k, rest, negated)
			if err != nil {
				return nil, err
			}
			out.Or(got)
			rest = roaring.AndNot(cand, out)
			if rest.IsEmpty() {
				break
			}
		}
		return out, nil
	case kindNot:
		return t.eval(ix, c.kids[0], cand, !negated)
	case kindIDs:
		ids := c.ids
		if negated && c.notIDs != nil {
			ids, negated = c.notIDs, false
		}
		rows := roaring.New()
		for _, id := range ids {
			if s, ok := t.slotOf[id]; ok {
				rows.Add(s)
			}
		}
		if negated {
			return roaring.AndNot(cand, rows), nil
		}
		return roaring.And(cand, rows), nil
	case kindCompare:
		col := t.cols[c.col]
		if col == nil {
			return nil, fmt.Errorf("no column %q to filter on", c.col)
		}
		if rows := t.indexed(col, c.op, c.vals, negated); rows != nil {
			return roaring.And(cand, rows), nil
		}
		test := compareTest(col, &t.st, c.op, c.vals)
		return t.scan(c.compareKey(), test, cand, negated), nil
	default:
		test, key := c.test, c.key
		switch {
		case c.bind != nil:
			test, key = c.bind(ix), ""
		case c.stored != nil:
			st, stored := &t.st, c.stored
			test = func(r *R) Truth { return stored(r, st) }
		}
		return t.scan(key, test, cand, negated), nil
	}
}

// byCost puts the conditions answered from indexes first.
func (t *table[R]) byCost(kids []*Cond[R]) []*Cond[R] {
	cost := func(c *Cond[R]) int {
		switch c.kind {
		case kindIDs:
			return 0
		case kindCompare:
			if col := t.cols[c.col]; col != nil && col.Indexed && (c.op == EQ || c.op == In) {
				return 0
			}
			return 1
		}
		return 2
	}
	out := slices.Clone(kids)
	slices.SortStableFunc(out, func(a, b *Cond[R]) int { return cost(a) - cost(b) })
	return out
}

// indexed answers an equality or membership from the column's value sets, or returns nil.
func (t *table[R]) indexed(col *Column[R], op Op, vals []Value, negated bool) *Set {
	if !col.Indexed {
		return nil
	}
	switch {
	case (op == EQ || op == In) && !negated:
		return t.valueRows(col.Name, vals)
	case (op == EQ || op == In) && negated, (op == NEQ || op == NotIn) && !negated:
		// Neither the values nor NULL.
		not := t.valueRows(col.Name, append(slices.Clip(vals), Value{Null: true}))
		return roaring.AndNot(&t.live, not)
	case op == IsNil && !negated, op == NotNil && negated:
		return t.valueRows(col.Name, []Value{{Null: true}})
	case op == NotNil && !negated, op == IsNil && negated:
		return roaring.AndNot(&t.live, t.valueRows(col.Name, []Value{{Null: true}}))
	}
	return nil
}

// scan tests the candidates, or reads the kept rows of a keyed test when there are many.
func (t *table[R]) scan(key string, test func(*R) Truth, cand *Set, negated bool) *Set {
	want := True
	if negated {
		want = False
	}
	if key != "" {
		k := key
		if negated {
			k = "not:" + key
		}
		if rows := t.memoFor(k, cand.GetCardinality() > memoAbove, func(r *R) bool { return test(r) == want }); rows != nil {
			return roaring.And(cand, rows)
		}
	}
	out := roaring.New()
	it := cand.Iterator()
	for it.HasNext() {
		s := it.Next()
		if test(&t.rows[s]) == want {
			out.Add(s)
		}
	}
	return out
}

func (c *Cond[R]) compareKey() string {
	return fmt.Sprintf("%s %d %v", c.col, c.op, c.vals)
}

// compareTest is the test of a comparison on one row.
func compareTest[R any](col *Column[R], st *store, op Op, vals []Value) func(*R) Truth {
	var fold []string
	if op == EqualFold || op == ContainsFold {
		for _, v := range vals {
			fold = append(fold, strings.ToLower(v.S))
		}
	}
	lower := func(r *R, v Value) string {
		if col.Fold != nil {
			return col.Fold(r, st)
		}
		return strings.ToLower(v.S)
	}
	return func(r *R) Truth {
		v := col.Get(r, st)
		switch op {
		case IsNil:
			return TruthOf(v.Null)
		case NotNil:
			return TruthOf(!v.Null)
		}
		if v.Null {
			return Unknown
		}
		switch op {
		case EQ, In:
			for _, x := range vals {
				if !x.Null && col.same(v, x) {
					return True
				}
			}
			return False
		case NEQ, NotIn:
			for _, x := range vals {
				if !x.Null && col.same(v, x) {
					return False
				}
			}
			return True
		case GT:
			return TruthOf(col.Type.compare(v, vals[0]) > 0)
		case GTE:
			return TruthOf(col.Type.compare(v, vals[0]) >= 0)
		case LT:
			return TruthOf(col.Type.compare(v, vals[0]) < 0)
		case LTE:
			return TruthOf(col.Type.compare(v, vals[0]) <= 0)
		case Contains:
			return TruthOf(strings.Contains(v.S, vals[0].S))
		case HasPrefix:
			return TruthOf(strings.HasPrefix(v.S, vals[0].S))
		case HasSuffix:
			return TruthOf(strings.HasSuffix(v.S, vals[0].S))
		case EqualFold:
			return TruthOf(lower(r, v) == fold[0])
		case ContainsFold:
			return TruthOf(strings.Contains(lower(r, v), fold[0]))
		}
		return False
	}
}

// CustomField matches the rows whose custom field name equals value, as PostgreSQL's
// ->> gives the field (a missing field is NULL: neither equal nor unequal).
func CustomField[R TaskRow | CaseRow](name, value string) *Cond[R] {
	return &Cond[R]{kind: kindTest, key: fmt.Sprintf("custom %q=%q", name, value), stored: func(r *R, st *store) Truth {
		v, ok := st.field(customOf(r), name)
		if !ok {
			return Unknown
		}
		return TruthOf(v == value)
	}}
}

func customOf[R TaskRow | CaseRow](r *R) text {
	switch r := any(r).(type) {
	case *TaskRow:
		return r.custom
	case *CaseRow:
		return r.custom
	}
	return text{}
}

// ResponsibleOf matches the tasks whose current (not expiry) responsibles include one
// of the roles (roles true) or users.
func ResponsibleOf(roles bool, ids []int) *Cond[TaskRow] {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	key := fmt.Sprintf("responsible roles=%t %v", roles, ids)
	return &Cond[TaskRow]{kind: kindTest, key: key, stored: func(r *TaskRow, st *store) Truth {
		found := false
		st.responsibles(r.resp, func(rs Responsible) {
			id := rs.UserID
			if roles {
				id = rs.RoleID
			}
			if !rs.Expiry && id != 0 && !found {
				_, found = slices.BinarySearch(ids, id)
			}
		})
		return TruthOf(found)
	}}
}
