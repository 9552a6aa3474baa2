package portico_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestFieldsAUIRenders: a task's expiry responsibles and expiry priority, as updateTask
// set them, and a case's business state, read through GraphQL.
func TestFieldsAUIRenders(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		admin := srv.Login(t, "admin", "admin")
		cs := c.BusinessCase.Create().SetName("fields case").SetState(businesscase.StateDONE).SaveX(ctx)
		tk := c.Task.Create().SetName("fields task").SetCaseID(cs.ID).SaveX(ctx)
		alice := c.User.Query().Where(user.Name("alice")).OnlyIDX(ctx)
		dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		admin.MustDo(t, `mutation($in: UpdateTaskInput!) { updateTask(input: $in) { task { id } } }`, map[string]any{"in": map[string]any{
			"id": fmt.Sprint(tk.ID), "expiryTimestamp": time.Now().Add(time.Hour).Format(time.RFC3339),
			"expiryUserIds": []string{fmt.Sprint(alice)}, "expiryRoleIds": []string{fmt.Sprint(dev)}, "expiryPriority": "HIGH",
		}}, nil)
		var out struct {
			Node struct {
				ExpiryPriority     string
				Responsibles       []struct{ Name string }
				ExpiryResponsibles []struct{ Name string }
				Case               struct{ BusinessState string }
			}
		}
		admin.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { expiryPriority
			responsibles { ... on User { name } ... on Role { name } }
			expiryResponsibles { ... on User { name } ... on Role { name } }
			case { businessState } } } }`, map[string]any{"id": fmt.Sprint(tk.ID)}, &out)
		var names []string
		for _, r := range out.Node.ExpiryResponsibles {
			names = append(names, r.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Development", "alice"}) || len(out.Node.Responsibles) != 0 {
			t.Errorf("expiry responsibles %v and responsibles %v, want [Development alice] and none", names, out.Node.Responsibles)
		}
		if out.Node.ExpiryPriority != "HIGH" || out.Node.Case.BusinessState != "DONE" {
			t.Errorf("expiryPriority %q, case businessState %q; want HIGH, DONE", out.Node.ExpiryPriority, out.Node.Case.BusinessState)
		}
		// Errors say the action in words, not as its enum name.
		done := c.Task.Create().SetName("done task").SetCaseID(cs.ID).SetState(task.StateDONE).SaveX(ctx)
		r := admin.Do(t, fmt.Sprintf(`mutation { updateTask(input: {id: "%d", description: "x"}) { task { id } } }`, done.ID), nil)
		want := "cannot change the description of a task in state DONE"
		if r.Code() != "CONFLICT" || len(r.Errors) == 0 || !strings.HasPrefix(r.Errors[0].Message, want) {
			t.Errorf("describing a done task: %+v, want CONFLICT starting %q", r.Errors, want)
		}
		bob := srv.Login(t, "bob", "bob")
		r = bob.Do(t, fmt.Sprintf(`mutation { updateTask(input: {id: "%d", description: "x"}) { task { id } } }`, tk.ID), nil)
		if r.Code() == "FORBIDDEN" && !strings.HasPrefix(r.Errors[0].Message, "to change the description of a task you need ") {
			t.Errorf("bob describing a task: %q", r.Errors[0].Message)
		}
	})
}
