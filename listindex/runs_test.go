package listindex

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRunsKeepTheOrder inserts and deletes values at random and checks the runs against
// a plain sorted slice after each step: search, walks both ways, splits and empty runs.
func TestRunsKeepTheOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	want := make([]uint32, 0, 5000)
	for range 3000 {
		want = append(want, uint32(rng.IntN(1_000_000)))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	rs := newRuns(want)
	want = slices.Clone(want)
	at := func(v uint32) func(uint32) int { return func(s uint32) int { return cmp.Compare(s, v) } }
	for step := range 20000 {
		v := uint32(rng.IntN(1_000_000))
		p := rs.search(at(v))
		i, found := slices.BinarySearch(want, v)
		if got := rs.valid(p); got != (i < len(want)) || (got && rs.at(p) != want[i]) {
			t.Fatalf("step %d: search %d: valid %t, want index %d of %d", step, v, got, i, len(want))
		}
		if found && rng.IntN(3) > 0 || len(want) > 4000 && found {
			rs.delete(p)
			want = slices.Delete(want, i, i+1)
		} else if !found {
			rs.insert(p, v)
			want = slices.Insert(want, i, v)
		}
		if step%1000 != 0 {
			continue
		}
		var fwd, back []uint32
		for p := rs.first(); rs.valid(p); p = rs.next(p) {
			fwd = append(fwd, rs.at(p))
		}
		for p := rs.last(); rs.valid(p); p = rs.prev(p) {
			back = append(back, rs.at(p))
		}
		slices.Reverse(back)
		if !slices.Equal(fwd, want) || !slices.Equal(back, want) {
			t.Fatalf("step %d: walks differ from the sorted slice (%d, %d, %d slots)", step, len(fwd), len(back), len(want))
		}
		for _, run := range rs.r {
			if len(run) == 0 || len(run) > runMax {
				t.Fatalf("step %d: a run of %d slots", step, len(run))
			}
		}
	}
	for len(want) > 0 { // down to nothing: no empty runs left behind
		p := rs.search(at(want[0]))
		rs.delete(p)
		want = want[1:]
	}
	if len(rs.r) != 0 || rs.valid(rs.last()) {
		t.Fatalf("%d runs left", len(rs.r))
	}
}
