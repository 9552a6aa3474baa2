package portico_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// conn is a page of any connection, its nodes by id.
type conn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       string
	}
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
}

// page asks one page of the connection at path (fields from data down) with query,
// whose variables are $n (first) and $a (after).
func page(t *testing.T, c *servertest.Client, query string, path []string, n int, after any) (conn, *servertest.Response) {
	t.Helper()
	r := c.Do(t, query, map[string]any{"n": n, "a": after})
	var out conn
	if r.Code() != "" {
		return out, r
	}
	raw := json.RawMessage(r.Data)
	for _, f := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v in %s", f, err, r.Data)
		}
		raw = m[f]
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v in %s", err, r.Data)
	}
	return out, r
}

// pageAll pages through a connection n at a time and returns the ids in order, checking
// that totalCount stays the number of nodes and that the last page says so.
func pageAll(t *testing.T, c *servertest.Client, query string, path []string, n int) []string {
	t.Helper()
	var ids []string
	var after any
	for i := 0; ; i++ {
		p, r := page(t, c, query, path, n, after)
		if r.Code() != "" {
			t.Fatalf("page %d: %v", i, r.Errors)
		}
		for _, e := range p.Edges {
			ids = append(ids, e.Node.ID)
		}
		if i > 0 && !p.PageInfo.HasPreviousPage && len(p.Edges) > 0 {
			t.Errorf("page %d: hasPreviousPage false after a cursor", i)
		}
		if !p.PageInfo.HasNextPage {
			if len(ids) != p.TotalCount {
				t.Errorf("paged %d nodes, totalCount %d", len(ids), p.TotalCount)
			}
			return ids
		}
		if len(p.Edges) != n || p.PageInfo.EndCursor != p.Edges[len(p.Edges)-1].Cursor {
			t.Fatalf("page %d: %d edges, endCursor %q", i, len(p.Edges), p.PageInfo.EndCursor)
		}
		after = p.PageInfo.EndCursor
		if i > 100 {
			t.Fatal("paging does not end")
		}
	}
}

