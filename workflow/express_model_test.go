package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/mail/mailtest"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestExpressProcessModel: co-owners manage a process with its owner, ableToEdit false
// leaves changes to administrators, processOwner names another owner only for an
// administrator, and startProcess takes a case name and start data.
func TestExpressProcessModel(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		demo, bob, carol, admin := srv.Login(t, "demo", "demo"), srv.Login(t, "bob", "bob"), srv.Login(t, "carol", "carol"), srv.Login(t, "admin", "admin")
		create := func(c *servertest.Client, extra string) (string, string) {
			r := c.Do(t, `mutation { createExpressProcess(input: {processName: "Model", processPermissions: ["Everybody"], `+extra+
				` taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A"], subject: "Do it", taskPosition: 1}]}) { process { id } } }`, nil)
			var out struct {
				CreateExpressProcess struct{ Process struct{ ID string } }
			}
			if r.Code() == "" {
				if err := json.Unmarshal(r.Data, &out); err != nil {
					t.Fatal(err)
				}
			}
			return out.CreateExpressProcess.Process.ID, r.Code()
		}
		update := func(c *servertest.Client, id string) string {
			return c.Do(t, fmt.Sprintf(`mutation { updateExpressProcess(input: {processId: "%s", definition: {processName: "Changed", processPermissions: ["Everybody"], taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A"], subject: "Do it", taskPosition: 1}]}}) { process { name } } }`, id), nil).Code()
		}
		shared, _ := create(demo, `processCoOwners: ["#bob externalId:7"],`)
		if code := update(bob, shared); code != "" {
			t.Errorf("a co-owner changing it: %q", code)
		}
		if code := update(carol, shared); code != "FORBIDDEN" {
			t.Errorf("carol, neither owner nor co-owner: %q, want FORBIDDEN", code)
		}
		locked, _ := create(demo, `ableToEdit: false,`)
		if code := update(demo, locked); code != "FORBIDDEN" {
			t.Errorf("the owner changing a process with ableToEdit false: %q, want FORBIDDEN", code)
		}
		if code := update(admin, locked); code != "" {
			t.Errorf("an administrator changing it: %q", code)
		}
		if _, code := create(demo, `processOwner: "#bob",`); code != "FORBIDDEN" {
			t.Errorf("demo naming bob the owner: %q, want FORBIDDEN", code)
		}
		if _, code := create(admin, `processOwner: "#nobody-here",`); code != "BAD_USER_INPUT" {
			t.Errorf("an unknown owner: %q, want BAD_USER_INPUT", code)
		}
		bobs, code := create(admin, `processOwner: "#bob",`)
		if code != "" {
			t.Fatalf("admin naming bob the owner: %q", code)
		}
		if code := bob.Do(t, fmt.Sprintf(`mutation { deleteExpressProcess(input: {id: "%s"}) { ok } }`, bobs), nil).Code(); code != "" {
			t.Errorf("bob, the named owner, deleting it: %q", code)
		}

		// startProcess with a case name and start data.
		start := func(vars map[string]any) *servertest.Response {
			vars["p"] = shared
			return demo.Do(t, `mutation($p: ID!, $n: String, $d: Map) { startProcess(input: {processId: $p, caseName: $n, data: $d}) { case { name customFields } } }`, vars)
		}
		var out struct {
			StartProcess struct {
				Case struct {
					Name         string
					CustomFields map[string]any
				}
			}
		}
		r := start(map[string]any{"n": "Trip to Lisbon", "d": map[string]any{"region": "EU", "amount": 1200, "due": "2026-12-06T10:00:00+01:00"}})
		if r.Code() != "" {
			t.Fatalf("start with a name and data: %+v", r.Errors)
		}
		if err := json.Unmarshal(r.Data, &out); err != nil {
			t.Fatal(err)
		}
		if out.StartProcess.Case.Name != "Trip to Lisbon" {
			t.Errorf("case name %q", out.StartProcess.Case.Name)
		}
		var cf struct {
			Cases struct {
				Edges []struct {
					Node struct{ CustomFields map[string]any }
				}
			}
		}
		admin.MustDo(t, `{ cases(where: {name: "Trip to Lisbon"}) { edges { node { customFields } } } }`, nil, &cf)
		if len(cf.Cases.Edges) != 1 || cf.Cases.Edges[0].Node.CustomFields["region"] != "EU" || cf.Cases.Edges[0].Node.CustomFields["due"] != "2026-12-06T09:00:00Z" {
			t.Errorf("the case's custom fields: %+v", cf.Cases.Edges)
		}
		many := map[string]any{}
		for i := range 51 {
			many[fmt.Sprintf("f%d", i)] = i
		}
		for _, bad := range []map[string]any{
			{"n": strings.Repeat("x", 501)},
			{"d": map[string]any{"a'b": "x"}},
			{"d": map[string]any{"nested": map[string]any{"x": 1}}},
			{"d": map[string]any{"urgent": true}}, // custom fields are texts, numbers and dates
			{"d": map[string]any{"long": strings.Repeat("y", 2001)}},
			{"d": many},
		} {
			if code := start(bad).Code(); code != "BAD_USER_INPUT" {
				t.Errorf("start with %.60v: %q, want BAD_USER_INPUT", bad, code)
			}
		}
	})
}

