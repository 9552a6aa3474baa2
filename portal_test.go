package portico_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

type dashOut struct {
	ID, Title   string
	Public      bool
	Permissions []string
	Widgets     []map[string]any
}

func dashboardsOf(t *testing.T, c *servertest.Client) []dashOut {
	t.Helper()
	var out struct{ Dashboards []dashOut }
	c.MustDo(t, `{ dashboards { id title public permissions widgets } }`, nil, &out)
	return out.Dashboards
}

func titles(ds []dashOut) string {
	var ts []string
	for _, d := range ds {
		ts = append(ts, d.Title)
	}
	return strings.Join(ts, ",")
}

const createDash = `mutation($t: [DashboardTitleInput!]!, $p: Boolean, $perm: [String!], $w: JSON) {
	createDashboard(input: {titles: $t, public: $p, permissions: $perm, widgets: $w}) { dashboard { id title } } }`

func newDashboard(t *testing.T, c *servertest.Client, title string, public bool, perms []string, widgets any) string {
	t.Helper()
	var out struct {
		CreateDashboard struct{ Dashboard struct{ ID string } }
	}
	c.MustDo(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": title}}, "p": public, "perm": perms, "w": widgets}, &out)
	return out.CreateDashboard.Dashboard.ID
}

func TestDashboards(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		taskWidget := []map[string]any{{"id": "w1", "type": "task", "layout": map[string]any{"x": 0, "y": 0, "w": 6, "h": 4},
			"columns": []map[string]any{{"field": "name", "visible": true}},
			"filters": []map[string]any{{"field": "priority", "operator": "in", "values": []string{"HIGH"}}}}}

		// Private dashboards (DashboardWriteOwn, an Everybody default) are their owner's.
		mine := newDashboard(t, alice, "Alice's work", false, nil, taskWidget)
		// Public ones need DashboardWritePublic; permissions choose who sees them.
		wantErr(t, alice.Do(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "x"}}, "p": true}), "FORBIDDEN", "DashboardWritePublic")
		newDashboard(t, admin, "For everybody", true, nil, nil)
		newDashboard(t, admin, "For Development", true, []string{"Development"}, nil)
		newDashboard(t, admin, "For bob", true, []string{"#bob"}, nil)

		var roles struct {
			Viewer struct{ Roles []struct{ Name string } }
		}
		alice.MustDo(t, `{ viewer { roles { name } } }`, nil, &roles)
		inDev := strings.Contains(fmt.Sprint(roles.Viewer.Roles), "Development")
		want := "Start,Alice's work,For everybody" // Start: the demo's public dashboard
		if inDev {
			want += ",For Development"
		}
		if got := titles(dashboardsOf(t, alice)); got != want {
			t.Errorf("alice sees %s, want %s", got, want)
		}
		if got := titles(dashboardsOf(t, bob)); !strings.Contains(got, "For bob") || strings.Contains(got, "Alice's work") {
			t.Errorf("bob sees %s", got)
		}
		// Another user's private dashboard: not found, not changeable.
		wantErr(t, bob.Do(t, `mutation($id: ID!) { deleteDashboard(input: {id: $id}) { id } }`, map[string]any{"id": mine}), "NOT_FOUND")
		// Public dashboards: only DashboardWritePublic changes them.
		var pub string
		for _, d := range dashboardsOf(t, alice) {
			if d.Title == "For everybody" {
				pub = d.ID
			}
		}
		wantErr(t, alice.Do(t, `mutation($id: ID!) { updateDashboard(input: {id: $id, icon: "x"}) { dashboard { id } } }`, map[string]any{"id": pub}), "FORBIDDEN")

		// Bad widgets are refused, naming the widget and what is wrong.
		for _, bad := range []struct {
			w    any
			says string
		}{
			{[]map[string]any{{"id": "a", "type": "chart", "layout": map[string]any{"w": 1, "h": 1}}}, "widgets[0]: type \"chart\""},
			{[]map[string]any{{"id": "a", "type": "news", "layout": map[string]any{"x": 8, "w": 6, "h": 1}}}, "12-column grid"},
			{[]map[string]any{{"id": "a", "type": "task", "layout": map[string]any{"w": 1, "h": 1},
				"filters": []map[string]any{{"field": "priority", "operator": "contains", "values": []string{"H"}}}}}, "filters[0]: field priority takes the operators in, not_in"},
			{[]map[string]any{{"id": "a", "type": "task", "layout": map[string]any{"w": 1, "h": 1}, "colour": "red"}}, "unknown field \"colour\""},
		} {
			wantErr(t, alice.Do(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "x"}}, "w": bad.w}), "BAD_USER_INPUT", bad.says)
		}
		// A statistic widget needs StatisticAddDashboardChart (an Everybody default).
		var everybody struct{ Role struct{ ID string } }
		admin.MustDo(t, `{ role(name: "Everybody") { id } }`, nil, &everybody)
		admin.MustDo(t, `mutation($r: ID!) { denyPermission(input: {permission: "StatisticAddDashboardChart", roleId: $r}) { ok } }`,
			map[string]any{"r": everybody.Role.ID}, nil)
		wantErr(t, alice.Do(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "x"}},
			"w": []map[string]any{{"id": "s", "type": "statistic", "chartId": "task-by-priority", "layout": map[string]any{"w": 4, "h": 3}}}}),
			"FORBIDDEN", "StatisticAddDashboardChart")

		// The task widget runs its filters through the task list, with visibility.
		var wt struct {
			DashboardTasks struct {
				TotalCount int
				Edges      []struct{ Node struct{ Priority string } }
			}
		}
		alice.MustDo(t, `query($d: ID!) { dashboardTasks(dashboardId: $d, widgetId: "w1") { totalCount edges { node { priority } } } }`, map[string]any{"d": mine}, &wt)
		var high struct{ Tasks struct{ TotalCount int } }
		alice.MustDo(t, `{ tasks(where: {priority: HIGH}) { totalCount } }`, nil, &high)
		if wt.DashboardTasks.TotalCount != high.Tasks.TotalCount {
			t.Errorf("widget lists %d tasks, the filtered list %d", wt.DashboardTasks.TotalCount, high.Tasks.TotalCount)
		}

		// Order: per user.
		ds := dashboardsOf(t, alice)
		var ro struct {
			ReorderDashboards struct{ Dashboards []dashOut }
		}
		alice.MustDo(t, `mutation($ids: [ID!]!) { reorderDashboards(input: {ids: $ids}) { dashboards { id title } } }`,
			map[string]any{"ids": []string{ds[len(ds)-1].ID}}, &ro)
		if got := ro.ReorderDashboards.Dashboards[0].ID; got != ds[len(ds)-1].ID {
			t.Errorf("after reordering, first is %s", got)
		}
		if titles(dashboardsOf(t, bob))[:len("Start")] != "Start" {
			t.Errorf("alice's order changed bob's: %s", titles(dashboardsOf(t, bob)))
		}

		// Export and import: one-element array, new ids, unknown roles reported. Exporting
		// and importing one's own dashboards are not Everybody defaults.
		var me struct{ Viewer struct{ ID string } }
		alice.MustDo(t, `{ viewer { id } }`, nil, &me)
		wantErr(t, alice.Do(t, `query($id: ID!) { exportDashboard(id: $id) }`, map[string]any{"id": mine}), "FORBIDDEN", "DashboardExportOwn")
		for _, p := range []string{"DashboardExportOwn", "DashboardImportOwn"} {
			admin.MustDo(t, `mutation($p: String!, $u: ID!) { grantPermission(input: {permission: $p, userId: $u}) { ok } }`,
				map[string]any{"p": p, "u": me.Viewer.ID}, nil)
		}
		var ex struct{ ExportDashboard string }
		alice.MustDo(t, `query($id: ID!) { exportDashboard(id: $id) }`, map[string]any{"id": mine}, &ex)
		var exported []map[string]any
		if err := json.Unmarshal([]byte(ex.ExportDashboard), &exported); err != nil || len(exported) != 1 || exported[0]["version"] != float64(1) {
			t.Fatalf("export: %v %s", err, ex.ExportDashboard)
		}
		exported[0]["permissions"] = []string{"Development", "No Such Role"}
		text, _ := json.Marshal(exported)
		var im struct {
			ImportDashboard struct {
				Dashboard dashOut
				Warnings  []string
			}
		}
		alice.MustDo(t, `mutation($j: String!) { importDashboard(input: {json: $j}) { dashboard { id title permissions widgets } warnings } }`,
			map[string]any{"j": string(text)}, &im)
		got := im.ImportDashboard
		if got.Dashboard.ID == mine || got.Dashboard.Widgets[0]["id"] == "w1" || len(got.Warnings) != 1 ||
			!strings.Contains(got.Warnings[0], "No Such Role") || fmt.Sprint(got.Dashboard.Permissions) != "[Development]" {
			t.Errorf("import: %+v", got)
		}
		wantErr(t, alice.Do(t, `mutation { importDashboard(input: {json: "[{\"titles\": [}]"}) { warnings } }`, nil), "BAD_USER_INPUT", "line 1, column")
		wantErr(t, alice.Do(t, `mutation { importDashboard(input: {json: "[]"}) { warnings } }`, nil), "BAD_USER_INPUT", "one dashboard")
		before := len(dashboardsOf(t, alice))
		wantErr(t, alice.Do(t, `mutation($j: String!) { importDashboard(input: {json: $j, public: true}) { warnings } }`, map[string]any{"j": string(text)}), "FORBIDDEN")
		if after := len(dashboardsOf(t, alice)); after != before {
			t.Errorf("a refused import changed the dashboards: %d -> %d", before, after)
		}
	})
}

