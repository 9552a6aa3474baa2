package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

var taskHeader = []string{"ID", "Name", "Description", "State", "Business state", "Priority", "Category",
	"Case ID", "Responsibles", "Worker", "Creator", "Created (UTC)", "Started (UTC)", "Ended (UTC)", "Expiry (UTC)"}

var caseHeader = []string{"ID", "Name", "Description", "State", "Business state", "Category",
	"Creator", "Owner", "Created (UTC)", "Ended (UTC)"}

// fixture is a demo server with a second case, owned by the admin, whose tasks demo can
// not see: one for the role Team B (bob's), one for alice, one DELAYED for Team B.
type fixture struct {
	srv                  *servertest.Server
	ops                  *ent.BusinessCase
	teamB, alice, hidden *ent.Task
}

func setup(t *testing.T, dialect string) *fixture {
	t.Helper()
	srv := servertest.Start(t, dialect, portico.Config{Demo: true})
	ctx := policy.SystemContext(context.Background())
	c := srv.DB.Client
	admin := c.User.Query().Where(user.Name("admin")).OnlyX(ctx)
	teamB := c.Role.Query().Where(role.Name("Team B")).OnlyX(ctx)
	alice := c.User.Query().Where(user.Name("alice")).OnlyX(ctx)
	f := &fixture{srv: srv}
	f.ops = c.BusinessCase.Create().SetName("Server move").SetDescription("Move the racks").SetCategory("IT").
		SetState(businesscase.StateRUNNING).SetCreator(admin).SetOwner(admin).SaveX(ctx)
	mk := func(name string, state task.State) *ent.Task {
		return c.Task.Create().SetName(name).SetCategory("IT").SetState(state).SetCaseID(f.ops.ID).
			SetCreator(admin).SaveX(ctx)
	}
	f.teamB = mk("Review rack plan", task.StateSUSPENDED)
	c.TaskResponsible.Create().SetTaskID(f.teamB.ID).SetRoleID(teamB.ID).ExecX(ctx)
	f.alice = mk("Call the movers", task.StateSUSPENDED)
	c.TaskResponsible.Create().SetTaskID(f.alice.ID).SetUserID(alice.ID).ExecX(ctx)
	f.hidden = mk("Later check", task.StateDELAYED)
	c.TaskResponsible.Create().SetTaskID(f.hidden.ID).SetRoleID(teamB.ID).ExecX(ctx)
	return f
}

// download GETs an export and returns the response with its body read.
func download(t testing.TB, base, path, token string, query url.Values) (*http.Response, []byte) {
	t.Helper()
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", u, err)
	}
	return resp, body
}

// sheets opens an xlsx and returns each sheet's rows by sheet name, in sheet order;
// opts may ask for raw cell values (no date formatting, much faster).
func sheets(t testing.TB, body []byte, opts ...excelize.Options) ([]string, map[string][][]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("open xlsx (%d bytes): %v", len(body), err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, opts...)
		if err != nil {
			t.Fatalf("rows of %s: %v", name, err)
		}
		out[name] = rows
	}
	return f.GetSheetList(), out
}

// fetch downloads an export that must succeed and returns its single sheet's rows
// without the header, which must be want.
func fetch(t testing.TB, srv *servertest.Server, path, token string, query url.Values, header []string) [][]string {
	t.Helper()
	resp, body := download(t, srv.URL, path, token, query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != xlsxType {
		t.Fatalf("Content-Type %q", ct)
	}
	names, all := sheets(t, body)
	if len(names) != 1 {
		t.Fatalf("sheets %v, want one", names)
	}
	rows := all[names[0]]
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("header %q, want %q", rows[:min(1, len(rows))], header)
	}
	return rows[1:]
}

// ids returns the first column of rows as numbers.
func ids(t testing.TB, rows [][]string) []int {
	t.Helper()
	out := make([]int, len(rows))
	for i, r := range rows {
		id, err := strconv.Atoi(r[0])
		if err != nil {
			t.Fatalf("row %d: id %q: %v", i+1, r[0], err)
		}
		out[i] = id
	}
	return out
}

