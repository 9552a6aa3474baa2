package workflow

import (
	"context"
	"sync"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/hook"
)

// A write's events say which of its tasks and cases it created, from the creates that
// ran, not guessed from timestamps afterwards (a note added to a five-minute-old case
// once arrived as CREATED). The hooks below record every create made with a context
// that carries a record; write gives its transaction one.

type createdKey struct{}

// createdRecord collects the ids of the tasks and cases created in one write (ids are
// unique across entities).
type createdRecord struct {
	mu  sync.Mutex
	ids []int
}

func withCreatedRecord(ctx context.Context) (context.Context, *createdRecord) {
	r := &createdRecord{}
	return context.WithValue(ctx, createdKey{}, r), r
}

func (r *createdRecord) add(id int) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
}

// installCreatedHooks records created tasks and cases in the context's record.
func installCreatedHooks(client *ent.Client) {
	record := func(ctx context.Context, v ent.Value) {
		r, _ := ctx.Value(createdKey{}).(*createdRecord)
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
