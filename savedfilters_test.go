package portico_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

const createSavedFilter = `mutation($in: CreateSavedFilterInput!) {
  createSavedFilter(input: $in) { savedFilter { id kind name public own editable where names { language name } } } }`

type savedFilterOut struct {
	ID, Kind, Name string
	Public         bool
	Own, Editable  bool
	Where          map[string]any
	Names          []struct{ Language, Name string }
}

// saveFilter creates a filter and returns it, or the error code.
func saveFilter(t *testing.T, c *servertest.Client, in map[string]any) (savedFilterOut, string, string) {
	t.Helper()
	r := c.Do(t, createSavedFilter, map[string]any{"in": in})
	if r.Code() != "" {
		return savedFilterOut{}, r.Code(), r.Errors[0].Message
	}
	var out struct {
		CreateSavedFilter struct{ SavedFilter savedFilterOut }
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out.CreateSavedFilter.SavedFilter, "", ""
}

// listIDs runs a tasks or cases query with the given arguments and returns its ids and
// totalCount, or the error code and message.
func listIDs(t *testing.T, c *servertest.Client, field, args string, vars map[string]any) ([]string, int, string, string) {
	t.Helper()
	decl := ""
	if len(vars) > 0 {
		var ds []string
		for k := range vars {
			typ := "ID"
			if k == "w" {
				typ = map[string]string{"tasks": "TaskWhereInput", "cases": "CaseWhereInput"}[field]
			}
			ds = append(ds, "$"+k+": "+typ)
		}
		slices.Sort(ds)
		decl = "(" + strings.Join(ds, ", ") + ")"
	}
	r := c.Do(t, fmt.Sprintf(`query%s { %s(first: 1000%s) { totalCount edges { node { id } } } }`, decl, field, args), vars)
	if r.Code() != "" {
		return nil, 0, r.Code(), r.Errors[0].Message
	}
	var out map[string]struct {
		TotalCount int
		Edges      []struct{ Node struct{ ID string } }
	}
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range out[field].Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids, out[field].TotalCount, "", ""
}

// exportRows downloads an export and returns its number of data rows, or the HTTP status.
func exportRows(t *testing.T, base, path, token string, q url.Values) (int, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path+"?"+q.Encode(), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, resp.StatusCode
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return len(rows) - 1, http.StatusOK
}

// TestSavedFilters: private filters for their owner only, public ones with
// CreatePublicFilter, the lists, a widget and the export with a saved filter equal to
// the same where sent inline, names in the viewer's language, a stale filter refused
// by name.
func TestSavedFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		names := func(en, de string) []map[string]any {
			return []map[string]any{{"language": "en", "name": en}, {"language": "de", "name": de}}
		}
		// Two of the demo's three tasks.
		open := map[string]any{"businessState": []any{"OPEN", "IN_PROGRESS"},
			"or": []any{map[string]any{"nameContainsFold": "plan"}, map[string]any{"nameContainsFold": "HOLIDAYS"}}}

		// A private filter: its owner's alone.
		priv, code, msg := saveFilter(t, alice, map[string]any{"kind": "TASK", "names": names("My open work", "Meine offene Arbeit"), "taskWhere": open})
		if code != "" {
			t.Fatalf("alice's private filter: %s %s", code, msg)
		}
		if priv.Public || !priv.Own || !priv.Editable || priv.Name != "My open work" || priv.Kind != "TASK" {
			t.Errorf("alice's filter: %+v", priv)
		}
		if _, code, _ := saveFilter(t, alice, map[string]any{"kind": "TASK", "public": true, "names": names("Everyone's", "Alle"), "taskWhere": open}); code != "FORBIDDEN" {
			t.Errorf("a public filter without CreatePublicFilter: %q, want FORBIDDEN", code)
		}
		for _, q := range []string{
			`{ savedFilter(id: "%s") { id } }`,
			`{ tasks(savedFilter: "%s") { totalCount } }`,
			`mutation { deleteSavedFilter(input: {id: "%s"}) { id } }`,
			`mutation { updateSavedFilter(input: {id: "%s", names: [{language: "en", name: "mine now"}]}) { savedFilter { id } } }`,
		} {
			if code := bob.Do(t, fmt.Sprintf(q, priv.ID), nil).Code(); code != "NOT_FOUND" {
				t.Errorf("bob with alice's private filter, %s: %q, want NOT_FOUND", q, code)
			}
		}
		var bobs struct {
			SavedFilters struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
		bob.MustDo(t, `{ savedFilters { totalCount edges { node { id } } } }`, nil, &bobs)
		if bobs.SavedFilters.TotalCount != 0 || len(bobs.SavedFilters.Edges) != 0 {
			t.Errorf("bob lists %+v, want none of alice's", bobs.SavedFilters)
		}

		// Public filters: an administrator's, seen by all, changed only with the permission.
		pub, code, msg := saveFilter(t, admin, map[string]any{"kind": "TASK", "public": true, "names": names("Open work", "Offene Arbeit"), "taskWhere": open})
		if code != "" {
			t.Fatalf("admin's public filter: %s %s", code, msg)
		}
		pubCase, code, msg := saveFilter(t, admin, map[string]any{"kind": "CASE", "public": true, "names": names("Open cases", "Offene Fälle"),
			"caseWhere": map[string]any{"businessState": []any{"OPEN"}}})
		if code != "" {
			t.Fatalf("admin's public case filter: %s %s", code, msg)
		}
		var list struct {
			SavedFilters struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Name      string
						Own, Editable bool
					}
				}
			}
		}
		bob.MustDo(t, `{ savedFilters(first: 1) { totalCount edges { node { id name own editable } } } }`, nil, &list)
		if list.SavedFilters.TotalCount != 2 || len(list.SavedFilters.Edges) != 1 || list.SavedFilters.Edges[0].Node.ID != pub.ID ||
			list.SavedFilters.Edges[0].Node.Own || list.SavedFilters.Edges[0].Node.Editable {
			t.Errorf("bob's saved filters: %+v", list.SavedFilters)
		}
		alice.MustDo(t, `{ savedFilters(kind: TASK) { totalCount edges { node { id name own editable } } } }`, nil, &list)
		if list.SavedFilters.TotalCount != 2 {
			t.Errorf("alice's task filters: %+v, want her own and the public one", list.SavedFilters)
		}
		if code := bob.Do(t, fmt.Sprintf(`mutation { deleteSavedFilter(input: {id: "%s"}) { id } }`, pub.ID), nil).Code(); code != "FORBIDDEN" {
			t.Errorf("bob deleting a public filter: %q, want FORBIDDEN", code)
		}
		if code := alice.Do(t, fmt.Sprintf(`mutation { updateSavedFilter(input: {id: "%s", public: true}) { savedFilter { id } } }`, priv.ID), nil).Code(); code != "FORBIDDEN" {
			t.Errorf("alice making her filter public: %q, want FORBIDDEN", code)
		}

		// Names in the viewer's language: alice switches to German.
		alice.MustDo(t, `mutation { updateMySettings(input: {language: "de"}) { settings { language } } }`, nil, nil)
		var one struct{ SavedFilter struct{ Name string } }
		alice.MustDo(t, fmt.Sprintf(`{ savedFilter(id: "%s") { name } }`, pub.ID), nil, &one)
		if one.SavedFilter.Name != "Offene Arbeit" {
			t.Errorf("alice (de) sees %q, want Offene Arbeit", one.SavedFilter.Name)
		}
		bob.MustDo(t, fmt.Sprintf(`{ savedFilter(id: "%s") { name } }`, pub.ID), nil, &one)
		if one.SavedFilter.Name != "Open work" {
			t.Errorf("bob (application default en) sees %q, want Open work", one.SavedFilter.Name)
		}

		// The lists: a saved filter gives what the same where inline gives.
		for _, c := range []struct {
			who  *servertest.Client
			list string
			id   string
			w    map[string]any
		}{
			{admin, "tasks", pub.ID, open}, {bob, "tasks", pub.ID, open}, {alice, "tasks", priv.ID, open},
			{admin, "cases", pubCase.ID, map[string]any{"businessState": []any{"OPEN"}}},
		} {
			saved, n1, code, msg := listIDs(t, c.who, c.list, ", savedFilter: $f", map[string]any{"f": c.id})
			inline, n2, code2, _ := listIDs(t, c.who, c.list, ", where: $w", map[string]any{"w": c.w})
			if code != "" || code2 != "" {
				t.Fatalf("%s with saved filter %s: %s %s / %s", c.list, c.id, code, msg, code2)
			}
			if !slices.Equal(saved, inline) || n1 != n2 {
				t.Errorf("%s with saved filter %s: %v (%d), inline: %v (%d)", c.list, c.id, saved, n1, inline, n2)
			}
		}
		all, nAll, _, _ := listIDs(t, admin, "tasks", "", nil)
		if _, nOpen, _, _ := listIDs(t, admin, "tasks", ", savedFilter: $f", map[string]any{"f": pub.ID}); nOpen == 0 || nOpen == nAll {
			t.Errorf("the demo's open tasks %d of %d (%d ids): the comparison tests nothing", nOpen, nAll, len(all))
		}
		// Combined with an inline where: AND.
		extra := map[string]any{"nameContainsFold": "check"}
		both, nBoth, code, msg := listIDs(t, admin, "tasks", ", savedFilter: $f, where: $w", map[string]any{"f": pub.ID, "w": extra})
		want, nWant, _, _ := listIDs(t, admin, "tasks", ", where: $w", map[string]any{"w": map[string]any{"and": []any{open, extra}}})
		if code != "" || !slices.Equal(both, want) || nBoth != nWant {
			t.Errorf("saved AND inline: %v (%d) %s %s, want %v (%d)", both, nBoth, code, msg, want, nWant)
		}
		// A filter of the other list.
		if _, _, code, msg := listIDs(t, admin, "tasks", ", savedFilter: $f", map[string]any{"f": pubCase.ID}); code != "BAD_USER_INPUT" || !strings.Contains(msg, "Open cases") {
			t.Errorf("a case filter on tasks: %s %q", code, msg)
		}

		// A dashboard widget with the saved filter.
		widgets := []map[string]any{{"id": "w1", "type": "task", "layout": map[string]any{"x": 0, "y": 0, "w": 6, "h": 4}, "savedFilterId": json.Number(pub.ID)}}
		board := newDashboard(t, admin, "Saved", false, nil, widgets)
		var wt struct{ DashboardTasks struct{ TotalCount int } }
		admin.MustDo(t, fmt.Sprintf(`{ dashboardTasks(dashboardId: "%s", widgetId: "w1") { totalCount } }`, board), nil, &wt)
		_, nSaved, _, _ := listIDs(t, admin, "tasks", ", savedFilter: $f", map[string]any{"f": pub.ID})
		if wt.DashboardTasks.TotalCount != nSaved {
			t.Errorf("the widget with the saved filter lists %d, the list %d", wt.DashboardTasks.TotalCount, nSaved)
		}

		// A widget may not use a filter its dashboard's readers could not: another user's
		// private one, one of the other list, or a private one on a public dashboard.
		mine, code, msg := saveFilter(t, admin, map[string]any{"kind": "TASK", "names": names("Admin's own", "Eigene"), "taskWhere": open})
		if code != "" {
			t.Fatalf("admin's private filter: %s %s", code, msg)
		}
		widget := func(typ, id string) []map[string]any {
			return []map[string]any{{"id": "w9", "type": typ, "layout": map[string]any{"x": 0, "y": 0, "w": 6, "h": 4}, "savedFilterId": json.Number(id)}}
		}
		for _, bad := range []struct {
			name   string
			public bool
			w      []map[string]any
			says   string
		}{
			{"alice's private filter", false, widget("task", priv.ID), "no saved filter"},
			{"no such filter", false, widget("task", "999999999"), "no saved filter"},
			{"a case filter on a task widget", false, widget("task", pubCase.ID), "filters case lists"},
			{"a private filter on a public dashboard", true, widget("task", mine.ID), "public saved filters only"},
		} {
			r := admin.Do(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "Bad"}}, "p": bad.public, "w": bad.w})
			if r.Code() != "BAD_USER_INPUT" || !strings.Contains(fmt.Sprint(r.Errors), bad.says) {
				t.Errorf("%s: %s %s, want BAD_USER_INPUT saying %q", bad.name, r.Code(), r.Errors, bad.says)
			}
		}
		newDashboard(t, admin, "Mine", false, nil, widget("task", mine.ID)) // a private one may

		// The export with the saved filter (and with another user's private one).
		if n, status := exportRows(t, srv.URL, "/export/tasks.xlsx", admin.Token, url.Values{"savedFilter": {pub.ID}}); status != 200 || n != nSaved {
			t.Errorf("the export with the saved filter: %d rows (HTTP %d), want %d", n, status, nSaved)
		}
		if n, status := exportRows(t, srv.URL, "/export/tasks.xlsx", admin.Token,
			url.Values{"savedFilter": {pub.ID}, "where": {`{"nameContainsFold":"check"}`}}); status != 200 || n != nBoth {
			t.Errorf("the export with the saved filter and where: %d rows (HTTP %d), want %d", n, status, nBoth)
		}
		if _, status := exportRows(t, srv.URL, "/export/tasks.xlsx", bob.Token, url.Values{"savedFilter": {priv.ID}}); status != http.StatusNotFound {
			t.Errorf("bob exporting with alice's private filter: HTTP %d, want 404", status)
		}

		// A filter saved under an older schema: refused by name, never INTERNAL.
		ctx := policy.SystemContext(context.Background())
		id := 0
		fmt.Sscan(pub.ID, &id)
		srv.DB.Client.SavedFilter.UpdateOneID(id).SetWhereInput(`{"assigneeGroup":"x"}`).ExecX(ctx)
		if _, _, code, msg := listIDs(t, bob, "tasks", ", savedFilter: $f", map[string]any{"f": pub.ID}); code != "BAD_USER_INPUT" || !strings.Contains(msg, "Open work") {
			t.Errorf("a stale filter: %s %q, want BAD_USER_INPUT naming it", code, msg)
		}
		if code := admin.Do(t, fmt.Sprintf(`{ dashboardTasks(dashboardId: "%s", widgetId: "w1") { totalCount } }`, board), nil).Code(); code != "BAD_USER_INPUT" {
			t.Errorf("a widget with a stale filter: %q", code)
		}
		if _, status := exportRows(t, srv.URL, "/export/tasks.xlsx", admin.Token, url.Values{"savedFilter": {pub.ID}}); status != http.StatusBadRequest {
			t.Errorf("an export with a stale filter: HTTP %d, want 400", status)
		}
		// Its owner repairs it; then deletes it.
		var upd struct {
			UpdateSavedFilter struct {
				SavedFilter struct{ Where map[string]any }
			}
		}
		admin.MustDo(t, `mutation($id: ID!, $w: TaskWhereInput) { updateSavedFilter(input: {id: $id, taskWhere: $w}) { savedFilter { where } } }`,
			map[string]any{"id": pub.ID, "w": open}, &upd)
		if _, _, code, _ := listIDs(t, bob, "tasks", ", savedFilter: $f", map[string]any{"f": pub.ID}); code != "" {
			t.Errorf("the repaired filter: %q", code)
		}
		admin.MustDo(t, fmt.Sprintf(`mutation { deleteSavedFilter(input: {id: "%s"}) { id } }`, pub.ID), nil, nil)
		if _, _, code, _ := listIDs(t, bob, "tasks", ", savedFilter: $f", map[string]any{"f": pub.ID}); code != "NOT_FOUND" {
			t.Errorf("a deleted filter: %q, want NOT_FOUND", code)
		}
		alice.MustDo(t, fmt.Sprintf(`mutation { deleteSavedFilter(input: {id: "%s"}) { id } }`, priv.ID), nil, nil)
	})
}