// TestUserTaskWithEmailSends: a USER_TASK_WITH_EMAIL step creates its task and sends its
// message once the start commits; one without a message is refused.
func TestUserTaskWithEmailSends(t *testing.T) {
	addr, all := mailtest.Server(t)
	msgs := stepMails(all)
	srv := servertest.Start(t, "sqlite", portico.Config{Demo: true, SMTPURL: "smtp://" + addr + "?from=portal@example.com"})
	demo := srv.Login(t, "demo", "demo")
	step := `{type: "USER_TASK_WITH_EMAIL", responsibles: ["Team A"], subject: "Review", taskPosition: 1%s}`
	r := demo.Do(t, `mutation { createExpressProcess(input: {processName: "No mail", taskDefinitions: [`+fmt.Sprintf(step, "")+`]}) { process { id } } }`, nil)
	if r.Code() != "BAD_USER_INPUT" {
		t.Errorf("a USER_TASK_WITH_EMAIL step without email: %q, want BAD_USER_INPUT", r.Code())
	}
	var created struct {
		CreateExpressProcess struct{ Process struct{ ID string } }
	}
	demo.MustDo(t, `mutation { createExpressProcess(input: {processName: "With mail", processPermissions: ["Everybody"], taskDefinitions: [`+
		fmt.Sprintf(step, `, email: {recipients: "team-a@example.com", subject: "Please review", content: "<p>A review waits</p>"}`)+`]}) { process { id } } }`, nil, &created)
	var started struct {
		StartProcess struct{ Task struct{ Name string } }
	}
	demo.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { name } } }`, created.CreateExpressProcess.Process.ID), nil, &started)
	if started.StartProcess.Task.Name != "Review" {
		t.Errorf("the step's task: %+v", started.StartProcess.Task)
	}
	select {
	case m := <-msgs:
		if !strings.Contains(m, "To: team-a@example.com") || !strings.Contains(m, "Please review") {
			t.Fatalf("unexpected mail:\n%s", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10 s of the start")
	}
}

// TestStartedTaskResponsibles: a task a process step creates gets each responsible
// once, named twice or not, with the task's flags and creation time copied onto the
// rows (what the SQL visibility predicate and the newest-first order read), though the
// step sets them itself instead of having the hook read the task back.
func TestStartedTaskResponsibles(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		var created struct {
			CreateExpressProcess struct{ Process struct{ ID string } }
		}
		admin.MustDo(t, `mutation { createExpressProcess(input: {processName: "Twice", processPermissions: ["Everybody"],
			taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A", "#bob", "Team A", "#bob"], subject: "Do it", taskPosition: 1}]}) { process { id } } }`, nil, &created)
		var started struct {
			StartProcess struct{ Task struct{ ID string } }
		}
		admin.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, created.CreateExpressProcess.Process.ID), nil, &started)
		id, err := strconv.Atoi(started.StartProcess.Task.ID)
		if err != nil {
			t.Fatal(err)
		}
		sys := policy.SystemContext(context.Background())
		tk := srv.DB.Client.Task.GetX(sys, id)
		rows := srv.DB.Client.TaskResponsible.Query().Where(taskresponsible.TaskID(id)).AllX(sys)
		if len(rows) != 2 {
			t.Fatalf("%d responsible rows, want 2 (Team A and bob, once each)", len(rows))
		}
		for _, r := range rows {
			if r.Expiry || r.Delayed || r.System != tk.System || !r.TaskCreatedAt.Equal(tk.CreatedAt) {
				t.Errorf("responsible row %+v does not copy task %d (system %v, created %v)", r, id, tk.System, tk.CreatedAt)
			}
		}
		bob := srv.Login(t, "bob", "bob")
		var list struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		bob.MustDo(t, `{ tasks(first: 1, orderBy: [{field: CREATED_AT, direction: DESC}]) { edges { node { id } } } }`, nil, &list)
		if len(list.Tasks.Edges) == 0 || list.Tasks.Edges[0].Node.ID != started.StartProcess.Task.ID {
			t.Errorf("bob's newest task is %+v, want the one just started (%s)", list.Tasks.Edges, started.StartProcess.Task.ID)
		}
	})
}
