package listindex

import (
	"testing"

	"github.com/portico-dev/portico/cachestats"
)

// TestLookupsCounted: the first page in an order sorts the table (a miss), the next
// walks the kept order (a hit); a keyed condition over many rows is kept the first
// time (a miss) and read after (a hit).
func TestLookupsCounted(t *testing.T) {
	ix := benchIndex(30_000)
	all := func(tv TaskView, _ CaseView) *Set { return tv.All() }
	n := 51
	p := Page{Order: []OrderTerm{{Column: "priority", Desc: true}}, First: &n}
	text := Compare[TaskRow]("name", ContainsFold, Value{S: "invoice"})
	var first Result
	for i := range 2 {
		r, err := ix.Tasks(all, text, p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = r
		} else if r.Total != first.Total || len(r.IDs) != n || r.IDs[0] != first.IDs[0] {
			t.Fatalf("the second page differs: %d rows of %d, first %d; before %d of %d, first %d",
				len(r.IDs), r.Total, r.IDs[0], len(first.IDs), first.Total, first.IDs[0])
		}
	}
	want := cachestats.Counts{Hits: 1, Misses: 1}
	if got := ix.Orders(); got != want {
		t.Errorf("orders: %+v, want %+v", got, want)
	}
	if got := ix.Conditions(); got != want {
		t.Errorf("conditions: %+v, want %+v", got, want)
	}
}