func TestFavoritesNewsAndMySettings(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice")
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID, Name string } }
			}
		}
		alice.MustDo(t, `{ processes { edges { node { id name } } } }`, nil, &procs)
		if len(procs.Processes.Edges) == 0 {
			t.Fatal("alice may start no process")
		}
		pid := procs.Processes.Edges[0].Node.ID
		var fav struct {
			AddFavoriteProcess struct{ Processes []struct{ ID string } }
		}
		alice.MustDo(t, `mutation($p: ID!) { addFavoriteProcess(input: {processId: $p}) { processes { id } } }`, map[string]any{"p": pid}, &fav)
		alice.MustDo(t, `mutation($p: ID!) { addFavoriteProcess(input: {processId: $p}) { processes { id } } }`, map[string]any{"p": pid}, &fav)
		if len(fav.AddFavoriteProcess.Processes) != 1 {
			t.Errorf("favorites after adding one twice: %+v", fav)
		}
		wantErr(t, alice.Do(t, `mutation { addFavoriteProcess(input: {processId: "1"}) { processes { id } } }`, nil), "NOT_FOUND")
		var favs struct{ FavoriteProcesses []struct{ ID string } }
		admin.MustDo(t, `{ favoriteProcesses { id } }`, nil, &favs)
		if len(favs.FavoriteProcesses) != 0 {
			t.Errorf("admin sees alice's favorites: %+v", favs)
		}

		// News: NewsManagement writes, everybody reads in its language.
		create := `mutation { createNews(input: {translations: [{language: "en", title: "Hello", content: "News"}, {language: "de", title: "Hallo", content: "Neues"}]}) { news { id title } } }`
		wantErr(t, alice.Do(t, create, nil), "FORBIDDEN", "NewsManagement")
		admin.MustDo(t, create, nil, nil)
		wantErr(t, admin.Do(t, `mutation { createNews(input: {translations: [{language: "", title: "x", content: ""}]}) { news { id } } }`, nil), "BAD_USER_INPUT", "language")
		var settings struct {
			UpdateMySettings struct {
				Settings struct {
					Language, EffectiveLanguage string
					NotificationChannels        []struct {
						Channel string
						Enabled bool
					}
				}
			}
		}
		alice.MustDo(t, `mutation { updateMySettings(input: {language: "de", notificationChannels: [{channel: "email", enabled: false}]}) {
			settings { language effectiveLanguage notificationChannels { channel enabled } } } }`, nil, &settings)
		s := settings.UpdateMySettings.Settings
		if s.Language != "de" || fmt.Sprint(s.NotificationChannels) != "[{email false} {web true}]" {
			t.Errorf("alice's settings: %+v", s)
		}
		wantErr(t, alice.Do(t, `mutation { updateMySettings(input: {language: "xx"}) { settings { language } } }`, nil), "BAD_USER_INPUT", "not supported")
		wantErr(t, alice.Do(t, `mutation { updateMySettings(input: {notificationChannels: [{channel: "pigeon", enabled: true}]}) { settings { language } } }`, nil), "BAD_USER_INPUT", "pigeon")
		alice = srv.Login(t, "alice", "alice") // the language is read at login
		var n struct{ News []struct{ Title string } }
		alice.MustDo(t, `{ news { title } }`, nil, &n)
		if len(n.News) != 2 || n.News[0].Title != "Hallo" || n.News[1].Title != "Willkommen bei Portico" { // newest first, then the demo's
			t.Errorf("alice's news: %+v", n)
		}

		// Third-party applications: display names in the viewer's language, menu order.
		admin.MustDo(t, `mutation($v: String!) { setVariable(input: {name: "Portal.ThirdPartyApplications", value: $v}) { variable { name } } }`,
			map[string]any{"v": `[{"id":"b","displayName":"{\"de\":\"Zwei\",\"en\":\"Two\"}","menuIcon":"x","menuOrdinal":2,"name":"two","link":"https://b"},
			{"id":"a","displayName":"{\"en\":\"One\"}","menuIcon":"y","menuOrdinal":1,"name":"one","link":"https://a"}]`}, nil)
		var apps struct {
			ThirdPartyApplications []struct{ ID, DisplayName string }
		}
		alice.MustDo(t, `{ thirdPartyApplications { id displayName } }`, nil, &apps)
		if fmt.Sprint(apps.ThirdPartyApplications) != "[{a One} {b Zwei}]" {
			t.Errorf("third-party applications for alice: %+v", apps.ThirdPartyApplications)
		}
	})
}