const connFields = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }`

// TestListConnections: the connections beside the lists that can grow page across
// pages with their cursors, count exactly what the viewer may read (another user's
// dashboards and favorites not), and refuse hostile page sizes and cursors with
// BAD_USER_INPUT.
func TestListConnections(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice, demo := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "demo", "demo")

		// News: seven items, paged three at a time, in the order of news.
		for i := range 7 {
			admin.MustDo(t, `mutation($t: String!) { createNews(input: {translations: [{language: "en", title: $t, content: "c"}]}) { news { id } } }`,
				map[string]any{"t": fmt.Sprintf("News %d", i)}, nil)
		}
		newsQ := `query($n: Int, $a: Cursor) { newsConnection(first: $n, after: $a) { ` + connFields + ` } }`
		got := pageAll(t, demo, newsQ, []string{"newsConnection"}, 3)
		var plain struct{ News []struct{ ID string } }
		demo.MustDo(t, `{ news(first: 100) { id } }`, nil, &plain)
		if want := ids(plain.News); !slices.Equal(got, want) || len(got) < 7 {
			t.Errorf("newsConnection paged %v, news %v", got, want)
		}
		var last struct{ NewsConnection conn }
		demo.MustDo(t, `{ newsConnection(last: 2) { `+connFields+` } }`, nil, &last)
		if l := last.NewsConnection; len(l.Edges) != 2 || l.Edges[1].Node.ID != got[len(got)-1] || !l.PageInfo.HasPreviousPage || l.PageInfo.HasNextPage {
			t.Errorf("newsConnection(last: 2): %+v", l)
		}

		// Dashboards: demo's own and the public ones; alice's private ones not counted.
		for i := range 4 {
			newDashboard(t, demo, fmt.Sprintf("Demo %d", i), false, nil, nil)
		}
		for i := range 3 {
			newDashboard(t, alice, fmt.Sprintf("Alice %d", i), false, nil, nil)
		}
		dashQ := `query($n: Int, $a: Cursor) { dashboardsConnection(first: $n, after: $a) { ` + connFields + ` } }`
		got = pageAll(t, demo, dashQ, []string{"dashboardsConnection"}, 2)
		var dplain struct{ Dashboards []struct{ ID string } }
		demo.MustDo(t, `{ dashboards { id } }`, nil, &dplain)
		if want := ids(dplain.Dashboards); !slices.Equal(got, want) || len(got) < 4 {
			t.Errorf("dashboardsConnection paged %v, dashboards %v", got, want)
		}
		var aplain struct{ Dashboards []struct{ ID string } }
		alice.MustDo(t, `{ dashboards { id } }`, nil, &aplain)
		for _, id := range ids(aplain.Dashboards) {
			if slices.Contains(got, id) && !slices.Contains(ids(dplain.Dashboards), id) {
				t.Errorf("demo's dashboards hold alice's %s", id)
			}
		}
		if d, _ := page(t, alice, dashQ, []string{"dashboardsConnection"}, 1, nil); d.TotalCount != len(aplain.Dashboards) || d.TotalCount == len(got) {
			t.Errorf("alice's dashboards totalCount %d, list %d, demo's %d", d.TotalCount, len(aplain.Dashboards), len(got))
		}

		// Favorites: each user's own; alice's and admin's apart.
		addFav := func(c *servertest.Client, n int) []string {
			var procs struct {
				Processes struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			c.MustDo(t, `{ processes(first: 100) { edges { node { id } } } }`, nil, &procs)
			if len(procs.Processes.Edges) < n {
				t.Fatalf("%d processes to start", len(procs.Processes.Edges))
			}
			var out []string
			for _, e := range procs.Processes.Edges[:n] {
				c.MustDo(t, `mutation($p: ID!) { addFavoriteProcess(input: {processId: $p}) { processes { id } } }`, map[string]any{"p": e.Node.ID}, nil)
				out = append(out, e.Node.ID)
			}
			return out
		}
		for i := range 2 {
			admin.MustDo(t, `mutation($n: String!) { createExternalLink(input: {name: $n, link: "https://example.com/", public: true}) { process { id } } }`,
				map[string]any{"n": fmt.Sprintf("Link %d", i)}, nil)
		}
		aliceFavs, adminFavs := addFav(alice, 1), addFav(admin, 3)
		favQ := `query($n: Int, $a: Cursor) { favoriteProcessesConnection(first: $n, after: $a) { ` + connFields + ` } }`
		if got := pageAll(t, admin, favQ, []string{"favoriteProcessesConnection"}, 1); !slices.Equal(got, adminFavs) {
			t.Errorf("admin's favorites paged %v, want %v", got, adminFavs)
		}
		if got := pageAll(t, alice, favQ, []string{"favoriteProcessesConnection"}, 2); !slices.Equal(got, aliceFavs) {
			t.Errorf("alice's favorites paged %v, want %v", got, aliceFavs)
		}
		if f, _ := page(t, demo, favQ, []string{"favoriteProcessesConnection"}, 5, nil); f.TotalCount != 0 || len(f.Edges) != 0 {
			t.Errorf("demo, who has no favorites, counts %d", f.TotalCount)
		}

		// Hostile page sizes and cursors: BAD_USER_INPUT, never INTERNAL.
		var tasks struct {
			Tasks struct{ PageInfo struct{ EndCursor string } }
		}
		admin.MustDo(t, `{ tasks(first: 1) { pageInfo { endCursor } } }`, nil, &tasks)
		newsPage, _ := page(t, demo, newsQ, []string{"newsConnection"}, 2, nil)
		enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		for _, q := range []string{newsQ, dashQ, favQ} {
			for _, n := range []int{-1, -1 << 31, 1001, 1 << 30} {
				if _, r := page(t, demo, q, nil, n, nil); r.Code() != "BAD_USER_INPUT" {
					t.Errorf("first: %d: %q %v", n, r.Code(), r.Errors)
				}
			}
			for _, a := range []string{"garbage", enc("') OR 1=1 --"), enc("\x82\xa1i\x00\xa1v\xa31.x"), enc("\x82\xa1i\x00\xa1v\xa0"),
				enc("\x82\xa1i\x00\xa1v\xa91.2.3.4.5"), tasks.Tasks.PageInfo.EndCursor} {
				if _, r := page(t, demo, q, nil, 2, a); r.Code() != "BAD_USER_INPUT" {
					t.Errorf("after %q: %q %v", a, r.Code(), r.Errors)
				}
			}
		}
		// news keys have two parts, dashboards three: one list's cursor is no other's place.
		if _, r := page(t, demo, dashQ, nil, 2, newsPage.PageInfo.EndCursor); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("a news cursor for dashboards: %q %v", r.Code(), r.Errors)
		}
		if r := demo.Do(t, `{ newsConnection(first: 1, last: 1) { totalCount } }`, nil); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("first and last: %q", r.Code())
		}
	})
}

func ids[T interface{ ~struct{ ID string } }](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = struct{ ID string }(x).ID
	}
	return out
}

// TestHistoryConnection: a case's history pages in the order of history, with its
// exact count, and a task's events likewise.
func TestHistoryConnection(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ processes(first: 1) { edges { node { id } } } }`, nil, &procs)
		var started struct {
			StartProcess struct {
				Case struct{ ID string }
				Task struct{ ID string }
			}
		}
		admin.MustDo(t, `mutation($p: ID!) { startProcess(input: {processId: $p}) { case { id } task { id } } }`,
			map[string]any{"p": procs.Processes.Edges[0].Node.ID}, &started)
		cs, tk := started.StartProcess.Case.ID, started.StartProcess.Task.ID
		for i := range 5 {
			admin.MustDo(t, `mutation($c: ID!, $x: String!) { addCaseNote(input: {caseId: $c, content: $x}) { note { id } } }`,
				map[string]any{"c": cs, "x": fmt.Sprintf("note %d", i)}, nil)
			admin.MustDo(t, `mutation($c: ID!, $x: String!) { addTaskNote(input: {taskId: $c, content: $x}) { note { id } } }`,
				map[string]any{"c": tk, "x": fmt.Sprintf("task note %d", i)}, nil)
		}
		admin.MustDo(t, `mutation($t: ID!) { startTask(input: {id: $t}) { task { id } } }`, map[string]any{"t": tk}, nil)
		admin.MustDo(t, `mutation($t: ID!) { resetTask(input: {id: $t}) { task { id } } }`, map[string]any{"t": tk}, nil)

		histQ := fmt.Sprintf(`query($n: Int, $a: Cursor) { node(id: %q) { ... on Case { historyConnection(first: $n, after: $a) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ... on Node { id } } } } } } }`, cs)
		got := pageAll(t, admin, histQ, []string{"node", "historyConnection"}, 3)
		var plain struct {
			Node struct{ History []struct{ ID string } }
		}
		admin.MustDo(t, fmt.Sprintf(`{ node(id: %q) { ... on Case { history(first: 1000) { ... on Node { id } } } } }`, cs), nil, &plain)
		if want := ids(plain.Node.History); !slices.Equal(got, want) || len(got) < 11 {
			t.Errorf("historyConnection paged %v, history %v", got, want)
		}
		for _, n := range []int{-1, 5000} {
			if _, r := page(t, admin, histQ, nil, n, nil); r.Code() != "BAD_USER_INPUT" {
				t.Errorf("history first: %d: %q", n, r.Code())
			}
		}
		if _, r := page(t, admin, histQ, nil, 2, "bm90IGEgY3Vyc29y"); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("history with a bad cursor: %q %v", r.Code(), r.Errors)
		}

		evQ := fmt.Sprintf(`query($n: Int, $a: Cursor) { node(id: %q) { ... on Task { eventsConnection(first: $n, after: $a) { %s } } } }`, tk, connFields)
		got = pageAll(t, admin, evQ, []string{"node", "eventsConnection"}, 1)
		var evs struct {
			Node struct{ Events []struct{ ID string } }
		}
		admin.MustDo(t, fmt.Sprintf(`{ node(id: %q) { ... on Task { events { id } } } }`, tk), nil, &evs)
		if want := ids(evs.Node.Events); !slices.Equal(got, want) || len(got) < 2 {
			t.Errorf("eventsConnection paged %v, events %v", got, want)
		}
	})
}

