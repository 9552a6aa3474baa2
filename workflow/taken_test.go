package workflow_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestTakenTask: a task one responsible reserved or works on cannot be started or
// reserved by another responsible of the same role.
func TestTakenTask(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		bob := c.User.Query().Where(user.Name("bob")).OnlyIDX(ctx)
		for _, state := range []task.State{task.StatePARKED, task.StateRESUMED} {
			tk := newTask(t, c, state, func(q *ent.TaskCreate) { q.SetWorkerID(bob) })
			c.TaskResponsible.Create().SetTaskID(tk.ID).SetRoleID(dev).ExecX(ctx)
			carol := srv.Login(t, "carol", "carol") // in Development, like bob
			for _, m := range []string{"startTask", "reserveTask"} {
				r := carol.Do(t, fmt.Sprintf(`mutation { %s(input: {id: "%d"}) { task { state } } }`, m, tk.ID), nil)
				if r.Code() != "FORBIDDEN" {
					t.Errorf("%s on a %s task taken by bob: code %q, want FORBIDDEN", m, state, r.Code())
				}
			}
			if got := c.Task.GetX(ctx, tk.ID); got.WorkerID == nil || *got.WorkerID != bob || got.State != state {
				t.Errorf("%s task changed hands: %+v", state, got)
			}
		}
	})
}

// TestWorkedOnCaseStaysVisible: a user who worked on a task of a case keeps seeing the
// case's tasks (TaskReadOwnCaseTasks) after the task was reset and given to others.
func TestWorkedOnCaseStaysVisible(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		holidays := c.Task.Query().Where(task.Name("Check remaining holidays")).OnlyX(ctx)
		alice, admin := srv.Login(t, "alice", "alice"), srv.Login(t, "admin", "admin")
		var devID struct{ Role struct{ ID string } }
		admin.MustDo(t, `{ role(name: "Team B") { id } }`, nil, &devID)
		count := func() int {
			var out struct{ Tasks struct{ TotalCount int } }
			alice.MustDo(t, `{ tasks { totalCount } }`, nil, &out)
			return out.Tasks.TotalCount
		}
		if n := count(); n != 1 {
			t.Fatalf("alice sees %d tasks before working, want her group's 1", n)
		}
		alice.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%d"}) { task { id } } }`, holidays.ID), nil, nil)
		admin.MustDo(t, fmt.Sprintf(`mutation { resetTask(input: {id: "%d"}) { task { id } } }`, holidays.ID), nil, nil)
		admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%d", roleIds: ["%s"]}) { task { id } } }`, holidays.ID, devID.Role.ID), nil, nil)
		if n := count(); n != 3 {
			t.Fatalf("alice, who worked on the demo case, sees %d tasks, want all 3 of the case", n)
		}
	})
}
