package listindex

import (
	"fmt"
	"strings"
)

// OrderTerm is one field of a list's order.
type OrderTerm struct {
	Column string // a column name of the table: createdAt, priority, …
	Desc   bool
}

// order compares rows by its terms, NULLs last in either direction, then by id in the
// direction of the last term: every row has one place, so keyset cursors never skip or
// repeat a row.
type order[R any] struct {
	st    *store // the table's, where the rows' texts are
	key   string
	cols  []*Column[R]
	desc  []bool
	idDsc bool
	// nullsFirst: a reversed order, which walks the forward order backwards.
	nullsFirst bool
}

func (t *table[R]) order(terms []OrderTerm) (*order[R], error) {
	o := &order[R]{st: &t.st}
	var key strings.Builder
	for _, term := range terms {
		c := t.cols[term.Column]
		if c == nil {
			return nil, fmt.Errorf("no column %q to order by", term.Column)
		}
		o.cols = append(o.cols, c)
		o.desc = append(o.desc, term.Desc)
		o.idDsc = term.Desc
		fmt.Fprintf(&key, "%s:%t,", term.Column, term.Desc)
	}
	fmt.Fprintf(&key, "id:%t", o.idDsc)
	o.key = key.String()
	return o, nil
}

// compareValues orders two values of term i.
func (o *order[R]) compareValues(i int, a, b Value) int {
	if a.Null || b.Null {
		if a.Null && b.Null {
			return 0
		}
		c := 1 // a is NULL: after b
		if b.Null {
			c = -1
		}
		if o.nullsFirst {
			c = -c
		}
		return c
	}
	c := o.cols[i].Type.compare(a, b)
	if o.desc[i] {
		return -c
	}
	return c
}

func (o *order[R]) compareIDs(a, b int) int {
	c := 0
	switch {
	case a < b:
		c = -1
	case a > b:
		c = 1
	}
	if o.idDsc {
		return -c
	}
	return c
}

// compare orders two rows.
func (o *order[R]) compare(a *R, aID int, b *R, bID int) int {
	for i, c := range o.cols {
		if x := o.compareValues(i, c.Get(a, o.st), c.Get(b, o.st)); x != 0 {
			return x
		}
	}
	return o.compareIDs(aID, bID)
}

// Key is a row's place in an order: its values of the order's terms and its id. Cursors
// carry it.
type Key struct {
	Values []Value
	ID     int
}

// keyOf returns a row's key.
func (o *order[R]) keyOf(r *R, id int) Key {
	k := Key{Values: make([]Value, len(o.cols)), ID: id}
	for i, c := range o.cols {
		k.Values[i] = c.Get(r, o.st)
	}
	return k
}

// compareKey orders a row against a key.
func (o *order[R]) compareKey(r *R, id int, k Key) int {
	for i, c := range o.cols {
		if x := o.compareValues(i, c.Get(r, o.st), k.Values[i]); x != 0 {
			return x
		}
	}
	return o.compareIDs(id, k.ID)
}

// reversed returns the order backwards (for `last`/`before` pages). NULLs stay last in
// the forward order, so they come first backwards.
func (o *order[R]) reversed() *order[R] {
	r := &order[R]{st: o.st, key: "rev:" + o.key, cols: o.cols, desc: make([]bool, len(o.desc)), idDsc: !o.idDsc}
	for i, d := range o.desc {
		r.desc[i] = !d
	}
	r.nullsFirst = true
	return r
}

// cursorValues returns a key's values as a cursor carries them: nil for NULL, text and
// enums (by name) as strings, the others as integers (times in Unix microseconds).
func (o *order[R]) cursorValues(k Key) []any {
	out := make([]any, len(k.Values))
	for i, v := range k.Values {
		switch {
		case v.Null:
		case o.cols[i].Type == Text || o.cols[i].Type == Enum:
			out[i] = v.S
		default:
			out[i] = v.I
		}
	}
	return out
}

// key reads the values of a cursor back, refusing what does not fit the order.
func (o *order[R]) parseKey(id int, vals []any, rank func(col string, name string) (int64, bool)) (Key, error) {
	if len(vals) != len(o.cols) {
		return Key{}, fmt.Errorf("the cursor holds %d values for an order of %d fields", len(vals), len(o.cols))
	}
	k := Key{ID: id, Values: make([]Value, len(vals))}
	for i, x := range vals {
		c := o.cols[i]
		if x == nil {
			k.Values[i] = Value{Null: true}
			continue
		}
		switch c.Type {
		case Text, Enum:
			s, ok := x.(string)
			if !ok {
				return Key{}, fmt.Errorf("the cursor's value %d is no text", i+1)
			}
			k.Values[i] = Value{S: s}
			if c.Type == Enum {
				r, ok := rank(c.Name, s)
				if !ok {
					return Key{}, fmt.Errorf("the cursor's value %d is no %s", i+1, c.Name)
				}
				k.Values[i].I = r
			}
		default:
			n, ok := toInt64(x)
			if !ok {
				return Key{}, fmt.Errorf("the cursor's value %d is no number", i+1)
			}
			k.Values[i] = Value{I: n}
		}
	}
	return k, nil
}

// toInt64 reads an integer as a decoded cursor holds it (any width).
func toInt64(x any) (int64, bool) {
	switch n := x.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= 1<<63-1 {
			return int64(n), true
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}
