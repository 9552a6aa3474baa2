package portico_test

// Replays of the security review's filter requests (issue 11, item 1): a custom-field
// name reached the SQL text through the task and case lists, dashboard widgets,
// statistic charts, the xlsx export and taskUpdated. Every one must now be refused with
// BAD_USER_INPUT naming filter.NamePattern, never answered with a count of everything;
// hostile values are bound and match only themselves. On both databases.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/xuri/excelize/v2"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/dashboard"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/servertest"
)

// reviewName is the reviewer's name; the others try the other quoting styles and paths.
const reviewName = "a') OR 1=1 OR ('"

var hostileNames = []string{
	reviewName,
	`costCenter'`,
	`x" OR 1=1 --`,
	`a'->>'b`,
	`$.costCenter`,
	`costCenter.x`,
	`"costCenter"`,
	`a)) UNION SELECT key FROM server_secrets --`,
	``,
	` costCenter`,
	"cost\nCenter",
	"café",
	"1abc",
	strings.Repeat("a", 65),
}

// hostileValues are bound parameters: each matches exactly the task storing it.
var hostileValues = []string{
	`') OR 1=1`,
	`' OR '1'='1`,
	`"`,
	`\`,
	`%`,
	`_`,
	`NEAR(a b) OR * AND "x"`,
	`costCenter:* | !x`,
	`'; DROP TABLE tasks; --`,
	"null",
	"\x00",
	strings.Repeat("x'", 5000),
}

// mustRefuse checks a BAD_USER_INPUT that names the name pattern and gives no data.
func mustRefuse(t *testing.T, r *servertest.Response) {
	t.Helper()
	wantErr(t, r, "BAD_USER_INPUT", filter.NamePattern)
	if s := string(r.Data); strings.Contains(s, "totalCount") || strings.Contains(s, "values") {
		t.Errorf("refused, but data is %s", s)
	}
}

func totalTasks(t *testing.T, c *servertest.Client, where string) int {
	t.Helper()
	var out struct{ Tasks struct{ TotalCount int } }
	c.MustDo(t, `query($w: TaskWhereInput) { tasks(first: 50, where: $w) { totalCount } }`, map[string]any{"w": json.RawMessage(where)}, &out)
	return out.Tasks.TotalCount
}

// TestHostileTaskListCustomFieldName replays the reviewer's request as a user who sees one
// task, then the same name nested in and/or/not, in hasCaseWith and in the case list's
// hasTasksWith, and the other hostile names.
func TestHostileTaskListCustomFieldName(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		all := srv.DB.Client.Task.Query().CountX(auth.SystemContext(context.Background()))
		// The demo user who sees the fewest tasks, but at least one.
		var user *servertest.Client
		seen := 0
		for _, name := range []string{"demo", "alice", "bob", "carol"} {
			c := srv.Login(t, name, name)
			if n := totalTasks(t, c, `null`); n > 0 && (user == nil || n < seen) {
				user, seen = c, n
			}
		}
		if user == nil || seen >= all {
			t.Fatalf("no demo user sees fewer than all %d tasks", all)
		}
		t.Logf("%s: the user sees %d of %d tasks", dialect, seen, all)

		r := user.Do(t, `{ tasks(first: 50, where: {customFields: [{name: "a') OR 1=1 OR ('", equals: "z"}]}) { totalCount } }`, nil)
		mustRefuse(t, r)

		for _, name := range hostileNames {
			cf := map[string]any{"customFields": []map[string]any{{"name": name, "equals": "z"}}}
			for _, where := range []any{
				cf,
				map[string]any{"or": []any{map[string]any{"nameNEQ": "x"}, cf}},
				map[string]any{"not": cf},
				map[string]any{"and": []any{cf}},
				map[string]any{"hasCaseWith": []any{map[string]any{"hasTasksWith": []any{cf}}}},
			} {
				mustRefuse(t, user.Do(t, `query($w: TaskWhereInput) { tasks(first: 50, where: $w) { totalCount } }`, map[string]any{"w": where}))
			}
			mustRefuse(t, user.Do(t, `query($w: CaseWhereInput) { cases(first: 50, where: $w) { totalCount } }`,
				map[string]any{"w": map[string]any{"hasTasksWith": []any{cf}}}))
		}
		// The statistic chart's list where narrows through the same parts.
		mustRefuse(t, user.Do(t, `query($w: TaskWhereInput) { statisticChart(input: {target: TASKS, groupBy: STATE, taskWhere: $w}) { values } }`,
			map[string]any{"w": map[string]any{"customFields": []map[string]any{{"name": reviewName, "equals": "z"}}}}))
	})
}