// listIDs returns the ids of what a GraphQL list query (tasks or cases) returns to c.
func listIDs(t testing.TB, c *servertest.Client, field, where string) []int {
	t.Helper()
	var out map[string]struct {
		Edges []struct{ Node struct{ ID string } }
	}
	c.MustDo(t, fmt.Sprintf(`{ %s(first: 1000, where: %s) { edges { node { id } } } }`, field, where), nil, &out)
	var res []int
	for _, e := range out[field].Edges {
		id, _ := strconv.Atoi(e.Node.ID)
		res = append(res, id)
	}
	slices.Sort(res)
	return res
}

func sorted(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }

// TestExportVisibility downloads both exports as the admin and as demo users: each gets
// exactly what its GraphQL lists return, the admin everything, demo none of the second
// case's tasks.
func TestExportVisibility(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		f := setup(t, dialect)
		ctx := policy.SystemContext(context.Background())
		allTasks := f.srv.DB.Client.Task.Query().IDsX(ctx)
		allCases := f.srv.DB.Client.BusinessCase.Query().IDsX(ctx)
		seen := map[string][]int{}
		for _, name := range []string{"admin", "demo", "alice", "bob"} {
			c := f.srv.Login(t, name, name)
			tasks := ids(t, fetch(t, f.srv, "/export/tasks.xlsx", c.Token, nil, taskHeader))
			if want := listIDs(t, c, "tasks", "{}"); !slices.Equal(sorted(tasks), want) {
				t.Errorf("%s: exported tasks %v, the tasks query returns %v", name, sorted(tasks), want)
			}
			cases := ids(t, fetch(t, f.srv, "/export/cases.xlsx", c.Token, nil, caseHeader))
			if want := listIDs(t, c, "cases", "{}"); !slices.Equal(sorted(cases), want) {
				t.Errorf("%s: exported cases %v, the cases query returns %v", name, sorted(cases), want)
			}
			seen[name] = tasks
			seen[name+" cases"] = cases
		}
		if !slices.Equal(sorted(seen["admin"]), sorted(allTasks)) || !slices.Equal(sorted(seen["admin cases"]), sorted(allCases)) {
			t.Errorf("admin exported tasks %v cases %v, want all: %v %v", seen["admin"], seen["admin cases"], allTasks, allCases)
		}
		for _, id := range []int{f.teamB.ID, f.alice.ID, f.hidden.ID} {
			if slices.Contains(seen["demo"], id) {
				t.Errorf("demo exported task %d of a case it is not involved in", id)
			}
		}
		if slices.Contains(seen["demo cases"], f.ops.ID) {
			t.Errorf("demo exported case %d", f.ops.ID)
		}
		if len(seen["demo"]) == 0 {
			t.Errorf("demo exported no task; it sees the demo case's")
		}
		if !slices.Contains(seen["bob"], f.teamB.ID) || slices.Contains(seen["bob"], f.hidden.ID) || slices.Contains(seen["bob"], f.alice.ID) {
			t.Errorf("bob exported %v: want %d (Team B), not the delayed %d nor alice's %d", seen["bob"], f.teamB.ID, f.hidden.ID, f.alice.ID)
		}
	})
}

