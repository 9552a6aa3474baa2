package portico_test

import (
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestHiddenTasksAndCases: the seed's HIDE property. A process marked hide starts hidden
// cases and tasks; while PortalHiddenTaskCaseExcluded is true (the default) they are in
// no list, count, search, chart or subscription and not found by id, for anybody; false
// shows them; setTaskHidden / setCaseHidden need their permissions and still find what
// they unhide; the cleanup removes finished hidden cases as PortalDeleteAllFinishedHiddenCases
// says.
func TestHiddenTasksAndCases(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, demo, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo"), srv.Login(t, "bob", "bob")

		create := func(name, subject string, hide bool) string {
			var out struct {
				CreateExpressProcess struct{ Process struct{ ID string } }
			}
			demo.MustDo(t, fmt.Sprintf(`mutation { createExpressProcess(input: {processName: %q, processPermissions: ["Everybody"], hide: %t,
				taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A"], subject: %q, taskPosition: 1}]}) { process { id } } }`, name, hide, subject), nil, &out)
			return out.CreateExpressProcess.Process.ID
		}
		start := func(process string) (caseID, taskID string) {
			var out struct {
				StartProcess struct {
					Case struct{ ID string }
					Task struct{ ID string }
				}
			}
			demo.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: %q}) { case { id } task { id } } }`, process), nil, &out)
			return out.StartProcess.Case.ID, out.StartProcess.Task.ID
		}
		count := func(c *servertest.Client, list, name string) int {
			var out map[string]struct{ TotalCount int }
			c.MustDo(t, fmt.Sprintf(`{ %s(where: {name: %q}) { totalCount } }`, list, name), nil, &out)
			return out[list].TotalCount
		}
		found := func(c *servertest.Client, text string) int {
			var out struct{ Search struct{ TotalCount int } }
			c.MustDo(t, `query($t: String!) { search(text: $t) { totalCount } }`, map[string]any{"t": text}, &out)
			return out.Search.TotalCount
		}
		chart := func(c *servertest.Client) float64 {
			var out struct{ StatisticChart struct{ Total float64 } }
			c.MustDo(t, `{ statisticChart(input: {type: "TASK_BY_PRIORITY"}) { total } }`, nil, &out)
			return out.StatisticChart.Total
		}
		byID := func(c *servertest.Client, id string) bool {
			var out struct{ Node *struct{ ID string } }
			c.MustDo(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, &out)
			return out.Node != nil
		}
		setVar := func(name, value string) {
			admin.MustDo(t, `mutation($n: String!, $v: String!) { setVariable(input: {name: $n, value: $v}) { variable { name } } }`,
				map[string]any{"n": name, "v": value}, nil)
		}
		// sees checks every way of reading the hidden task and case for each client.
		sees := func(step string, want bool, taskID, caseID string) {
			t.Helper()
			w := map[bool]int{true: 1, false: 0}[want]
			for name, c := range map[string]*servertest.Client{"admin": admin, "demo": demo} {
				if n := count(c, "tasks", "Check the payroll"); n != w {
					t.Errorf("%s: %s counts %d hidden tasks, want %d", step, name, n, w)
				}
				if n := count(c, "cases", "Payroll run"); n != w {
					t.Errorf("%s: %s counts %d hidden cases, want %d", step, name, n, w)
				}
				if n := found(c, "payroll"); n != 1+2*w { // the process, the task and its case
					t.Errorf("%s: %s finds %d payroll items, want %d", step, name, n, 1+2*w)
				}
				if got := byID(c, taskID); got != want {
					t.Errorf("%s: %s reads the task by id: %v, want %v", step, name, got, want)
				}
				if got := byID(c, caseID); got != want {
					t.Errorf("%s: %s reads the case by id: %v, want %v", step, name, got, want)
				}
			}
		}

		events := subscribe(t, srv, demo.Token, `subscription { taskUpdated { kind id task { id name state } } }`)
		chartBefore := chart(admin)
		hiddenCase, hiddenTask := start(create("Payroll run", "Check the payroll", true))
		_, _ = start(create("Open books", "Check the books", false))
		// The subscriber gets the visible task's event first: the hidden one sent none.
		if kind, name := events.event(); kind != "CREATED" || name != "Check the books" {
			t.Errorf("first event %s %q: want CREATED of the visible task", kind, name)
		}
		sees("excluded (the default)", false, hiddenTask, hiddenCase)
		if got := chart(admin); got != chartBefore+1 {
			t.Errorf("chart total %v, want %v (the visible task only)", got, chartBefore+1)
		}

		setVar("PortalHiddenTaskCaseExcluded", "false")
		sees("not excluded", true, hiddenTask, hiddenCase)
		if got := chart(admin); got != chartBefore+2 {
			t.Errorf("chart total with hidden ones shown %v, want %v", got, chartBefore+2)
		}
		setVar("PortalHiddenTaskCaseExcluded", "") // back to its default, true
		sees("excluded again", false, hiddenTask, hiddenCase)

		// Setting the flag needs its permission; nobody else learns of the hidden task.
		for _, tt := range []struct {
			name string
			c    *servertest.Client
			q    string
			id   any
			code string
		}{
			{"demo without TaskWriteHidden", demo, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: false}) { task { id } } }`, hiddenTask, "FORBIDDEN"},
			{"bob without CaseWriteHidden", bob, `mutation($id: ID!) { setCaseHidden(input: {id: $id, hidden: false}) { case { id } } }`, hiddenCase, "FORBIDDEN"},
			{"no token", srv.Client(), `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: false}) { task { id } } }`, hiddenTask, "UNAUTHENTICATED"},
			{"an id that is not one", admin, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: true}) { task { id } } }`, "') OR 1=1 --", "BAD_USER_INPUT"},
			{"a negative id", admin, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: true}) { task { id } } }`, "-9223372036854775808", "NOT_FOUND"},
			{"a case id as a task", admin, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: true}) { task { id } } }`, hiddenCase, "NOT_FOUND"},
		} {
			if code := tt.c.Do(t, tt.q, map[string]any{"id": tt.id}).Code(); code != tt.code {
				t.Errorf("%s: %q, want %q", tt.name, code, tt.code)
			}
		}

		// An administrator unhides the case, and its task with it, while excluded.
		var unhidden struct {
			SetCaseHidden struct{ Case struct{ Hidden bool } }
		}
		admin.MustDo(t, `mutation($id: ID!) { setCaseHidden(input: {id: $id, hidden: false}) { case { hidden } } }`, map[string]any{"id": hiddenCase}, &unhidden)
		if unhidden.SetCaseHidden.Case.Hidden {
			t.Error("setCaseHidden false answered hidden: true")
		}
		sees("unhidden", true, hiddenTask, hiddenCase)
		admin.MustDo(t, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: true}) { task { id } } }`, map[string]any{"id": hiddenTask}, nil)
		if n := count(demo, "tasks", "Check the payroll"); n != 0 {
			t.Errorf("a task hidden by setTaskHidden: demo counts %d", n)
		}
		if n := count(demo, "cases", "Payroll run"); n != 1 {
			t.Errorf("hiding a task leaves its case: demo counts %d cases", n)
		}
		admin.MustDo(t, `mutation($id: ID!) { setTaskHidden(input: {id: $id, hidden: false}) { task { id } } }`, map[string]any{"id": hiddenTask}, nil)
		if n := count(demo, "tasks", "Check the payroll"); n != 1 {
			t.Errorf("setTaskHidden false found the hidden task? demo counts %d", n)
		}

		// The cleanup: finished hidden cases go, those the portal made unless told "all".
		admin.MustDo(t, `mutation($id: ID!) { destroyCase(input: {id: $id}) { case { id } } }`, map[string]any{"id": hiddenCase}, nil)
		admin.MustDo(t, `mutation($id: ID!) { setCaseHidden(input: {id: $id, hidden: true}) { case { id } } }`, map[string]any{"id": hiddenCase}, nil)
		var demoCase struct {
			Cases struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ cases(where: {name: "Leave request: demo, 3 days"}) { edges { node { id } } } }`, nil, &demoCase)
		if len(demoCase.Cases.Edges) != 1 {
			t.Fatalf("the demo case: %+v", demoCase)
		}
		other := demoCase.Cases.Edges[0].Node.ID // made by the demo data, not by the portal
		admin.MustDo(t, `mutation($id: ID!) { destroyCase(input: {id: $id}) { case { id } } }`, map[string]any{"id": other}, nil)
		admin.MustDo(t, `mutation($id: ID!) { setCaseHidden(input: {id: $id, hidden: true}) { case { id } } }`, map[string]any{"id": other}, nil)
		cleanup := func(dry bool) int {
			var out struct{ RunCleanup struct{ HiddenCases int } }
			admin.MustDo(t, fmt.Sprintf(`mutation { runCleanup(input: {dryRun: %t}) { hiddenCases } }`, dry), nil, &out)
			return out.RunCleanup.HiddenCases
		}
		if n := cleanup(true); n != 1 {
			t.Errorf("dry run: %d hidden cases, want 1 (the portal's)", n)
		}
		if n := cleanup(false); n != 1 {
			t.Errorf("cleanup removed %d hidden cases, want 1 (the portal's)", n)
		}
		setVar("PortalHiddenTaskCaseExcluded", "false")
		if byID(admin, hiddenCase) || byID(admin, hiddenTask) {
			t.Error("the portal's finished hidden case or its task is still there")
		}
		if !byID(admin, other) {
			t.Error("the demo data's hidden case went although PortalDeleteAllFinishedHiddenCases is false")
		}
		setVar("PortalDeleteAllFinishedHiddenCases", "true")
		if n := cleanup(false); n != 1 {
			t.Errorf("cleanup of all: %d hidden cases, want 1", n)
		}
		if byID(admin, other) {
			t.Error("the demo data's finished hidden case is still there")
		}
	})
}