// TestHostileCustomFieldValues: values with quotes, SQL and FTS syntax are bound: a
// custom field storing one is found by exactly that value and nothing else is.
func TestHostileCustomFieldValues(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := auth.SystemContext(context.Background())
		c := srv.DB.Client
		admin := srv.Login(t, "admin", "admin")
		tasks := c.Task.Query().Order(task.ByID()).AllX(ctx)
		for i, v := range hostileValues {
			if strings.ContainsRune(v, 0) && dialect == "postgres" {
				continue // PostgreSQL text cannot hold NUL; the value is still refused below as no match
			}
			c.Task.UpdateOne(tasks[i%len(tasks)]).SetCustomFields(map[string]any{"note": v}).ExecX(ctx)
			where := fmt.Sprintf(`{"customFields":[{"name":"note","equals":%s}]}`, jsonText(v))
			if n := totalTasks(t, admin, where); n != 1 {
				t.Errorf("value %.40q: %d tasks, want the 1 storing it", v, n)
			}
		}
		for _, v := range []string{`') OR 1=1 OR ('`, `' OR ''='`, `x' OR custom_fields IS NOT NULL OR 'x`} {
			where := fmt.Sprintf(`{"customFields":[{"name":"note","equals":%s}]}`, jsonText(v))
			if n := totalTasks(t, admin, where); n != 0 {
				t.Errorf("value %q matches %d tasks, want 0", v, n)
			}
		}
	})
}

func jsonText(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestHostileDashboardWidgetFilters: a widget filter on customFields.<hostile name> is
// refused when saved, and one stored before (the document written directly) is refused
// when run; number operands that cannot be compared are refused, huge and negative
// ones that can are answered.
func TestHostileDashboardWidgetFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := auth.SystemContext(context.Background())
		c := srv.DB.Client
		alice := srv.Login(t, "alice", "alice")
		widget := func(field, op string, values ...string) []map[string]any {
			return []map[string]any{{"id": "w", "type": "task", "layout": map[string]any{"w": 6, "h": 4},
				"filters": []map[string]any{{"field": field, "operator": op, "values": values}}}}
		}
		create := func(w []map[string]any) *servertest.Response {
			return alice.Do(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "x"}}, "w": w})
		}
		for _, name := range hostileNames {
			for _, op := range []string{"is", "not_empty", "greater"} {
				wantErr(t, create(widget("customFields."+name, op, "1")), "BAD_USER_INPUT")
			}
		}
		mustRefuse(t, create(widget("customFields."+reviewName, "is", "z")))

		// A dashboard stored with a hostile name before names were checked.
		id := newDashboard(t, alice, "legit", false, nil, widget("customFields.costCenter", "is", "z"))
		d := c.Dashboard.GetX(ctx, mustAtoi(t, id))
		doc := strings.Replace(d.Document, "customFields.costCenter", "customFields."+strings.Trim(jsonText(reviewName), `"`), 1)
		c.Dashboard.UpdateOneID(d.ID).SetDocument(doc).ExecX(ctx)
		if c.Dashboard.Query().Where(dashboard.DocumentContains(reviewName)).CountX(ctx) != 1 {
			t.Fatal("the hostile document was not stored")
		}
		mustRefuse(t, alice.Do(t, `query($d: ID!) { dashboardTasks(dashboardId: $d, widgetId: "w") { totalCount } }`, map[string]any{"d": id}))

		// Numbers: custom field cost holds 5 on one task alice sees.
		var mine struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		alice.MustDo(t, `{ tasks(first: 1) { edges { node { id } } } }`, nil, &mine)
		c.Task.UpdateOneID(mustAtoi(t, mine.Tasks.Edges[0].Node.ID)).SetCustomFields(map[string]any{"cost": 5, "label": "five"}).ExecX(ctx)
		count := func(w []map[string]any) int {
			t.Helper()
			var out struct {
				CreateDashboard struct{ Dashboard struct{ ID string } }
			}
			alice.MustDo(t, createDash, map[string]any{"t": []map[string]any{{"locale": "en", "value": "n"}}, "w": w}, &out)
			var res struct{ DashboardTasks struct{ TotalCount int } }
			alice.MustDo(t, `query($d: ID!) { dashboardTasks(dashboardId: $d, widgetId: "w") { totalCount } }`,
				map[string]any{"d": out.CreateDashboard.Dashboard.ID}, &res)
			return res.DashboardTasks.TotalCount
		}
		for _, tt := range []struct {
			field, op string
			values    []string
			want      int
		}{
			{"customFields.cost", "greater", []string{"-1e308"}, 1},
			{"customFields.cost", "less", []string{"1e308"}, 1},
			{"customFields.cost", "between", []string{"-99999999999999999999", "5"}, 1},
			{"customFields.cost", "equal", []string{"5"}, 1},
			{"customFields.cost", "greater", []string{"5"}, 0},
			{"customFields.label", "greater", []string{"0"}, 0}, // text is no number: no match, no SQL error
			{"customFields.cost", "not_empty", nil, 1},
			{"customFields.label", "is", []string{"five"}, 1},
			{"customFields.label", "is", []string{"') OR 1=1 OR ('"}, 0},
			{"id", "greater", []string{"-9223372036854775808"}, -1}, // every task alice sees
			{"id", "less", []string{"-5"}, 0},
		} {
			got := count(widget(tt.field, tt.op, tt.values...))
			want := tt.want
			if want < 0 {
				want = totalTasks(t, alice, "null")
			}
			if got != want {
				t.Errorf("%s %s %v: %d tasks, want %d", tt.field, tt.op, tt.values, got, want)
			}
		}
		for _, bad := range []struct {
			field string
			value string
		}{
			{"customFields.cost", "1e400"}, {"customFields.cost", "NaN"}, {"customFields.cost", "-Inf"},
			{"id", "99999999999999999999"}, {"id", "1.5"}, {"id", "1e3"},
		} {
			wantErr(t, create(widget(bad.field, "equal", bad.value)), "BAD_USER_INPUT", "not a")
		}
	})
}