// TestExportCells checks every column of a task and a case row.
func TestExportCells(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		f := setup(t, dialect)
		ctx := policy.SystemContext(context.Background())
		c := f.srv.DB.Client
		carol := c.User.Query().Where(user.Name("carol")).OnlyX(ctx)
		devs := c.Role.Query().Where(role.Name("Development")).OnlyX(ctx)
		c.TaskResponsible.Create().SetTaskID(f.alice.ID).SetRoleID(devs.ID).ExecX(ctx)
		c.TaskResponsible.Create().SetTaskID(f.alice.ID).SetUserID(carol.ID).SetExpiry(true).ExecX(ctx) // not current
		started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		expiry := time.Date(2026, 3, 9, 17, 0, 0, 0, time.FixedZone("CET", 3600)) // 16:00 UTC
		c.Task.UpdateOne(f.alice).SetDescription("Three quotes").SetState(task.StateRESUMED).
			SetPriority(task.PriorityHIGH).SetWorker(carol).SetStartedAt(started).SetExpiryTimestamp(expiry).ExecX(ctx)
		ended := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		c.BusinessCase.UpdateOne(f.ops).SetState(businesscase.StateDONE).SetEndedAt(ended).ExecX(ctx)
		admin := f.srv.Login(t, "admin", "admin")

		rows := fetch(t, f.srv, "/export/tasks.xlsx", admin.Token, nil, taskHeader)
		created := c.Task.GetX(ctx, f.alice.ID).CreatedAt.UTC().Format("2006-01-02 15:04:05")
		want := []string{strconv.Itoa(f.alice.ID), "Call the movers", "Three quotes", "RESUMED", "IN_PROGRESS",
			"HIGH", "IT", strconv.Itoa(f.ops.ID), "alice, Development", "carol", "admin", created,
			"2026-03-04 05:06:07", "", "2026-03-09 16:00:00"}
		if got := rowOf(rows, f.alice.ID, len(taskHeader)); !slices.Equal(got, want) {
			t.Errorf("task row\n got %q\nwant %q", got, want)
		}

		rows = fetch(t, f.srv, "/export/cases.xlsx", admin.Token, nil, caseHeader)
		created = c.BusinessCase.GetX(ctx, f.ops.ID).CreatedAt.UTC().Format("2006-01-02 15:04:05")
		want = []string{strconv.Itoa(f.ops.ID), "Server move", "Move the racks", "DONE", "DONE", "IT",
			"admin", "admin", created, "2026-04-01 00:00:00"}
		if got := rowOf(rows, f.ops.ID, len(caseHeader)); !slices.Equal(got, want) {
			t.Errorf("case row\n got %q\nwant %q", got, want)
		}
	})
}

// rowOf returns the row of id, padded to width (GetRows drops empty trailing cells).
func rowOf(rows [][]string, id, width int) []string {
	for _, r := range rows {
		if r[0] == strconv.Itoa(id) {
			for len(r) < width {
				r = append(r, "")
			}
			return r
		}
	}
	return nil
}

