package workflow_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestCaseOwnerDelegates: the owner of a case delegates its tasks with
// CaseOwnerTaskDelegate and without the task permissions; without it, or on a case
// another user owns, FORBIDDEN.
func TestCaseOwnerDelegates(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		admin, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "bob", "bob")
		bobID := c.User.Query().Where(user.Name("bob")).OnlyIDX(ctx)
		carolID := c.User.Query().Where(user.Name("carol")).OnlyIDX(ctx)
		dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		grant := func(op, perm string) {
			admin.MustDo(t, fmt.Sprintf(`mutation { %s(input: {permission: "%s", userId: "%d"}) { ok } }`, op, perm, bobID), nil, nil)
		}
		grant("grantPermission", "TaskReadAll") // bob sees every task: only the delegation rules decide
		grant("denyPermission", "TaskWriteActivator")
		grant("denyPermission", "TaskWriteActivatorOwnTasks")
		grant("denyPermission", "CaseOwnerTaskDelegate")
		taskOf := func(owner int) *ent.Task {
			cs := c.BusinessCase.Create().SetName("owned case").SetState(businesscase.StateRUNNING).SetOwnerID(owner).SaveX(ctx)
			tk := c.Task.Create().SetName("owned task").SetCaseID(cs.ID).SetState(task.StateSUSPENDED).SaveX(ctx)
			c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(carolID).ExecX(ctx)
			return tk
		}
		mine, theirs := taskOf(bobID), taskOf(carolID)
		delegate := func(tk *ent.Task) string {
			r := bob.Do(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%d", roleIds: ["%d"]}) { task { id } } }`, tk.ID, dev), nil)
			return r.Code()
		}
		if code := delegate(mine); code != "FORBIDDEN" {
			t.Fatalf("owner without CaseOwnerTaskDelegate: code %q, want FORBIDDEN", code)
		}
		grant("revokePermission", "CaseOwnerTaskDelegate")
		grant("grantPermission", "CaseOwnerTaskDelegate")
		if code := delegate(mine); code != "" {
			t.Fatalf("owner with CaseOwnerTaskDelegate: code %q, want success", code)
		}
		if got := c.Task.Query().Where(task.ID(mine.ID)).QueryResponsibles().OnlyX(ctx); got.RoleID == nil || *got.RoleID != dev {
			t.Fatalf("the owner's delegation did not land: %+v", got)
		}
		if code := delegate(theirs); code != "FORBIDDEN" {
			t.Fatalf("a task of a case carol owns: code %q, want FORBIDDEN", code)
		}
	})
}

// TestDelegateTwiceIsOneChange: delegating to the responsibles a task has already writes
// no second event or note; a comment reaches the history verbatim, a long one is refused.
func TestDelegateTwiceIsOneChange(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		admin := srv.Login(t, "admin", "admin")
		alice := c.User.Query().Where(user.Name("alice")).OnlyIDX(ctx)
		tk := newTask(t, c, task.StateSUSPENDED, nil)
		hostile := `it's urgent') OR 1=1 -- "quoted" <b>`
		q := `mutation($id: ID!, $users: [ID!], $comment: String) { delegateTask(input: {id: $id, userIds: $users, comment: $comment}) { task { id } } }`
		vars := map[string]any{"id": fmt.Sprint(tk.ID), "users": []string{fmt.Sprint(alice), fmt.Sprint(alice)}, "comment": hostile}
		admin.MustDo(t, q, vars, nil)
		admin.MustDo(t, q, vars, nil)
		events := c.WorkflowEvent.Query().Where(workflowevent.TaskID(tk.ID), workflowevent.Kind("DELEGATED")).CountX(ctx)
		notes := c.Note.Query().Where(note.TaskID(tk.ID), note.System(true)).AllX(ctx)
		if events != 1 || len(notes) != 1 {
			t.Fatalf("two equal delegations: %d DELEGATED events and %d system notes, want 1 and 1", events, len(notes))
		}
		if !strings.Contains(notes[0].Content, hostile) {
			t.Errorf("the note %q lacks the comment", notes[0].Content)
		}
		vars["users"] = []string{fmt.Sprint(alice)}
		vars["comment"] = strings.Repeat("é", 2001)
		if code := admin.Do(t, q, vars).Code(); code != "BAD_USER_INPUT" {
			t.Errorf("a comment of 2,001 characters: code %q, want BAD_USER_INPUT", code)
		}
		vars["comment"] = nil
		vars["users"] = []string{"999999999"}
		if code := admin.Do(t, q, vars).Code(); code != "BAD_USER_INPUT" {
			t.Errorf("an unknown user: code %q, want BAD_USER_INPUT", code)
		}
		if n := c.WorkflowEvent.Query().Where(workflowevent.TaskID(tk.ID), workflowevent.Kind("DELEGATED")).CountX(ctx); n != 1 {
			t.Errorf("refused delegations left %d DELEGATED events, want 1", n)
		}
	})
}
