package workflow_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/servertest"
)

// TestDefaultTaskListPages pages through the task list in creation order, both
// directions, in pages of several sizes and checks it against the whole list in one
// page (with a where clause): same tasks, same order (ties on created_at broken by id),
// each once even when two sources name it, and a count that follows writes. The lists
// against the plain filtered query: lists.TestListsMatchThePlainQuery.
func TestDefaultTaskListPages(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		e := mxSetup(t, dialect)
		r := e.role(t, "list-team", 0)
		u := e.user(t, r)
		cs := e.mkCase(t, businesscase.StateRUNNING, nil)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
		at := func(min int) func(*ent.TaskCreate) {
			return func(c *ent.TaskCreate) { c.SetCreatedAt(base.Add(time.Duration(min) * time.Minute)) }
		}
		for _, min := range []int{5, 1, 9, 3, 3, 7, 3} { // three tasks share minute 3
			e.mkTask(t, cs.ID, task.StateSUSPENDED, nil, []int{r}, at(min))
		}
		e.mkTask(t, cs.ID, task.StateSUSPENDED, []int{u.ID}, []int{r}, at(4)) // two sources
		e.mkTask(t, cs.ID, task.StateDELAYED, nil, []int{r}, at(6))           // hidden
		other := e.mkCase(t, businesscase.StateRUNNING, nil)
		e.mkTask(t, other.ID, task.StateSUSPENDED, nil, []int{e.role(t, "list-other", 0)}, at(2)) // not theirs

		type page struct {
			Tasks struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct{ Node struct{ ID mxID } }
			}
		}
		// want is the generic query's order (a where clause takes the generic path).
		want := func(dir string) []int {
			var out page
			u.C.MustDo(t, fmt.Sprintf(`{ tasks(first: 100, orderBy: {field: CREATED_AT, direction: %s}, where: {idNEQ: "0"}) {
				totalCount edges { node { id } } } }`, dir), nil, &out)
			var ids []int
			for _, ed := range out.Tasks.Edges {
				ids = append(ids, int(ed.Node.ID))
			}
			return ids
		}
		walk := func(dir string, size int) (ids []int, total int) {
			var after *string
			for range 20 {
				var out page
				u.C.MustDo(t, fmt.Sprintf(`query($a: Cursor) { tasks(first: %d, after: $a, orderBy: {field: CREATED_AT, direction: %s}) {
					totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, size, dir), map[string]any{"a": after}, &out)
				for _, ed := range out.Tasks.Edges {
					ids = append(ids, int(ed.Node.ID))
				}
				total = out.Tasks.TotalCount
				if !out.Tasks.PageInfo.HasNextPage {
					return ids, total
				}
				after = out.Tasks.PageInfo.EndCursor
			}
			t.Fatalf("%s pages of %d never end", dir, size)
			return nil, 0
		}
		for _, dir := range []string{"DESC", "ASC"} {
			w := want(dir)
			if len(w) != 8 {
				t.Fatalf("generic %s list has %d tasks, want 8: %v", dir, len(w), w)
			}
			for _, size := range []int{1, 3, 8, 50} {
				got, total := walk(dir, size)
				if !slices.Equal(got, w) || total != 8 {
					t.Errorf("%s in pages of %d: %v (total %d), want %v (total 8)", dir, size, got, total, w)
				}
			}
		}

		// The cached count follows a write, through the engine or not.
		count := func() int {
			var out page
			u.C.MustDo(t, `{ tasks(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount } }`, nil, &out)
			return out.Tasks.TotalCount
		}
		if n := count(); n != 8 {
			t.Fatalf("count %d, want 8", n)
		}
		added := e.mkTask(t, cs.ID, task.StateSUSPENDED, nil, []int{r}, at(30))
		if n := count(); n != 9 {
			t.Fatalf("count after a new task %d, want 9", n)
		}
		// A count taken while a transaction is open must not outlive its commit.
		tx, err := e.db.Tx(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.TaskResponsible.Delete().Where(taskresponsible.TaskID(added.ID)).ExecX(e.ctx)
		if n := count(); n != 9 {
			t.Fatalf("count during the open transaction %d, want 9", n)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 8 {
			t.Fatalf("count after the commit %d, want 8", n)
		}
		delayed := e.mkTask(t, cs.ID, task.StateSUSPENDED, nil, []int{r}, at(31))
		if n := count(); n != 9 {
			t.Fatalf("count after another task %d, want 9", n)
		}
		e.db.Task.UpdateOne(delayed).SetState(task.StateDELAYED).ExecX(e.ctx)
		if n := count(); n != 8 {
			t.Fatalf("count after delaying a task %d, want 8", n)
		}
	})
}
