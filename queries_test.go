package portico_test

import (
	"context"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestTaskListQueryCount: listing tasks with their responsibles and allowedActions runs
// about the same number of SQL statements for 3 tasks as for 43 (no query per task).
func TestTaskListQueryCount(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialectName string) {
		var n atomic.Int64
		srv := servertest.Start(t, dialectName, portico.Config{Demo: true, WrapDriver: func(d dialect.Driver) dialect.Driver {
			return dialect.DebugWithContext(d, func(context.Context, ...any) { n.Add(1) })
		}})
		admin := srv.Login(t, "admin", "admin")
		query := `{ tasks(first: 100) { totalCount edges { node { id name allowedActions responsibles { ... on User { name } ... on Role { name } } } } } }`
		count := func() (int64, int) {
			var out struct{ Tasks struct{ TotalCount int } }
			before := n.Load()
			admin.MustDo(t, query, nil, &out)
			return n.Load() - before, out.Tasks.TotalCount
		}
		few, total := count()
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		cs := c.BusinessCase.Create().SetName("many").SetState(businesscase.StateRUNNING).SaveX(ctx)
		for i := 0; i < 40; i++ {
			tk := c.Task.Create().SetName("t").SetCaseID(cs.ID).SaveX(ctx)
			c.TaskResponsible.Create().SetTaskID(tk.ID).SetRoleID(dev).ExecX(ctx)
		}
		many, total2 := count()
		if total2 != total+40 {
			t.Fatalf("totalCount %d then %d", total, total2)
		}
		// Batches are gathered over a couple of milliseconds, so a loaded machine may split
		// one into two; a query per task would add 80 statements here.
		if many > few+10 {
			t.Fatalf("%d statements for %d tasks, %d for %d: something is loaded per task", few, total, many, total2)
		}
		t.Logf("%d statements per task list request", many)
	})
}
