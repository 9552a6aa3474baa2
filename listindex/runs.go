package listindex

import "slices"

// runs hold a table's slots in one order as a list of short sorted runs, so that a
// change moves at most one run's slots: a flat array of a million slots moved 4 MB for
// every changed row and every kept order, while the change held the index's lock.
type runs struct {
	r [][]uint32
}

// runMax is the longest run; a run that grows past it splits in two.
const runMax = 1024

// pos is a place in the runs: slot i of run b. The end is {len(runs), 0}.
type pos struct{ b, i int }

func newRuns(slots []uint32) runs {
	var rs runs
	for len(slots) > 0 {
		n := min(len(slots), runMax/2)
		rs.r = append(rs.r, slices.Clone(slots[:n]))
		slots = slots[n:]
	}
	return rs
}

func (rs *runs) valid(p pos) bool { return p.b >= 0 && p.b < len(rs.r) }

func (rs *runs) at(p pos) uint32 { return rs.r[p.b][p.i] }

func (rs *runs) first() pos { return pos{} }

func (rs *runs) last() pos {
	if len(rs.r) == 0 {
		return pos{b: -1}
	}
	return pos{len(rs.r) - 1, len(rs.r[len(rs.r)-1]) - 1}
}

func (rs *runs) next(p pos) pos {
	if p.i++; p.i == len(rs.r[p.b]) {
		p.b, p.i = p.b+1, 0
	}
	return p
}

func (rs *runs) prev(p pos) pos {
	if p.i--; p.i < 0 {
		if p.b--; p.b >= 0 {
			p.i = len(rs.r[p.b]) - 1
		}
	}
	return p
}

// search returns the first place whose slot s has cmp(s) >= 0 (cmp compares a slot
// with the target, ascending along the order), or the end.
func (rs *runs) search(cmp func(uint32) int) pos {
	b, _ := slices.BinarySearchFunc(rs.r, 0, func(run []uint32, _ int) int { return cmp(run[len(run)-1]) })
	if b == len(rs.r) {
		return pos{b: b}
	}
	i, _ := slices.BinarySearchFunc(rs.r[b], 0, func(s uint32, _ int) int { return cmp(s) })
	return pos{b, i}
}

// insert puts s at p, before the slot there.
func (rs *runs) insert(p pos, s uint32) {
	if len(rs.r) == 0 {
		rs.r = [][]uint32{{s}}
		return
	}
	if p.b == len(rs.r) { // the end: after the last run's last slot
		p = pos{p.b - 1, len(rs.r[p.b-1])}
	}
	run := slices.Insert(rs.r[p.b], p.i, s)
	if len(run) <= runMax {
		rs.r[p.b] = run
		return
	}
	half := len(run) / 2
	rs.r[p.b] = slices.Clip(run[:half])
	rs.r = slices.Insert(rs.r, p.b+1, slices.Clone(run[half:]))
}

// delete drops the slot at p.
func (rs *runs) delete(p pos) {
	if rs.r[p.b] = slices.Delete(rs.r[p.b], p.i, p.i+1); len(rs.r[p.b]) == 0 {
		rs.r = slices.Delete(rs.r, p.b, p.b+1)
	}
}

// index finds the place of s by scanning (for an order that moved under us: never
// expected).
func (rs *runs) index(s uint32) (pos, bool) {
	for b, run := range rs.r {
		if i := slices.Index(run, s); i >= 0 {
			return pos{b, i}, true
		}
	}
	return pos{}, false
}