// TestHostileStatisticChartCustomFieldFilters: customFieldFilters names go through the
// same check; a legit one still narrows the chart.
func TestHostileStatisticChartCustomFieldFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := auth.SystemContext(context.Background())
		admin := srv.Login(t, "admin", "admin")
		q := `query($f: Map) { statisticChart(input: {type: "CASES_BY_STATE", filter: {customFieldFilters: $f}}) { values total } }`
		for _, name := range hostileNames {
			mustRefuse(t, admin.Do(t, q, map[string]any{"f": map[string]any{name: []string{"z"}}}))
		}
		// Nor can an admin store one in the charts of the statistics page.
		charts, _ := json.Marshal([]map[string]any{{"id": "a", "type": "CASES_BY_STATE", "names": []any{},
			"filter": map[string]any{"timePeriodSelection": "", "customFieldFilters": map[string]any{reviewName: []string{"z"}}}}})
		mustRefuse(t, admin.Do(t, `mutation($v: String!) { setVariable(input: {name: "Portal.StatisticCharts", value: $v}) { variable { name } } }`,
			map[string]any{"v": string(charts)}))
		c := srv.DB.Client
		first := c.BusinessCase.Query().Order(businesscase.ByID()).FirstX(ctx)
		c.BusinessCase.UpdateOne(first).SetCustomFields(map[string]any{"region": "north"}).ExecX(ctx)
		var out struct{ StatisticChart struct{ Total float64 } }
		for _, tt := range []struct {
			values []string
			want   float64
		}{{[]string{"north"}, 1}, {[]string{"south", "north"}, 1}, {[]string{"') OR 1=1 OR ('"}, 0}, {[]string{"south"}, 0}} {
			admin.MustDo(t, q, map[string]any{"f": map[string]any{"region": tt.values}}, &out)
			if out.StatisticChart.Total != tt.want {
				t.Errorf("region in %v: total %v, want %v", tt.values, out.StatisticChart.Total, tt.want)
			}
		}
	})
}

