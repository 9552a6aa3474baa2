package listindex

import (
	"container/heap"
	"fmt"
	"slices"
)

// Page asks for a window of a list: First rows after After (and before Before), or the
// Last rows before Before (and after After).
type Page struct {
	Order         []OrderTerm
	After, Before *Key
	First, Last   *int
}

// Result is a window of a list and what its connection needs.
type Result struct {
	IDs []int // in the list's order
	// Cursors hold each row's values of the order (nil for NULL, text and enums by name,
	// the others as integers; times in Unix microseconds), its id apart.
	Cursors [][]any
	Total   int // every row of the list, not only the window
	// As entgql's connections set them: a next page when more rows follow a forward
	// window or Before bounds it, a previous one when After bounds it or more rows
	// precede a backward window.
	HasNext, HasPrev bool
}

// page returns the window p of rows.
func (t *table[R]) page(rows *Set, p Page) (Result, error) {
	o, err := t.order(p.Order)
	if err != nil {
		return Result{}, err
	}
	for _, k := range []*Key{p.After, p.Before} {
		if k != nil && len(k.Values) != len(o.cols) {
			return Result{}, fmt.Errorf("cursor of %d fields for an order of %d", len(k.Values), len(o.cols))
		}
	}
	res := Result{Total: int(rows.GetCardinality()), HasNext: p.Before != nil, HasPrev: p.After != nil}
	walk, from, to, n, backward := o, p.After, p.Before, 0, false
	switch {
	case p.Last != nil:
		walk, from, to, n, backward = o.reversed(), p.Before, p.After, *p.Last, true
	case p.First != nil:
		n = *p.First
	default:
		return Result{}, fmt.Errorf("a page needs first or last")
	}
	var slots []uint32
	if n > 0 && res.Total > 0 {
		n = min(n, res.Total)
		if t.walkPays(res.Total, n+1) {
			slots = t.walkSorted(o, rows, from, to, n+1, backward)
		} else {
			slots = t.collect(walk, rows, from, to, n+1)
		}
	}
	if len(slots) > n {
		slots = slots[:n]
		if backward {
			res.HasPrev = true
		} else {
			res.HasNext = true
		}
	}
	if backward {
		slices.Reverse(slots)
	}
	res.IDs = make([]int, len(slots))
	res.Cursors = make([][]any, len(slots))
	for i, s := range slots {
		res.IDs[i] = t.ids[s]
		res.Cursors[i] = o.cursorValues(o.keyOf(&t.rows[s], t.ids[s]))
	}
	return res, nil
}

// walkPays says whether walking the whole table in order until want rows of the list
// turn up is expected to beat sorting the list's rows. The walk visits about
// want × table ÷ list slots, each a look-up in the list's bitmap; the sort reads every
// row of the list, scattered in memory, about walkCost times dearer a row (measured:
// a walk of 8,000 slots beat sorting 6,000 rows tenfold). Small lists are sorted.
func (t *table[R]) walkPays(list, want int) bool {
	if list < 1000 {
		return false
	}
	table := float64(t.live.GetCardinality())
	steps := min(table, float64(want)*table/float64(list)) // a whole list: the whole table
	return steps < walkCost*float64(list)
}

const walkCost = 16

// walkSorted walks the table's rows in order o (backwards when backward) from the key
// from (exclusive) and returns the first want rows of the list, stopping at the key to.
func (t *table[R]) walkSorted(o *order[R], rows *Set, from, to *Key, want int, backward bool) []uint32 {
	sr := t.sortedBy(o)
	rs := &sr.slots
	// p: the first row after from (forward) or the last row before it (backward).
	var p pos
	switch {
	case from == nil && !backward:
		p = rs.first()
	case from == nil:
		p = rs.last()
	default:
		p = rs.search(func(s uint32) int { return o.compareKey(&t.rows[s], t.ids[s], *from) })
		if !backward {
			if rs.valid(p) && o.compareKey(&t.rows[rs.at(p)], t.ids[rs.at(p)], *from) == 0 {
				p = rs.next(p)
			}
		} else {
			p = rs.prev(p)
		}
	}
	var out []uint32
	for ; rs.valid(p) && len(out) < want; p = step(rs, p, backward) {
		s := rs.at(p)
		if !rows.Contains(s) {
			continue
		}
		if to != nil {
			c := o.compareKey(&t.rows[s], t.ids[s], *to)
			if (!backward && c >= 0) || (backward && c <= 0) {
				break
			}
		}
		out = append(out, s)
	}
	return out
}

func step(rs *runs, p pos, backward bool) pos {
	if backward {
		return rs.prev(p)
	}
	return rs.next(p)
}

// collect returns the first want rows of the list in order o between the keys from and
// to (both exclusive), keeping only the best want while it reads the list.
func (t *table[R]) collect(o *order[R], rows *Set, from, to *Key, want int) []uint32 {
	h := &worst[R]{t: t, o: o}
	it := rows.Iterator()
	for it.HasNext() {
		s := it.Next()
		r, id := &t.rows[s], t.ids[s]
		if from != nil && o.compareKey(r, id, *from) <= 0 {
			continue
		}
		if to != nil && o.compareKey(r, id, *to) >= 0 {
			continue
		}
		if h.Len() < want {
			heap.Push(h, s)
		} else if o.compare(r, id, &t.rows[h.slots[0]], t.ids[h.slots[0]]) < 0 {
			h.slots[0] = s
			heap.Fix(h, 0)
		}
	}
	out := h.slots
	slices.SortFunc(out, func(a, b uint32) int { return o.compare(&t.rows[a], t.ids[a], &t.rows[b], t.ids[b]) })
	return out
}

// worst is a heap of rows with the last in order on top.
type worst[R any] struct {
	t     *table[R]
	o     *order[R]
	slots []uint32
}

func (h *worst[R]) Len() int { return len(h.slots) }
func (h *worst[R]) Less(i, j int) bool {
	a, b := h.slots[i], h.slots[j]
	return h.o.compare(&h.t.rows[a], h.t.ids[a], &h.t.rows[b], h.t.ids[b]) > 0
}
func (h *worst[R]) Swap(i, j int) { h.slots[i], h.slots[j] = h.slots[j], h.slots[i] }
func (h *worst[R]) Push(x any)    { h.slots = append(h.slots, x.(uint32)) }
func (h *worst[R]) Pop() any {
	x := h.slots[len(h.slots)-1]
	h.slots = h.slots[:len(h.slots)-1]
	return x
}
