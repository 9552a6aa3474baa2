package listindex

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchIndex builds an index shaped like seed-bench's data: n tasks over n/5 cases, one
// or two responsibles each from 2,000 roles (15% users), the states and priorities in
// its proportions.
func benchIndex(n int) *Index {
	rng := rand.New(rand.NewPCG(1, 2))
	ix := New()
	start := time.Now().Add(-365 * 24 * time.Hour).UnixMicro()
	states := []string{"SUSPENDED", "SUSPENDED", "SUSPENDED", "RESUMED", "PARKED", "DONE", "DONE", "DESTROYED"}
	prios := []string{"EXCEPTION", "HIGH", "HIGH", "NORMAL", "NORMAL", "NORMAL", "NORMAL", "LOW", "LOW"}
	verbs := []string{"Review", "Approve", "Check", "Sign"}
	nouns := []string{"invoice", "contract", "request", "report"}
	cats := []string{"Finance", "HR", "IT", "Legal", "Sales", "Operations"}
	regions := []string{"EU", "US", "APAC"}
	for c := range n / 5 {
		ix.putCase(&caseData{ID: c + 1, Name: fmt.Sprintf("Case %d", c), Category: cats[c%6], State: "RUNNING",
			Created: start + int64(c)*150_000_000, CreatorID: 1_000_000 + rng.IntN(10000)})
	}
	for i := range n {
		r := &taskData{ID: 10_000_000 + i, Name: verbs[rng.IntN(4)] + " " + nouns[rng.IntN(4)], Category: cats[rng.IntN(6)],
			State: states[rng.IntN(len(states))], Priority: prios[rng.IntN(len(prios))], Created: start + int64(i)*30_000_000,
			Updated: start + int64(i)*30_000_000, Expiry: NoTime, Delay: NoTime, Started: NoTime, Ended: NoTime,
			CaseID: 1 + i/5, Custom: Fields{{"region", regions[rng.IntN(3)]}}}
		if rng.IntN(2) == 0 {
			r.Expiry = r.Created + int64(rng.IntN(1000))*3_600_000_000
		}
		for range 1 + rng.IntN(2) {
			if rng.IntN(100) < 85 {
				r.Responsibles = append(r.Responsibles, Responsible{RoleID: 1 + rng.IntN(2000)})
			} else {
				r.Responsibles = append(r.Responsibles, Responsible{UserID: 1_000_000 + rng.IntN(10000)})
			}
		}
		ix.putTask(r)
	}
	return ix
}

// BenchmarkTaskPages measures pages of 51 with their totals over a million tasks, as
// three viewers (20 roles, 1 role, everything) and several shapes.
func BenchmarkTaskPages(b *testing.B) {
	ix := benchIndex(1_000_000)
	roles20 := make([]int, 20)
	for i := range roles20 {
		roles20[i] = 1 + i*97
	}
	viewers := map[string]func(TaskView, CaseView) *Set{
		"roles20": func(tv TaskView, _ CaseView) *Set { return tv.Responsible(roles20, []int{1_000_001}) },
		"role1":   func(tv TaskView, _ CaseView) *Set { return tv.Responsible([]int{7}, nil) },
		"all":     func(tv TaskView, _ CaseView) *Set { r := tv.All(); tv.WithoutSystem(r); return r },
	}
	open := Compare[TaskRow]("state", In, Value{S: "SUSPENDED"}, Value{S: "PARKED"})
	shapes := []struct {
		name  string
		where *Cond[TaskRow]
		order []OrderTerm
	}{
		{"newest", nil, []OrderTerm{{Column: "createdAt", Desc: true}}},
		{"open-by-priority", open, []OrderTerm{{Column: "priority", Desc: true}}},
		{"by-expiry", nil, []OrderTerm{{Column: "expiryTimestamp"}}},
		{"by-id", nil, nil},
		{"open-priority-expiry", open, []OrderTerm{{Column: "priority", Desc: true}, {Column: "expiryTimestamp"}}},
		{"category", Compare[TaskRow]("category", EQ, Value{S: "Finance"}), []OrderTerm{{Column: "createdAt", Desc: true}}},
		{"text", Or(Compare[TaskRow]("name", ContainsFold, Value{S: "invoice"}), Compare[TaskRow]("description", ContainsFold, Value{S: "invoice"})), []OrderTerm{{Column: "createdAt", Desc: true}}},
		{"custom", CustomField[TaskRow]("region", "EU"), []OrderTerm{{Column: "createdAt", Desc: true}}},
	}
	n := 51
	for _, sh := range shapes {
		for name, vis := range viewers {
			b.Run(sh.name+"/"+name, func(b *testing.B) {
				p := Page{Order: sh.order, First: &n}
				if _, err := ix.Tasks(vis, sh.where, p); err != nil { // sorts the order once
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := ix.Tasks(vis, sh.where, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTaskWrite measures applying one changed task (a reserve: state and worker)
// to an index of a million tasks that keeps the orders and conditions lists use, which
// every write holds the index's lock for.
func BenchmarkTaskWrite(b *testing.B) {
	ix := benchIndex(1_000_000)
	n := 51
	all := func(tv TaskView, _ CaseView) *Set { return tv.All() }
	for _, order := range [][]OrderTerm{
		{{Column: "createdAt", Desc: true}}, {{Column: "priority", Desc: true}}, {{Column: "expiryTimestamp"}},
		{{Column: "priority", Desc: true}, {Column: "expiryTimestamp"}}, {{Column: "name"}}, {{Column: "state"}},
		{{Column: "category"}}, {{Column: "updatedAt", Desc: true}},
	} {
		if _, err := ix.Tasks(all, nil, Page{Order: order, First: &n}); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Now().Add(-365 * 24 * time.Hour).UnixMicro()
	for b.Loop() {
		i := rng.IntN(1_000_000)
		d := taskData{ID: 10_000_000 + i, Name: "Review invoice", Category: "HR", State: "RESUMED", Priority: "NORMAL",
			Created: start + int64(i)*30_000_000, Updated: time.Now().UnixMicro(), Expiry: NoTime, Delay: NoTime,
			Started: NoTime, Ended: NoTime, CaseID: 1 + i/5, WorkerID: 1_000_000 + rng.IntN(10000),
			Responsibles: []Responsible{{RoleID: 1 + rng.IntN(2000)}}, Custom: Fields{{"region", "EU"}}}
		ix.mu.Lock()
		ix.putTask(&d)
		ix.mu.Unlock()
	}
}
