package workflow_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestDestroyingTheLastOpenTaskEndsTheCase: a case whose last open task is destroyed
// ends, DONE when one of its tasks was done and DESTROYED otherwise; a case with another
// open task (a FAILED one counts) stays RUNNING.
func TestDestroyingTheLastOpenTaskEndsTheCase(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		bob := srv.Login(t, "bob", "bob")
		bobID := c.User.Query().Where(user.Name("bob")).OnlyIDX(ctx)
		srv.Login(t, "admin", "admin").MustDo(t, fmt.Sprintf(`mutation { grantPermission(input: {permission: "TaskDestroy", userId: "%d"}) { ok } }`, bobID), nil, nil)
		for _, tc := range []struct {
			others []task.State
			want   businesscase.State
		}{
			{nil, businesscase.StateDESTROYED},
			{[]task.State{task.StateDONE, task.StateDESTROYED}, businesscase.StateDONE},
			{[]task.State{task.StateSUSPENDED}, businesscase.StateRUNNING},
			{[]task.State{task.StateFAILED}, businesscase.StateRUNNING},
		} {
			cs := c.BusinessCase.Create().SetName("case").SetState(businesscase.StateRUNNING).SaveX(ctx)
			for _, st := range tc.others {
				c.Task.Create().SetName("other").SetCaseID(cs.ID).SetState(st).ExecX(ctx)
			}
			tk := c.Task.Create().SetName("last").SetCaseID(cs.ID).SetState(task.StateSUSPENDED).SaveX(ctx)
			c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(bobID).ExecX(ctx)
			bob.MustDo(t, fmt.Sprintf(`mutation { destroyTask(input: {id: "%d"}) { task { state } } }`, tk.ID), nil, nil)
			got := c.BusinessCase.GetX(ctx, cs.ID)
			if got.State != tc.want || (tc.want != businesscase.StateRUNNING) != (got.EndedAt != nil) {
				t.Errorf("others %v: the case is %s (ended %v), want %s", tc.others, got.State, got.EndedAt, tc.want)
			}
		}
	})
}