// TestHostileExportWhere: GET /export/tasks.xlsx?where= with the hostile name is 400
// BAD_USER_INPUT at once (it ran the keyset loop over everything before); hostile values
// export only the rows storing them; a legit filter exports its rows.
func TestHostileExportWhere(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := auth.SystemContext(context.Background())
		c := srv.DB.Client
		admin := srv.Login(t, "admin", "admin")
		first := c.Task.Query().Order(task.ByID()).FirstX(ctx)
		c.Task.UpdateOne(first).SetCustomFields(map[string]any{"costCenter": "CC-7", "q": `') OR 1=1`}).ExecX(ctx)
		get := func(path, where string) (int, []byte) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path+"?"+url.Values{"where": {where}}.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+admin.Token)
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("GET %s took %v", path, d)
			}
			return resp.StatusCode, body
		}
		for _, name := range hostileNames {
			cf := fmt.Sprintf(`{"customFields":[{"name":%s,"equals":"z"}]}`, jsonText(name))
			for _, where := range []string{cf, `{"or":[{"nameNEQ":"x"},` + cf + `]}`, `{"not":` + cf + `}`} {
				status, body := get("/export/tasks.xlsx", where)
				var r servertest.Response
				if status != http.StatusBadRequest || json.Unmarshal(body, &r) != nil {
					t.Fatalf("where %s: HTTP %d: %.200s", where, status, body)
				}
				wantErr(t, &r, "BAD_USER_INPUT", "where.", filter.NamePattern)
			}
		}
		status, body := get("/export/cases.xlsx", fmt.Sprintf(`{"hasTasksWith":[{"customFields":[{"name":%s,"equals":"z"}]}]}`, jsonText(reviewName)))
		if status != http.StatusBadRequest || !bytes.Contains(body, []byte("BAD_USER_INPUT")) {
			t.Errorf("cases export with a hostile nested name: HTTP %d: %.200s", status, body)
		}
		for _, tt := range []struct {
			where string
			want  int
		}{
			{`{"customFields":[{"name":"costCenter","equals":"CC-7"}]}`, 1},
			{`{"customFields":[{"name":"q","equals":"') OR 1=1"}]}`, 1},
			{`{"customFields":[{"name":"costCenter","equals":"') OR 1=1 OR ('"}]}`, 0},
			{`{"text":"\" OR 1=1 --"}`, 0},
		} {
			status, body := get("/export/tasks.xlsx", tt.where)
			if status != http.StatusOK {
				t.Fatalf("where %s: HTTP %d: %.200s", tt.where, status, body)
			}
			if n := xlsxRows(t, body); n != tt.want {
				t.Errorf("where %s: %d rows, want %d", tt.where, n, tt.want)
			}
		}
	})
}

// xlsxRows counts the data rows of a workbook's first sheet.
func xlsxRows(t *testing.T, body []byte) int {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return len(rows) - 1
}

// TestHostileTaskUpdatedWhere: subscribing with the hostile name is an error message
// with BAD_USER_INPUT on the websocket, not a subscription to every task; a legit
// custom-field filter gets the events of matching tasks only.
func TestHostileTaskUpdatedWhere(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := auth.SystemContext(context.Background())
		c := srv.DB.Client
		admin := srv.Login(t, "admin", "admin")
		for _, name := range []string{reviewName, `x" OR 1=1 --`, ""} {
			q := fmt.Sprintf(`subscription { taskUpdated(where: {customFields: [{name: %s, equals: "z"}]}) { kind task { id name } } }`, jsonText(name))
			conn := rawSubscribe(t, srv, admin.Token, q)
			var m struct {
				Type    string
				Payload json.RawMessage
			}
			read := func() {
				t.Helper()
				m.Type = ""
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				for m.Type == "" || m.Type == "ping" || m.Type == "pong" {
					if err := conn.ReadJSON(&m); err != nil {
						t.Fatalf("read: %v", err)
					}
				}
			}
			// gqlgen answers a refused argument with one result holding the error, then complete.
			read()
			var res servertest.Response
			if m.Type == "next" {
				json.Unmarshal(m.Payload, &res)
			}
			if m.Type != "next" || string(res.Data) != "null" || res.Code() != "BAD_USER_INPUT" ||
				!strings.Contains(res.Errors[0].Message, filter.NamePattern) {
				t.Fatalf("name %q: got %s %s, want no data and BAD_USER_INPUT", name, m.Type, m.Payload)
			}
			if read(); m.Type != "complete" {
				t.Fatalf("name %q: after the error %s %s, want complete", name, m.Type, m.Payload)
			}
		}

		// The legit filter: an event for the task whose costCenter is CC-7, none for another.
		ts := c.Task.Query().Order(task.ByID()).Limit(2).AllX(ctx)
		match, other := ts[0], ts[1]
		c.Task.UpdateOne(match).SetCustomFields(map[string]any{"costCenter": "CC-7"}).ExecX(ctx)
		sub := subscribe(t, srv, admin.Token, `subscription { taskUpdated(where: {customFields: [{name: "costCenter", equals: "CC-7"}]}) { kind task { id name state } } }`)
		touch := func(id int) {
			admin.MustDo(t, `mutation($id: ID!) { updateTask(input: {id: $id, description: "touched"}) { task { id } } }`, map[string]any{"id": id}, nil)
		}
		touch(other.ID)
		touch(match.ID)
		if _, name := sub.event(); name != match.Name {
			t.Fatalf("got an event for %q, want only %q", name, match.Name)
		}
	})
}

// rawSubscribe opens a graphql-transport-ws connection and sends one subscribe.
func rawSubscribe(t *testing.T, srv *servertest.Server, token, query string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("init: %v %+v", err, ack)
	}
	if err := conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		t.Fatal(err)
	}
	return conn
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}