// TestHostileSavedFilters: bad where inputs, names, ids and no token, each refused with
// the right code and nothing saved.
func TestHostileSavedFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		alice := srv.Login(t, "alice", "alice")
		name := []map[string]any{{"language": "en", "name": "x"}}
		deep := map[string]any{"nameContains": "x"}
		for range 40 {
			deep = map[string]any{"not": deep}
		}
		repeated := make([]any, 1001)
		for i := range repeated {
			repeated[i] = map[string]any{"nameContains": "x"}
		}
		for _, c := range []struct {
			label string
			in    map[string]any
			code  string
			says  string
		}{
			{"unknown field", map[string]any{"kind": "TASK", "names": name, "taskWhere": map[string]any{"nope": 1}}, "BAD_USER_INPUT", "nope"},
			{"bad custom field name", map[string]any{"kind": "TASK", "names": name,
				"taskWhere": map[string]any{"customFields": []any{map[string]any{"name": "') OR 1=1 --", "equals": "x"}}}}, "BAD_USER_INPUT", "customFields"},
			{"case where on a task filter", map[string]any{"kind": "TASK", "names": name, "caseWhere": map[string]any{"nameContains": "x"}}, "BAD_USER_INPUT", "taskWhere"},
			{"empty object in not", map[string]any{"kind": "TASK", "names": name, "taskWhere": map[string]any{"not": map[string]any{}}}, "BAD_USER_INPUT", "empty"},
			{"deep nesting", map[string]any{"kind": "TASK", "names": name, "taskWhere": deep}, "BAD_USER_INPUT", "nested"},
			{"repeated", map[string]any{"kind": "TASK", "names": name, "taskWhere": map[string]any{"or": repeated}}, "BAD_USER_INPUT", "1000"},
			{"no name", map[string]any{"kind": "TASK", "names": []any{}}, "BAD_USER_INPUT", "names"},
			{"huge name", map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "en", "name": strings.Repeat("x", 100000)}}}, "BAD_USER_INPUT", "at most 200"},
			{"bad language", map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "'; DROP TABLE saved_filters; --", "name": "x"}}}, "BAD_USER_INPUT", "language"},
			{"language twice", map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "en", "name": "x"}, {"language": "EN", "name": "y"}}}, "BAD_USER_INPUT", "twice"},
		} {
			_, code, msg := saveFilter(t, alice, c.in)
			if c.label == "unknown field" { // GraphQL's coercion of the variable: the path names the field
				r := alice.Do(t, createSavedFilter, map[string]any{"in": c.in})
				msg = fmt.Sprint(r.Errors[0].Message, r.Errors[0].Path)
			}
			if code != c.code || !strings.Contains(msg, c.says) {
				t.Errorf("%s: %s %q, want %s saying %q", c.label, code, msg, c.code, c.says)
			}
		}
		// The same written inline: GraphQL's validation names the field and the type.
		r := alice.Do(t, `mutation { createSavedFilter(input: {kind: TASK, names: [{language: "en", name: "x"}], taskWhere: {nope: 1}}) { savedFilter { id } } }`, nil)
		if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "nope") {
			t.Errorf("an unknown field inline: %+v", r.Errors)
		}
		// Quotes and SQL in values are values: saved, and the list runs them as such.
		f, code, msg := saveFilter(t, alice, map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "en", "name": `it's "quoted" ') OR 1=1 --`}},
			"taskWhere": map[string]any{"nameContains": `') OR 1=1 --`, "text": `"; DELETE FROM tasks; --`}})
		if code != "" || f.Name != `it's "quoted" ') OR 1=1 --` {
			t.Fatalf("quotes in values: %s %s %+v", code, msg, f)
		}
		if _, n, code, msg := listIDs(t, alice, "tasks", ", savedFilter: $f", map[string]any{"f": f.ID}); code != "" || n != 0 {
			t.Errorf("the quoted filter: %d tasks, %s %s", n, code, msg)
		}
		var count struct{ SavedFilters struct{ TotalCount int } }
		alice.MustDo(t, `{ savedFilters { totalCount } }`, nil, &count)
		if count.SavedFilters.TotalCount != 1 {
			t.Errorf("alice has %d filters, want the one valid", count.SavedFilters.TotalCount)
		}
		for _, id := range []string{"-1", "0", "9223372036854775807", "99999999999999999999", "abc"} {
			code := alice.Do(t, `query($f: ID) { tasks(savedFilter: $f) { totalCount } }`, map[string]any{"f": id}).Code()
			if code != "NOT_FOUND" && code != "BAD_USER_INPUT" {
				t.Errorf("savedFilter %s: %q, want NOT_FOUND or BAD_USER_INPUT", id, code)
			}
		}
		for _, q := range []string{"-1", "abc", "1e9", "' OR 1=1"} {
			if _, status := exportRows(t, srv.URL, "/export/tasks.xlsx", alice.Token, url.Values{"savedFilter": {q}}); status != http.StatusBadRequest && status != http.StatusNotFound {
				t.Errorf("export savedFilter=%s: HTTP %d", q, status)
			}
		}
		anon := srv.Client()
		for _, q := range []string{`{ savedFilters { totalCount } }`, fmt.Sprintf(`{ savedFilter(id: "%s") { id } }`, f.ID),
			`mutation { createSavedFilter(input: {kind: TASK, names: [{language: "en", name: "x"}]}) { savedFilter { id } } }`,
			fmt.Sprintf(`mutation { deleteSavedFilter(input: {id: "%s"}) { id } }`, f.ID)} {
			if code := anon.Do(t, q, nil).Code(); code != "UNAUTHENTICATED" {
				t.Errorf("no token, %s: %q", q, code)
			}
		}
		if _, status := exportRows(t, srv.URL, "/export/tasks.xlsx", "", url.Values{"savedFilter": {f.ID}}); status != http.StatusUnauthorized {
			t.Errorf("export without a token: HTTP %d", status)
		}
	})
}