// TestChartDisplayLabels: chart codes come with display texts in the viewer's language:
// its own language setting (German), else the application's (English).
func TestChartDisplayLabels(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, demo := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo")
		demo.MustDo(t, `mutation { updateMySettings(input: {language: "de"}) { settings { effectiveLanguage } } }`, nil, nil)
		type data struct {
			Labels, DisplayLabels []string
			LabelKind             string
		}
		chart := func(c *servertest.Client, in string) data {
			var out struct{ StatisticChart data }
			c.MustDo(t, `{ statisticChart(input: `+in+`) { labels displayLabels labelKind } }`, nil, &out)
			if len(out.StatisticChart.Labels) != len(out.StatisticChart.DisplayLabels) {
				t.Fatalf("%s: labels %v, display labels %v", in, out.StatisticChart.Labels, out.StatisticChart.DisplayLabels)
			}
			return out.StatisticChart
		}
		texts := func(d data) map[string]string {
			m := map[string]string{}
			for i, l := range d.Labels {
				m[l] = d.DisplayLabels[i]
			}
			return m
		}
		for _, c := range []struct {
			in, kind, code, en, de string
		}{
			{`{target: TASKS, groupBy: PRIORITY}`, "PRIORITY", "NORMAL", "Normal", "Normal"},
			{`{target: TASKS, groupBy: BUSINESS_STATE}`, "TASK_BUSINESS_STATE", "OPEN", "Open", "Offen"},
			{`{target: CASES, groupBy: STATE}`, "CASE_STATE", "RUNNING", "Running", "Laufend"},
			// Which expiry bucket the demo's tasks fall in depends on today's date.
			{`{target: TASKS, groupBy: EXPIRY}`, "EXPIRY", "*", "", ""},
			{`{type: "TASK_BY_PRIORITY"}`, "PRIORITY", "NORMAL", "Normal", "Normal"},
		} {
			en, de := chart(admin, c.in), chart(demo, c.in)
			if en.LabelKind != c.kind || de.LabelKind != c.kind {
				t.Errorf("%s: kinds %s and %s, want %s", c.in, en.LabelKind, de.LabelKind, c.kind)
			}
			if c.code == "*" {
				expiry := map[string][2]string{"EXPIRED": {"Expired", "Abgelaufen"}, "TODAY": {"Today", "Heute"}, "THIS_WEEK": {"This week", "Diese Woche"},
					"THIS_MONTH": {"This month", "Diesen Monat"}, "THIS_YEAR": {"This year", "Dieses Jahr"}, "LATER": {"Later", "Später"}, "NONE": {"No expiry", "Kein Ablauf"}}
				if len(en.Labels) == 0 {
					t.Errorf("%s: no labels", c.in)
				}
				for code, text := range texts(en) {
					if want, ok := expiry[code]; !ok || text != want[0] {
						t.Errorf("%s in English: %s is %q, want %q", c.in, code, text, want[0])
					}
				}
				for code, text := range texts(de) {
					if want, ok := expiry[code]; !ok || text != want[1] {
						t.Errorf("%s in German: %s is %q, want %q", c.in, code, text, want[1])
					}
				}
				continue
			}
			if got, ok := texts(en)[c.code]; !ok || got != c.en {
				t.Errorf("%s in English: %v / %v", c.in, en.Labels, en.DisplayLabels)
			}
			if got, ok := texts(de)[c.code]; ok && got != c.de {
				t.Errorf("%s in German: %s is %q, want %q", c.in, c.code, got, c.de)
			}
		}
		// A German viewer's chart of its own tasks by priority, with codes German texts have.
		de := chart(demo, `{target: TASKS, groupBy: BUSINESS_STATE}`)
		for i, l := range de.Labels {
			if l == "OPEN" && de.DisplayLabels[i] != "Offen" {
				t.Errorf("OPEN for a German viewer: %q", de.DisplayLabels[i])
			}
		}
		if len(de.Labels) == 0 {
			t.Error("demo sees no tasks to chart")
		}
		high := chart(admin, `{target: TASKS, groupBy: CATEGORY}`)
		for i, l := range high.Labels {
			if l != "NONE" && high.DisplayLabels[i] != l {
				t.Errorf("a category %q shown as %q", l, high.DisplayLabels[i])
			}
		}
	})
}
