package portico_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestCustomFields: setTaskCustomFields / setCaseCustomFields under their permissions,
// typed and bounded values, hostile names and values refused, reading under the display
// permissions, completion data becoming custom fields, and the new values found at once
// by the lists (the in-memory index), charts and dashboard widgets.
func TestCustomFields(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, demo, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo"), srv.Login(t, "bob", "bob")

		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		demo.MustDo(t, `{ processes(where: {name: "Leave request"}) { edges { node { id } } } }`, nil, &procs)
		var started struct {
			StartProcess struct {
				Case struct{ ID string }
				Task struct{ ID string }
			}
		}
		demo.MustDo(t, `mutation($p: ID!) { startProcess(input: {processId: $p, caseName: "CF trip", data: {region: "EU"}}) { case { id } task { id } } }`,
			map[string]any{"p": procs.Processes.Edges[0].Node.ID}, &started)
		caseID, taskID := started.StartProcess.Case.ID, started.StartProcess.Task.ID

		const setTask = `mutation($id: ID!, $f: Map!) { setTaskCustomFields(input: {id: $id, fields: $f}) { task { id customFields } } }`
		const setCase = `mutation($id: ID!, $f: Map!) { setCaseCustomFields(input: {id: $id, fields: $f}) { case { id customFields } } }`
		setT := func(c *servertest.Client, f map[string]any) *servertest.Response {
			return c.Do(t, setTask, map[string]any{"id": taskID, "f": f})
		}

		// Permission first: nobody holds TaskWriteCustomFields by default.
		wantErr(t, setT(demo, map[string]any{"region": "EU"}), "FORBIDDEN", "TaskWriteCustomFields")
		wantErr(t, demo.Do(t, setCase, map[string]any{"id": caseID, "f": map[string]any{"region": "EU"}}), "FORBIDDEN", "CaseWriteCustomFields")
		if code := srv.Client().Do(t, setTask, map[string]any{"id": taskID, "f": map[string]any{"a": "b"}}).Code(); code != "UNAUTHENTICATED" {
			t.Errorf("no token: %q", code)
		}
		var me struct{ Viewer struct{ ID string } }
		demo.MustDo(t, `{ viewer { id } }`, nil, &me)
		for _, p := range []string{"TaskWriteCustomFields", "CaseWriteCustomFields"} {
			admin.MustDo(t, `mutation($p: String!, $u: ID) { grantPermission(input: {permission: $p, userId: $u}) { ok } }`,
				map[string]any{"p": p, "u": me.Viewer.ID}, nil)
		}
		var acts struct {
			Node struct {
				AllowedActions []string
				Actions        []struct {
					Action string
					Shown  bool
					Reason *string
				}
			}
		}
		demo.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { allowedActions actions { action shown reason } } } }`, map[string]any{"id": taskID}, &acts)
		if !slices.Contains(acts.Node.AllowedActions, "CHANGE_CUSTOM_FIELDS") {
			t.Errorf("demo's allowed actions after the grant: %v", acts.Node.AllowedActions)
		}
		for _, a := range acts.Node.Actions {
			if a.Action == "CHANGE_CUSTOM_FIELDS" && (a.Shown || a.Reason == nil || !strings.Contains(*a.Reason, "TaskDisplayCustomFieldsAction")) {
				t.Errorf("CHANGE_CUSTOM_FIELDS without TaskDisplayCustomFieldsAction: %+v", a)
			}
		}

		// Typed values: text, number, date (in UTC); a hostile text is only a text.
		r := setT(demo, map[string]any{"region": "EU", "amount": -12.5, "due": "2026-12-06T10:00:00+01:00", "note": "') OR 1=1 --"})
		if r.Code() != "" {
			t.Fatalf("set task fields: %+v", r.Errors)
		}
		var set struct {
			SetTaskCustomFields struct {
				Task struct{ CustomFields map[string]any }
			}
		}
		json.Unmarshal(r.Data, &set)
		if set.SetTaskCustomFields.Task.CustomFields != nil {
			t.Errorf("demo reads custom fields without TaskDisplayCustomFieldsAction: %v", set.SetTaskCustomFields.Task.CustomFields)
		}
		taskFields := func() map[string]any {
			var out struct {
				Node struct{ CustomFields map[string]any }
			}
			admin.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { customFields } } }`, map[string]any{"id": taskID}, &out)
			return out.Node.CustomFields
		}
		got := taskFields()
		want := map[string]any{"region": "EU", "amount": -12.5, "due": "2026-12-06T09:00:00Z", "note": "') OR 1=1 --"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("task custom fields %v, want %v", got, want)
		}

		// Bad input, each named; nothing changes.
		many := map[string]any{}
		for i := range 51 {
			many[fmt.Sprintf("f%d", i)] = i
		}
		for _, bad := range []struct {
			fields map[string]any
			names  string
		}{
			{map[string]any{"a'b": "x"}, "a'b"},
			{map[string]any{"') OR 1=1 --": "x"}, "OR 1=1"},
			{map[string]any{strings.Repeat("n", 65): "x"}, "nnnn"},
			{map[string]any{"flag": true}, "fields.flag"},
			{map[string]any{"list": []any{1, 2}}, "fields.list"},
			{map[string]any{"obj": map[string]any{"x": 1}}, "fields.obj"},
			{map[string]any{"huge": 1e300}, "fields.huge"},
			{map[string]any{"neg": -1e16}, "fields.neg"},
			{map[string]any{"tiny": 1e-40}, "fields.tiny"},
			{map[string]any{"long": strings.Repeat("y", 2001)}, "fields.long"},
			{many, "at most 50"},
			{map[string]any{}, "at least one"},
		} {
			wantErr(t, setT(demo, bad.fields), "BAD_USER_INPUT", bad.names)
		}
		// 47 more fields on top of the 4 it has are 51: refused as a whole.
		more := map[string]any{}
		for i := range 47 {
			more[fmt.Sprintf("m%d", i)] = "v"
		}
		wantErr(t, setT(demo, more), "BAD_USER_INPUT", "at most 50")
		if got := taskFields(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after refused changes: %v, want %v", got, want)
		}
		if code := demo.Do(t, setTask, map[string]any{"id": "999999999", "f": map[string]any{"a": "b"}}).Code(); code != "NOT_FOUND" {
			t.Errorf("a task that does not exist: %q", code)
		}
		if code := bob.Do(t, setCase, map[string]any{"id": caseID, "f": map[string]any{"a": "b"}}).Code(); code != "NOT_FOUND" && code != "FORBIDDEN" {
			t.Errorf("bob on demo's case: %q", code)
		}

		// Lists read the index: the new values are there at once, the cleared ones gone.
		listIDs := func(name, equals string) []string {
			var out struct {
				Tasks struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			admin.MustDo(t, `query($n: String!, $v: String) { tasks(where: {customFields: [{name: $n, equals: $v}]}) { edges { node { id } } } }`,
				map[string]any{"n": name, "v": equals}, &out)
			var ids []string
			for _, e := range out.Tasks.Edges {
				ids = append(ids, e.Node.ID)
			}
			return ids
		}
		for _, c := range [][2]string{{"region", "EU"}, {"amount", "-12.5"}, {"due", "2026-12-06T09:00:00Z"}, {"note", "') OR 1=1 --"}} {
			if ids := listIDs(c[0], c[1]); !slices.Equal(ids, []string{taskID}) {
				t.Errorf("tasks with %s = %q: %v, want [%s]", c[0], c[1], ids, taskID)
			}
		}
		if r := setT(demo, map[string]any{"region": nil, "amount": 7}); r.Code() != "" {
			t.Fatalf("clear region: %+v", r.Errors)
		}
		if ids := listIDs("region", "EU"); len(ids) != 0 {
			t.Errorf("tasks with region EU after clearing it: %v", ids)
		}
		if ids := listIDs("amount", "7"); !slices.Equal(ids, []string{taskID}) {
			t.Errorf("tasks with amount 7: %v", ids)
		}

		// Cases: the start data are there; a change shows in charts and widgets.
		chart := func(region string) float64 {
			var out struct{ StatisticChart struct{ Total float64 } }
			admin.MustDo(t, `query($f: Map) { statisticChart(input: {type: "CASES_BY_STATE", filter: {customFieldFilters: $f}}) { total } }`,
				map[string]any{"f": map[string]any{"region": []string{region}}}, &out)
			return out.StatisticChart.Total
		}
		if eu, apac := chart("EU"), chart("APAC"); eu != 1 || apac != 0 {
			t.Errorf("before: EU %v, APAC %v cases; want 1, 0", eu, apac)
		}
		demo.MustDo(t, setCase, map[string]any{"id": caseID, "f": map[string]any{"region": "APAC", "budget": 1500}}, nil)
		if eu, apac := chart("EU"), chart("APAC"); eu != 0 || apac != 1 {
			t.Errorf("after: EU %v, APAC %v cases; want 0, 1", eu, apac)
		}
		// The case list filters on them too (the index, at once), and refuses a bad name.
		caseCount := func(region string) int {
			var out struct{ Cases struct{ TotalCount int } }
			demo.MustDo(t, `query($r: String!) { cases(where: {customFields: [{name: "region", equals: $r}]}) { totalCount } }`, map[string]any{"r": region}, &out)
			return out.Cases.TotalCount
		}
		if apac, eu := caseCount("APAC"), caseCount("EU"); apac != 1 || eu != 0 {
			t.Errorf("cases with region APAC %d, EU %d; want 1, 0", apac, eu)
		}
		wantErr(t, demo.Do(t, `{ cases(where: {customFields: [{name: "') OR 1=1 --", equals: "x"}]}) { totalCount } }`, nil), "BAD_USER_INPUT", "customFields")
		widgets := []map[string]any{
			{"id": "t", "type": "task", "layout": map[string]any{"x": 0, "y": 0, "w": 6, "h": 4}, "columns": []map[string]any{{"field": "name", "visible": true}},
				"filters": []map[string]any{{"field": "customFields.amount", "operator": "greater", "values": []string{"5"}}}},
			{"id": "c", "type": "case", "layout": map[string]any{"x": 6, "y": 0, "w": 6, "h": 4}, "columns": []map[string]any{{"field": "name", "visible": true}},
				"filters": []map[string]any{{"field": "customFields.region", "operator": "is", "values": []string{"APAC"}}}},
		}
		dash := newDashboard(t, admin, "Custom fields", false, nil, widgets)
		var wt struct {
			DashboardTasks struct{ TotalCount int }
			DashboardCases struct{ TotalCount int }
		}
		admin.MustDo(t, `query($d: ID!) { dashboardTasks(dashboardId: $d, widgetId: "t") { totalCount } dashboardCases(dashboardId: $d, widgetId: "c") { totalCount } }`,
			map[string]any{"d": dash}, &wt)
		if wt.DashboardTasks.TotalCount != 1 || wt.DashboardCases.TotalCount != 1 {
			t.Errorf("widgets: %+v, want 1 task and 1 case", wt)
		}

		// Completion data become the task's and the case's custom fields.
		var form struct {
			Node struct {
				Form struct {
					FormElements []struct{ ElementID, CustomField string }
				}
			}
		}
		demo.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { form { formElements { elementID customField } } } } }`, map[string]any{"id": taskID}, &form)
		if fmt.Sprint(form.Node.Form.FormElements) != "[{days days} {reason reason}]" {
			t.Errorf("form elements: %+v", form.Node.Form.FormElements)
		}
		demo.MustDo(t, `mutation($id: ID!) { startTask(input: {id: $id}) { task { id } } }`, map[string]any{"id": taskID}, nil)
		demo.MustDo(t, `mutation($id: ID!) { completeTask(input: {id: $id, data: {days: 3, reason: "beach"}}) { task { id } } }`, map[string]any{"id": taskID}, nil)
		if got := taskFields(); got["days"] != float64(3) || got["reason"] != "beach" || got["amount"] != float64(7) {
			t.Errorf("task fields after completion: %v", got)
		}
		var cs struct {
			Node struct{ CustomFields map[string]any }
		}
		admin.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Case { customFields } } }`, map[string]any{"id": caseID}, &cs)
		if cs.Node.CustomFields["days"] != float64(3) || cs.Node.CustomFields["reason"] != "beach" || cs.Node.CustomFields["region"] != "APAC" {
			t.Errorf("case fields after completion: %v", cs.Node.CustomFields)
		}
		if ids := listIDs("reason", "beach"); !slices.Equal(ids, []string{taskID}) {
			t.Errorf("tasks with reason beach: %v", ids)
		}
		// A DONE task's fields stay as they are.
		wantErr(t, setT(demo, map[string]any{"x": "y"}), "CONFLICT", "DONE")
	})
}
