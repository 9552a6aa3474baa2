package portico_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestHostileListCursors: cursors that are no cursors, or belong to another order, are
// BAD_USER_INPUT saying what to do, never INTERNAL or a panic; a cursor of the order
// pages on.
func TestHostileListCursors(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		var out struct {
			Tasks struct{ PageInfo struct{ EndCursor string } }
		}
		admin.MustDo(t, `{ tasks(first: 1, orderBy: {field: CREATED_AT}) { pageInfo { endCursor } } }`, nil, &out)
		created := out.Tasks.PageInfo.EndCursor
		enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		for _, c := range []struct{ order, cursor string }{
			{`{field: PRIORITY}`, created},                         // a time where a priority goes
			{`[{field: PRIORITY}, {field: NAME}]`, created},        // one value for two fields
			{`{field: CREATED_AT}`, enc("') OR 1=1 --")},           // no msgpack
			{`{field: CREATED_AT}`, enc("\x82\xa1i\xff\xa1v\xc0")}, // wrong types inside
			{`{field: NAME}`, enc(strings.Repeat("\x91", 5000))},   // deep nesting
			{`{field: STATE}`, created},
		} {
			q := fmt.Sprintf(`query($a: Cursor) { tasks(first: 5, after: $a, orderBy: %s) { totalCount } }`, c.order)
			resp := admin.Do(t, q, map[string]any{"a": c.cursor})
			if resp.Code() != "BAD_USER_INPUT" {
				t.Errorf("order %s, cursor %q: %q %v, want BAD_USER_INPUT", c.order, c.cursor, resp.Code(), resp.Errors)
			}
		}
		// A negative or huge id in a well-formed cursor is a place like any other.
		var page struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ tasks(first: 3, orderBy: {field: CREATED_AT}) { edges { node { id } } } }`, nil, &page)
		if len(page.Tasks.Edges) == 0 {
			t.Fatal("the demo has no tasks")
		}
		resp := admin.Do(t, `query($a: Cursor) { tasks(first: 2, after: $a, orderBy: {field: CREATED_AT}) { totalCount edges { node { id } } } }`,
			map[string]any{"a": created})
		if resp.Code() != "" {
			t.Errorf("paging on with the order's own cursor: %v", resp.Errors)
		}
	})
}

// TestHostileListFilters: every hostile string in a list filter is a value compared in
// memory or bound, never SQL; names are checked; another user's ids narrow nothing open.
func TestHostileListFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		cs := c.BusinessCase.Create().SetName("Hostile").SaveX(ctx)
		odd := []string{"') OR 1=1 --", "100%", "a_b", `\`, "foo & !bar", "\"quoted\"", strings.Repeat("x", 400)}
		admin := c.User.Query().Where(user.Name("admin")).OnlyIDX(ctx)
		for _, name := range odd {
			tk := c.Task.Create().SetName(name).SetCaseID(cs.ID).SaveX(ctx)
			c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(admin).ExecX(ctx)
		}
		cl := srv.Login(t, "admin", "admin")
		total := func(where string) (int, string) {
			var out struct{ Tasks struct{ TotalCount int } }
			resp := cl.Do(t, `query($w: TaskWhereInput) { tasks(where: $w) { totalCount } }`, map[string]any{"w": rawJSON(t, where)})
			if resp.Code() != "" {
				return 0, resp.Code()
			}
			if err := json.Unmarshal(resp.Data, &out); err != nil {
				t.Fatal(err)
			}
			return out.Tasks.TotalCount, ""
		}
		all, _ := total(`{}`)
		for _, s := range odd {
			for _, where := range []string{
				fmt.Sprintf(`{"text": %q}`, s), fmt.Sprintf(`{"name": %q}`, s), fmt.Sprintf(`{"nameContainsFold": %q}`, s),
				fmt.Sprintf(`{"customFields": [{"name": "region", "equals": %q}]}`, s), fmt.Sprintf(`{"categoryNEQ": %q}`, s),
			} {
				n, code := total(where)
				if code != "" || n > all {
					t.Errorf("where %s: %d of %d, code %q", where, n, all, code)
				}
			}
			if n, _ := total(fmt.Sprintf(`{"name": %q}`, s)); n != 1 {
				t.Errorf("name %q matches %d tasks, want its own one", s, n)
			}
		}
		if n, _ := total(`{"text": "%"}`); n != 1 {
			t.Errorf(`text "%%" matches %d tasks, want the one with a percent sign`, n)
		}
		for _, name := range []string{"a'b", "x) OR 1=1", "$.a", "", strings.Repeat("n", 65)} {
			if _, code := total(fmt.Sprintf(`{"customFields": [{"name": %q, "equals": "x"}]}`, name)); code != "BAD_USER_INPUT" {
				t.Errorf("custom field name %q: %q, want BAD_USER_INPUT", name, code)
			}
		}
		for _, where := range []string{`{"idGT": "-9223372036854775808"}`, `{"positionGT": 2147483647}`, `{"createdAtGT": "0001-01-01T00:00:00Z"}`} {
			if _, code := total(where); code != "" {
				t.Errorf("where %s: %q", where, code)
			}
		}
		// demo asking for admin's tasks sees none of them: filters narrow, never widen.
		demo := srv.Login(t, "demo", "demo")
		var out struct{ Tasks struct{ TotalCount int } }
		demo.MustDo(t, fmt.Sprintf(`{ tasks(where: {responsibleUserIds: ["%d"], or: [{caseID: "%d"}, {hasCaseWith: [{id: "%d"}]}]}) { totalCount } }`, admin, cs.ID, cs.ID), nil, &out)
		if out.Tasks.TotalCount != 0 {
			t.Errorf("demo sees %d of admin's tasks through filters", out.Tasks.TotalCount)
		}
		// No token, no list.
		anon := srv.Client()
		for _, q := range []string{`{ tasks { totalCount } }`, `{ cases { totalCount } }`} {
			if code := anon.Do(t, q, nil).Code(); code != "UNAUTHENTICATED" {
				t.Errorf("%s without a token: %q", q, code)
			}
		}
	})
}

// TestListsFreshAcrossServers: a task created through one server is counted by the very
// next list request on another (the index syncs with the database before each query),
// with many readers at once.
func TestListsFreshAcrossServers(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	ctx := policy.SystemContext(context.Background())
	adminA, adminB := a.Login(t, "admin", "admin"), b.Login(t, "admin", "admin")
	count := func(cl *servertest.Client) int { // from any goroutine: no Fatal
		var out struct{ Tasks struct{ TotalCount int } }
		resp := cl.Do(t, `{ tasks(where: {name: "fresh"}) { totalCount } }`, nil)
		if len(resp.Errors) > 0 || json.Unmarshal(resp.Data, &out) != nil {
			t.Errorf("count: %v", resp.Errors)
			return -1
		}
		return out.Tasks.TotalCount
	}
	cs := a.DB.Client.BusinessCase.Create().SetName("Fresh").SaveX(ctx)
	for i := range 10 {
		a.DB.Client.Task.Create().SetName("fresh").SetCaseID(cs.ID).SetState(task.StateSUSPENDED).ExecX(ctx)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n := count(adminB); n != i+1 {
					t.Errorf("server B counts %d right after the %d-th commit", n, i+1)
				}
			}()
		}
		wg.Wait()
		if n := count(adminA); n != i+1 {
			t.Errorf("server A counts %d right after the %d-th commit", n, i+1)
		}
	}
}

// rawJSON decodes a JSON text into a GraphQL variable's value.
func rawJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