func TestDemoPortal(t *testing.T) {
	srv := servertest.Start(t, "sqlite", portico.Config{Demo: true})
	demo, admin := srv.Login(t, "demo", "demo"), srv.Login(t, "admin", "admin")
	ds := dashboardsOf(t, demo)
	if len(ds) != 1 || ds[0].Title != "Start" {
		t.Fatalf("demo dashboards: %+v", ds)
	}
	var wt struct {
		DashboardTasks struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	demo.MustDo(t, `query($d: ID!) { dashboardTasks(dashboardId: $d, widgetId: "my-tasks") { edges { node { name } } } }`, map[string]any{"d": ds[0].ID}, &wt)
	if fmt.Sprint(wt.DashboardTasks.Edges) != "[{{Approve leave request}} {{Plan handover}}]" { // demo's own and its role Development's
		t.Errorf("demo's open tasks on the start dashboard: %+v", wt.DashboardTasks.Edges)
	}
	// The demo dashboard is valid: it survives an export and an import.
	var ex struct{ ExportDashboard string }
	admin.MustDo(t, `query($id: ID!) { exportDashboard(id: $id) }`, map[string]any{"id": ds[0].ID}, &ex)
	admin.MustDo(t, `mutation($j: String!) { importDashboard(input: {json: $j}) { warnings } }`, map[string]any{"j": ex.ExportDashboard}, nil)
	var n struct{ News []struct{ Title string } }
	demo.MustDo(t, `{ news { title } }`, nil, &n)
	if len(n.News) != 1 || n.News[0].Title != "Welcome to Portico" {
		t.Errorf("demo news: %+v", n.News)
	}
}
