package workflow

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/policy"
)

// TaskList returns a page of the task list in its default order, (created_at, id),
// newest first when desc, after the cursor after. One statement loads the page: the
// tasks of policy.TaskPage, which reads only the first keys of each source of visibility.
// The total, when withCount, comes from policy.TaskCount and is kept until the next
// committed change to any task or case (here, or on another server through Invalidate).
//
// ctx must not ask Paginate for totalCount or pageInfo (it would count the page).
func (e *Engine) TaskList(ctx context.Context, after *entgql.Cursor[int], first int, desc bool, withCount bool) (*ent.TaskConnection, error) {
	var key *policy.TaskKey
	if after != nil {
		created, ok := CreatedAtCursor(after)
		if !ok {
			return nil, fmt.Errorf("task list cursor holds %T, not a creation time", after.Value)
		}
		key = &policy.TaskKey{Created: created, ID: after.ID}
	}
	pageCtx, err := e.policy.TaskPage(ctx, desc, key, first+1)
	if err != nil {
		return nil, err
	}
	order := &ent.TaskOrder{Field: ent.TaskOrderFieldCreatedAt, Direction: entgql.OrderDirectionAsc}
	if desc {
		order.Direction = entgql.OrderDirectionDesc
	}
	// pageCtx holds the tasks after the cursor already, in (created_at, id) both ways.
	// entgql's list orders break ties by the id ascending, so Paginate gets neither the
	// cursor nor the page size: it loads the page's first+1 tasks, which are sorted and
	// cut here.
	all := first + 1
	conn, err := e.client.Task.Query().Paginate(pageCtx, nil, &all, nil, nil, ent.WithTaskOrder([]*ent.TaskOrder{order}))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(conn.Edges, func(a, b *ent.TaskEdge) int {
		c := cmp.Or(a.Node.CreatedAt.Compare(b.Node.CreatedAt), cmp.Compare(a.Node.ID, b.Node.ID))
		if desc {
			return -c
		}
		return c
	})
	conn.PageInfo = ent.PageInfo{HasNextPage: len(conn.Edges) > first}
	if len(conn.Edges) > first {
		conn.Edges = conn.Edges[:first]
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	if withCount {
		if conn.TotalCount, err = e.countTasks(ctx); err != nil {
			return nil, err
		}
	}
	return conn, nil
}

// countTasks returns the number of tasks the viewer may see, from the cache when no task
// or case changed since it was counted.
func (e *Engine) countTasks(ctx context.Context) (int, error) {
	query, args, key, err := e.policy.TaskCount(ctx, e.dialect)
	if err != nil {
		return 0, err
	}
	gen, n, ok := e.counts.get(key)
	if ok {
		return n, nil
	}
	rows, err := e.client.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("count visible tasks: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, fmt.Errorf("count visible tasks: no row: %w", rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		return 0, fmt.Errorf("count visible tasks: %w", err)
	}
	e.counts.put(gen, key, n)
	return n, nil
}

// Invalidate drops the cached task counts: a task or case changed.
func (e *Engine) Invalidate() { e.counts.invalidate() }

// invalidateOnWrites drops the cached counts after every committed write to what task
// visibility reads (tasks, responsibles, cases, workflow events), whatever code writes.
// Other servers' writes arrive through the bus (see portico.Server).
func (e *Engine) invalidateOnWrites() {
	e.client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			switch m.Type() {
			case ent.TypeTask, ent.TypeTaskResponsible, ent.TypeBusinessCase, ent.TypeWorkflowEvent:
			default:
				return v, err
			}
			// Now, and once more after commit: a count taken in between would miss the write.
			if txm, ok := m.(interface{ Tx() (*ent.Tx, error) }); ok {
				if tx, txErr := txm.Tx(); txErr == nil {
					tx.OnCommit(func(next ent.Committer) ent.Committer {
						return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
							err := next.Commit(ctx, tx)
							e.Invalidate()
							return err
						})
					})
				}
			}
			e.Invalidate()
			return v, err
		})
	})
}

// countCache holds visible-task counts by visibility key. A count is stored only if no
// change came in while it was counted (the generation did not move).
type countCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]int
}

// maxCounts bounds the cache; past it, it starts over.
const maxCounts = 10000

func (c *countCache) get(key string) (gen uint64, n int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok = c.m[key]
	return c.gen, n, ok
}

func (c *countCache) put(gen uint64, key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCounts {
		c.m = map[string]int{}
	}
	c.m[key] = n
}

func (c *countCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// CreatedAtCursor returns the creation time of a cursor of the task list ordered by
// CREATED_AT alone: orderBy is a list, so the cursor holds a list of one value.
func CreatedAtCursor(c *entgql.Cursor[int]) (time.Time, bool) {
	values, ok := c.Value.([]any)
	if !ok || len(values) != 1 {
		return time.Time{}, false
	}
	t, ok := values[0].(time.Time)
	return t, ok
}