// TestExportFilters narrows the exports with where filters, the custom ones too, and
// checks each against the GraphQL list with the same filter.
func TestExportFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		f := setup(t, dialect)
		ctx := policy.SystemContext(context.Background())
		c := f.srv.DB.Client
		teamB := c.Role.Query().Where(role.Name("Team B")).OnlyIDX(ctx)
		c.Task.UpdateOne(f.alice).SetCustomFields(map[string]any{"costCenter": "CC-7"}).SetPriority(task.PriorityHIGH).ExecX(ctx)
		admin := f.srv.Login(t, "admin", "admin")
		tests := []struct {
			name, path, gql, where string
			want                   int
		}{
			{"business state", "/export/tasks.xlsx", "tasks", `{"businessState":["DELAYED"]}`, 1},
			{"text", "/export/tasks.xlsx", "tasks", `{"text":"MOVERS"}`, 1},
			{"responsible role", "/export/tasks.xlsx", "tasks", fmt.Sprintf(`{"responsibleRoleIds":["%d"]}`, teamB), 2},
			{"custom field", "/export/tasks.xlsx", "tasks", `{"customFields":[{"name":"costCenter","equals":"CC-7"}]}`, 1},
			{"generated and custom", "/export/tasks.xlsx", "tasks", `{"priority":"HIGH","category":"IT"}`, 1},
			{"or", "/export/tasks.xlsx", "tasks", `{"or":[{"name":"Later check"},{"text":"rack"}]}`, 2},
			{"case id", "/export/tasks.xlsx", "tasks", fmt.Sprintf(`{"caseID":%d}`, f.ops.ID), 3},
			{"nothing", "/export/tasks.xlsx", "tasks", `{"text":"zebra"}`, 0},
			{"case business state", "/export/cases.xlsx", "cases", `{"businessState":["OPEN"],"text":"move"}`, 1},
			{"case category", "/export/cases.xlsx", "cases", `{"category":"HR"}`, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				header := taskHeader
				if tt.gql == "cases" {
					header = caseHeader
				}
				got := sorted(ids(t, fetch(t, f.srv, tt.path, admin.Token, url.Values{"where": {tt.where}}, header)))
				if len(got) != tt.want {
					t.Errorf("exported %v, want %d rows", got, tt.want)
				}
				vars := map[string]any{}
				if err := json.Unmarshal([]byte(tt.where), &vars); err != nil {
					t.Fatal(err)
				}
				var out map[string]struct {
					Edges []struct{ Node struct{ ID string } }
				}
				typ := "TaskWhereInput"
				if tt.gql == "cases" {
					typ = "CaseWhereInput"
				}
				admin.MustDo(t, fmt.Sprintf(`query($w: %s) { %s(first: 1000, where: $w) { edges { node { id } } } }`, typ, tt.gql),
					map[string]any{"w": vars}, &out)
				var want []int
				for _, e := range out[tt.gql].Edges {
					id, _ := strconv.Atoi(e.Node.ID)
					want = append(want, id)
				}
				if !slices.Equal(got, sorted(want)) {
					t.Errorf("exported %v, the %s query returns %v", got, tt.gql, sorted(want))
				}
			})
		}
	})
}

// TestExportErrors checks the JSON error answers: no or a bad token is 401
// UNAUTHENTICATED, broken or unknown input 400 BAD_USER_INPUT naming what is wrong.
func TestExportErrors(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		token := srv.Login(t, "demo", "demo").Token
		tests := []struct {
			name, path, token string
			query             url.Values
			status            int
			code              string
			message           []string // parts the message must hold
		}{
			{"no token", "/export/tasks.xlsx", "", nil, 401, "UNAUTHENTICATED", []string{"log in"}},
			{"bad token", "/export/cases.xlsx", "nonsense", nil, 401, "UNAUTHENTICATED", []string{"token"}},
			{"broken JSON", "/export/tasks.xlsx", token, url.Values{"where": {`{"text":`}}, 400, "BAD_USER_INPUT",
				[]string{"where is not valid JSON", "TaskWhereInput"}},
			{"trailing data", "/export/tasks.xlsx", token, url.Values{"where": {`{} {}`}}, 400, "BAD_USER_INPUT",
				[]string{"where is not valid JSON"}},
			{"unknown field", "/export/tasks.xlsx", token, url.Values{"where": {`{"nmae":"x"}`}}, 400, "BAD_USER_INPUT",
				[]string{"where.nmae: unknown field", "TaskWhereInput"}},
			{"nested unknown field", "/export/cases.xlsx", token, url.Values{"where": {`{"or":[{"name":"a"},{"colour":"red"}]}`}}, 400, "BAD_USER_INPUT",
				[]string{"where.or[1].colour: unknown field", "CaseWhereInput"}},
			{"bad enum", "/export/tasks.xlsx", token, url.Values{"where": {`{"businessState":["SLEEPING"]}`}}, 400, "BAD_USER_INPUT",
				[]string{"where.businessState[0]", "SLEEPING is not a valid TaskBusinessState"}},
			{"not an object", "/export/tasks.xlsx", token, url.Values{"where": {`["OPEN"]`}}, 400, "BAD_USER_INPUT",
				[]string{"where"}},
			{"bad ID", "/export/tasks.xlsx", token, url.Values{"where": {`{"responsibleRoleIds":["abc"]}`}}, 400, "BAD_USER_INPUT",
				[]string{"where.responsibleRoleIds"}},
			{"bad order field", "/export/tasks.xlsx", token, url.Values{"orderBy": {`{"field":"COLOUR"}`}}, 400, "BAD_USER_INPUT",
				[]string{"orderBy[0].field", "COLOUR", "TaskOrder"}},
			{"order without field", "/export/cases.xlsx", token, url.Values{"orderBy": {`{"direction":"DESC"}`}}, 400, "BAD_USER_INPUT",
				[]string{"orderBy[0].field", "must be defined"}},
			{"bad order field in a list", "/export/tasks.xlsx", token, url.Values{"orderBy": {`[{"field":"NAME"},{"field":"COLOUR"}]`}}, 400, "BAD_USER_INPUT",
				[]string{"orderBy[1].field", "COLOUR", "TaskOrder"}},
			{"null order in a list", "/export/cases.xlsx", token, url.Values{"orderBy": {`[{"field":"NAME"},null]`}}, 400, "BAD_USER_INPUT",
				[]string{"orderBy[1]", "must not be null"}},
			{"empty and", "/export/tasks.xlsx", token, url.Values{"where": {`{"and":[{}]}`}}, 400, "BAD_USER_INPUT",
				[]string{"where"}},
			{"unknown parameter", "/export/tasks.xlsx", token, url.Values{"filter": {`{}`}}, 400, "BAD_USER_INPUT",
				[]string{`"filter"`, "where and orderBy"}},
			{"repeated parameter", "/export/tasks.xlsx", token, url.Values{"where": {`{}`, `{}`}}, 400, "BAD_USER_INPUT",
				[]string{"where is given 2 times"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := download(t, srv.URL, tt.path, tt.token, tt.query)
				if resp.StatusCode != tt.status {
					t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tt.status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var out servertest.Response
				if err := json.Unmarshal(body, &out); err != nil || len(out.Errors) != 1 {
					t.Fatalf("body %s: %v", body, err)
				}
				if out.Code() != tt.code {
					t.Errorf("code %q, want %q: %s", out.Code(), tt.code, body)
				}
				for _, part := range tt.message {
					if !strings.Contains(out.Errors[0].Message, part) {
						t.Errorf("message %q lacks %q", out.Errors[0].Message, part)
					}
				}
			})
		}
	})
}

