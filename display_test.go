package portico_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestDisplayPermissions: a UI's one answer per action (allowed, shown, why not), the
// viewer's menu, and TaskCaseShowMoreNote enforced on notes and the case history; each
// changes when its permission is denied.
func TestDisplayPermissions(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		admin, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "bob", "bob")
		bobID := c.User.Query().Where(user.Name("bob")).OnlyIDX(ctx)
		perm := func(op, p string) {
			admin.MustDo(t, fmt.Sprintf(`mutation { %s(input: {permission: "%s", userId: "%d"}) { ok } }`, op, p, bobID), nil, nil)
		}
		cs := c.BusinessCase.Create().SetName("display case").SetState(businesscase.StateRUNNING).SetOwnerID(bobID).SaveX(ctx)
		tk := c.Task.Create().SetName("display task").SetCaseID(cs.ID).SetState(task.StateRESUMED).SetWorkerID(bobID).SaveX(ctx)
		c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(bobID).ExecX(ctx)
		for i := range 3 {
			c.Note.Create().SetContent(fmt.Sprintf("note %d", i)).SetTaskID(tk.ID).SetCaseID(cs.ID).SetAuthorID(bobID).ExecX(ctx)
		}
		perm("grantPermission", "TaskReset")
		type state struct {
			Action  string
			Allowed bool
			Shown   bool
			Reason  *string
		}
		actions := func() (map[string]state, map[string]state) {
			var out struct {
				Node struct {
					Actions []state
					Case    struct{ Actions []state }
				}
			}
			bob.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { actions { action allowed shown reason } case { actions { action allowed shown reason } } } } }`,
				map[string]any{"id": fmt.Sprint(tk.ID)}, &out)
			tm, cm := map[string]state{}, map[string]state{}
			for _, s := range out.Node.Actions {
				tm[s.Action] = s
			}
			for _, s := range out.Node.Case.Actions {
				cm[s.Action] = s
			}
			return tm, cm
		}
		tm, cm := actions()
		if r := tm["RESET"]; !r.Allowed || !r.Shown || r.Reason != nil {
			t.Fatalf("RESET with TaskReset and the display permissions: %+v", r)
		}
		if s := tm["START"]; s.Allowed || s.Shown || s.Reason == nil || !strings.Contains(*s.Reason, "state RESUMED") {
			t.Errorf("START of a RESUMED task: %+v, want not allowed, with the state in the reason", s)
		}
		if s := cm["SHOW_TASKS"]; s.Allowed && s.Shown {
			t.Errorf("SHOW_TASKS shown without ShowAllTasksOfCase: %+v", s)
		}
		perm("denyPermission", "TaskDisplayResetAction")
		perm("grantPermission", "ShowAllTasksOfCase")
		tm, cm = actions()
		if r := tm["RESET"]; !r.Allowed || r.Shown || r.Reason == nil || !strings.Contains(*r.Reason, "TaskDisplayResetAction") {
			t.Errorf("RESET without TaskDisplayResetAction: %+v, want allowed, not shown, naming the permission", r)
		}
		if s := cm["SHOW_TASKS"]; s.Allowed && !s.Shown {
			t.Errorf("SHOW_TASKS with ShowAllTasksOfCase: %+v", s)
		}
		perm("denyPermission", "TaskDisplayAdditionalOptions")
		tm, _ = actions()
		for _, a := range []string{"RESET", "RESERVE", "DELEGATE", "DESTROY"} {
			if tm[a].Shown {
				t.Errorf("%s shown without TaskDisplayAdditionalOptions: %+v", a, tm[a])
			}
		}
		if !tm["COMPLETE"].Shown {
			t.Errorf("COMPLETE hidden by the additional-options menu: %+v", tm["COMPLETE"])
		}

		// Custom fields are read under their display permission.
		c.Task.UpdateOne(tk).SetCustomFields(map[string]any{"region": "EU"}).ExecX(ctx)
		c.BusinessCase.UpdateOne(cs).SetCustomFields(map[string]any{"costCenter": "CC-7"}).ExecX(ctx)
		fields := func() (map[string]any, map[string]any) {
			var out struct {
				Node struct {
					CustomFields map[string]any
					Case         struct{ CustomFields map[string]any }
				}
			}
			bob.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { customFields case { customFields } } } }`,
				map[string]any{"id": fmt.Sprint(tk.ID)}, &out)
			return out.Node.CustomFields, out.Node.Case.CustomFields
		}
		if tf, cf := fields(); tf != nil || cf != nil {
			t.Errorf("custom fields without their display permissions: %v, %v", tf, cf)
		}
		perm("grantPermission", "TaskDisplayCustomFieldsAction")
		perm("grantPermission", "CaseDisplayCustomFieldsAction")
		if tf, cf := fields(); tf["region"] != "EU" || cf["costCenter"] != "CC-7" {
			t.Errorf("custom fields with their display permissions: %v, %v", tf, cf)
		}

		// The menu.
		menu := func() map[string]bool {
			var out struct{ ViewerMenu map[string]bool }
			bob.MustDo(t, `{ viewerMenu { tasks cases processes moreNotes roleManager } }`, nil, &out)
			return out.ViewerMenu
		}
		if m := menu(); !m["tasks"] || !m["cases"] || m["roleManager"] {
			t.Errorf("bob's menu %v", m)
		}
		perm("denyPermission", "AccessFullTaskList")
		if m := menu(); m["tasks"] || !m["cases"] {
			t.Errorf("bob's menu without AccessFullTaskList: %v", m)
		}
		// The full lists follow the menu; the task itself stays readable by id.
		if code := bob.Do(t, `{ tasks { totalCount } }`, nil).Code(); code != "FORBIDDEN" {
			t.Errorf("the full task list without AccessFullTaskList: %q, want FORBIDDEN", code)
		}
		if code := bob.Do(t, `{ cases { totalCount } }`, nil).Code(); code != "" {
			t.Errorf("the full case list with AccessFullCaseList: %q", code)
		}
		if code := bob.Do(t, fmt.Sprintf(`{ node(id: "%d") { id } }`, tk.ID), nil).Code(); code != "" {
			t.Errorf("bob's own task by id without the full list: %q", code)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/tasks.xlsx", nil)
		req.Header.Set("Authorization", "Bearer "+bob.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("the task export without AccessFullTaskList: HTTP %d, want 403", resp.StatusCode)
		}
		perm("denyPermission", "AccessFullProcessList")
		if code := bob.Do(t, `{ processes { totalCount } }`, nil).Code(); code != "FORBIDDEN" {
			t.Errorf("the full process list without AccessFullProcessList: %q, want FORBIDDEN", code)
		}
		if code := srv.Client().Do(t, `{ viewerMenu { tasks } }`, nil).Code(); code != "UNAUTHENTICATED" {
			t.Errorf("the menu without a token: %q", code)
		}

		// Notes past the newest.
		notes := func(args string) (int, int, string) {
			var out struct {
				Node struct {
					Notes struct {
						TotalCount int
						Edges      []struct{ Node struct{ Content string } }
					}
				}
			}
			r := bob.Do(t, fmt.Sprintf(`query($id: ID!) { node(id: $id) { ... on Task { notes%s { totalCount edges { node { content } } } } } }`, args),
				map[string]any{"id": fmt.Sprint(tk.ID)})
			if r.Code() != "" {
				return 0, 0, r.Code()
			}
			if err := json.Unmarshal(r.Data, &out); err != nil {
				t.Fatal(err)
			}
			return len(out.Node.Notes.Edges), out.Node.Notes.TotalCount, ""
		}
		if n, total, _ := notes("(first: 10)"); n != 3 || total != 3 {
			t.Errorf("with TaskCaseShowMoreNote: %d of %d notes, want 3 of 3", n, total)
		}
		perm("denyPermission", "TaskCaseShowMoreNote")
		if n, total, _ := notes("(first: 10)"); n != 1 || total != 3 {
			t.Errorf("without TaskCaseShowMoreNote: %d of %d notes, want 1 of 3", n, total)
		}
		if _, _, code := notes("(last: 2)"); code != "FORBIDDEN" {
			t.Errorf("paging notes without TaskCaseShowMoreNote: %q, want FORBIDDEN", code)
		}
		var hist struct {
			Node struct {
				History []struct {
					Typename string `json:"__typename"`
				}
			}
		}
		bob.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Case { history { __typename } } } }`, map[string]any{"id": fmt.Sprint(cs.ID)}, &hist)
		n := 0
		for _, h := range hist.Node.History {
			if h.Typename == "Note" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the case history shows %d notes without TaskCaseShowMoreNote, want 1", n)
		}
	})
}
