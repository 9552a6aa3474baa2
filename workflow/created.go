package workflow

import (
	"context"
	"slices"
	"sync"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/hook"
)

// A write's events say which of its tasks and cases it created, from the creates that
// ran, not guessed from timestamps afterwards (a note added to a five-minute-old case
// once arrived as CREATED). The hooks below record every create made with a context
// that carries a record; write gives its transaction one. The record also collects the
// write's assignments, so that one Change after commit reports all of it.

type recordKey struct{}

// writeRecord collects the ids of the tasks and cases created in one write (ids are
// unique across entities) and the tasks it assigned, by kind.
type writeRecord struct {
	mu       sync.Mutex
	ids      []int
	assigned []Assignment
}

func withWriteRecord(ctx context.Context) (context.Context, *writeRecord) {
	r := &writeRecord{}
	return context.WithValue(ctx, recordKey{}, r), r
}

func recordOf(ctx context.Context) *writeRecord {
	r, _ := ctx.Value(recordKey{}).(*writeRecord)
	return r
}

func (r *writeRecord) add(id int) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
}

// assign records that the write assigned a task (kind: see AssignedNew).
func (r *writeRecord) assign(kind string, taskID int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.assigned {
		if r.assigned[i].Kind == kind {
			if !slices.Contains(r.assigned[i].Tasks, taskID) {
				r.assigned[i].Tasks = append(r.assigned[i].Tasks, taskID)
			}
			return
		}
	}
	r.assigned = append(r.assigned, Assignment{Kind: kind, Tasks: []int{taskID}})
}

// change returns what the record holds with the touched ids.
func (r *writeRecord) change(tasks, cases []int) Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Change{Tasks: tasks, Cases: cases, Created: r.ids, Assigned: r.assigned}
}

// installCreatedHooks records created tasks and cases in the context's record.
func installCreatedHooks(client *ent.Client) {
	record := func(ctx context.Context, v ent.Value) {
		r := recordOf(ctx)
		if r == nil {
			return
		}
		switch n := v.(type) {
		case *ent.Task:
			r.add(n.ID)
		case *ent.BusinessCase:
			r.add(n.ID)
		}
	}
	created := hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err == nil {
				record(ctx, v)
			}
			return v, err
		})
	}, ent.OpCreate)
	client.Task.Use(created)
	client.BusinessCase.Use(created)
}