// TestExportLargeList exports 2,500 tasks (more than two batches; groups of five share a
// creation time) and checks that they come out complete and in (created, id) order,
// both ways.
func TestExportLargeList(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		cs := c.BusinessCase.Create().SetName("Bulk").SaveX(ctx)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
		const n = 2500
		for start := 0; start < n; start += 500 {
			bulk := make([]*ent.TaskCreate, 500)
			for i := range bulk {
				k := start + i
				bulk[i] = c.Task.Create().SetName(fmt.Sprintf("bulk %04d", k)).SetCaseID(cs.ID).
					SetCreatedAt(base.Add(time.Duration(k/5) * time.Millisecond))
			}
			c.Task.CreateBulk(bulk...).ExecX(ctx)
		}
		admin := srv.Login(t, "admin", "admin")
		for _, dir := range []string{"ASC", "DESC"} {
			order := ent.Asc(task.FieldCreatedAt, task.FieldID)
			if dir == "DESC" {
				order = ent.Desc(task.FieldCreatedAt, task.FieldID)
			}
			want := c.Task.Query().Order(order).IDsX(ctx)
			if len(want) != n+3 {
				t.Fatalf("%d tasks in the database, want %d", len(want), n+3)
			}
			q := url.Values{"orderBy": {`{"field":"CREATED_AT","direction":"` + dir + `"}`}}
			if dir == "ASC" {
				q = nil // the default order
			}
			got := ids(t, fetch(t, srv, "/export/tasks.xlsx", admin.Token, q, taskHeader))
			if !slices.Equal(got, want) {
				t.Fatalf("%s: exported %d tasks, want %d in database order; first difference at %d",
					dir, len(got), len(want), firstDiff(got, want))
			}
		}
	})
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
