package export_test

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entdialect "entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/export"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestExportOrders exports with every order field of the GraphQL schema, both ways, in
// batches of 7 and sheets of 40 rows, over rows with ties and NULLs, and checks the rows
// against one unpaginated query in the same order (NULLs last, then id): batches join
// without a row lost or repeated, and the sheets continue one another.
func TestExportOrders(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
		at := func(k int) time.Time { return base.Add(time.Duration(k) * time.Minute) }
		var cases []*ent.BusinessCaseCreate
		caseStates := []businesscase.State{businesscase.StateCREATED, businesscase.StateRUNNING,
			businesscase.StateDONE, businesscase.StateDESTROYED}
		for i := range 30 {
			cc := c.BusinessCase.Create().SetName(fmt.Sprintf("case %d", i%4)).SetCategory([]string{"a", "b"}[i%2]).
				SetState(caseStates[i%len(caseStates)]).SetCreatedAt(at(i / 3))
			if i%3 == 0 {
				cc.SetEndedAt(at(i % 5))
			}
			cases = append(cases, cc)
		}
		cs := c.BusinessCase.CreateBulk(cases...).SaveX(ctx)
		var tasks []*ent.TaskCreate
		states := []task.State{task.StateCREATED, task.StateSUSPENDED, task.StateRESUMED, task.StateDELAYED,
			task.StateREADY_FOR_JOIN, task.StateDONE, task.StateDESTROYED}
		prios := []task.Priority{task.PriorityEXCEPTION, task.PriorityHIGH, task.PriorityNORMAL, task.PriorityLOW}
		for i := range 100 {
			tc := c.Task.Create().SetName(fmt.Sprintf("task %d", i%6)).SetCategory([]string{"x", "y", "z"}[i%3]).
				SetState(states[i%len(states)]).SetPriority(prios[i%len(prios)]).SetCaseID(cs[i%len(cs)].ID).
				SetCreatedAt(at(i / 4))
			if i%3 != 0 { // NULL for a third
				tc.SetExpiryTimestamp(at(i % 7))
			}
			if i%4 == 0 { // NULL for three quarters
				tc.SetDelayTimestamp(at(i % 3))
			}
			if i%2 == 0 {
				tc.SetEndedAt(at(i % 11))
			}
			tasks = append(tasks, tc)
		}
		c.Task.CreateBulk(tasks...).ExecX(ctx)

		exp := &export.Exporter{Client: c, Policy: srv.Policy, Lists: srv.Lists, Log: slog.New(slog.DiscardHandler),
			BatchSize: 7, SheetRows: 40}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /export/tasks.xlsx", exp.Tasks)
		mux.HandleFunc("GET /export/cases.xlsx", exp.Cases)
		hs := httptest.NewServer(srv.Auth.Middleware(mux))
		defer hs.Close()
		admin := srv.Login(t, "admin", "admin")

		for _, list := range []struct{ path, enum string }{
			{"/export/tasks.xlsx", "TaskOrderField"},
			{"/export/cases.xlsx", "CaseOrderField"},
		} {
			var out struct {
				Type struct{ EnumValues []struct{ Name string } } `json:"__type"`
			}
			admin.MustDo(t, `query($n: String!) { __type(name: $n) { enumValues { name } } }`, map[string]any{"n": list.enum}, &out)
			if len(out.Type.EnumValues) < 5 {
				t.Fatalf("%s has %d values", list.enum, len(out.Type.EnumValues))
			}
			for _, field := range out.Type.EnumValues {
				for _, dir := range []string{"ASC", "DESC"} {
					name := fmt.Sprintf("%s %s %s", list.path, field.Name, dir)
					column := strings.ToLower(field.Name)
					// STATE and PRIORITY sort by rank: lifecycle and urgency (ent/schema/rank.go).
					if rank, ok := map[string]string{"STATE": "state_rank", "PRIORITY": "priority_rank"}[field.Name]; ok {
						column = rank
					}
					opts := []sql.OrderTermOption{sql.OrderNullsLast()}
					if dir == "DESC" {
						opts = append(opts, sql.OrderDesc())
					}
					order := func(s *sql.Selector) {
						sql.OrderByField(column, opts...).ToFunc()(s)
						sql.OrderByField("id", opts...).ToFunc()(s)
					}
					var want []int
					if list.enum == "TaskOrderField" {
						want = c.Task.Query().Order(order).IDsX(ctx)
					} else {
						want = c.BusinessCase.Query().Order(order).IDsX(ctx)
					}
					q := url.Values{"orderBy": {fmt.Sprintf(`{"field":%q,"direction":%q}`, field.Name, dir)}}
					resp, body := download(t, hs.URL, list.path, admin.Token, q)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s: HTTP %d: %s", name, resp.StatusCode, body)
					}
					got := sheetIDs(t, name, body, 40)
					if !slices.Equal(got, want) {
						t.Errorf("%s: exported %v\nwant %v", name, got, want)
					}
				}
			}
		}

		// PRIORITY DESC is most urgent first, not alphabetical.
		resp, body := download(t, hs.URL, "/export/tasks.xlsx", admin.Token,
			url.Values{"orderBy": {`{"field":"PRIORITY","direction":"DESC"}`}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PRIORITY DESC: HTTP %d: %s", resp.StatusCode, body)
		}
		prio := map[int]task.Priority{}
		for _, t := range c.Task.Query().AllX(ctx) {
			prio[t.ID] = t.Priority
		}
		var seen []task.Priority
		for _, id := range sheetIDs(t, "PRIORITY DESC", body, 40) {
			if len(seen) == 0 || seen[len(seen)-1] != prio[id] {
				seen = append(seen, prio[id])
			}
		}
		if !slices.Equal(seen, prios) {
			t.Errorf("PRIORITY DESC exports the priorities in the order %v, want %v", seen, prios)
		}

		// Several fields: each with NULLs last, the id last in the last field's direction;
		// batches of 7 join without a row lost or repeated. A single object (above) and a
		// list both work.
		for _, tc := range []struct {
			orderBy string
			order   func(*sql.Selector)
		}{
			{`[{"field":"PRIORITY","direction":"DESC"},{"field":"EXPIRY_TIMESTAMP"},{"field":"CREATED_AT","direction":"DESC"}]`,
				func(s *sql.Selector) {
					sql.OrderByField("priority_rank", sql.OrderDesc()).ToFunc()(s)
					sql.OrderByField("expiry_timestamp", sql.OrderNullsLast()).ToFunc()(s)
					sql.OrderByField("created_at", sql.OrderDesc()).ToFunc()(s)
					sql.OrderByField("id", sql.OrderDesc()).ToFunc()(s)
				}},
			{`[{"field":"STATE"},{"field":"DELAY_TIMESTAMP","direction":"DESC"},{"field":"NAME"}]`,
				func(s *sql.Selector) {
					sql.OrderByField("state_rank").ToFunc()(s)
					sql.OrderByField("delay_timestamp", sql.OrderDesc(), sql.OrderNullsLast()).ToFunc()(s)
					sql.OrderByField("name").ToFunc()(s)
					sql.OrderByField("id").ToFunc()(s)
				}},
		} {
			want := c.Task.Query().Order(tc.order).IDsX(ctx)
			resp, body := download(t, hs.URL, "/export/tasks.xlsx", admin.Token, url.Values{"orderBy": {tc.orderBy}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: HTTP %d: %s", tc.orderBy, resp.StatusCode, body)
			}
			if got := sheetIDs(t, tc.orderBy, body, 40); !slices.Equal(got, want) {
				t.Errorf("%s: exported %v\nwant %v", tc.orderBy, got, want)
			}
		}
	})
}

// sheetIDs returns the ids of all sheets of an export in order, checking that each sheet
// has a header and at most perSheet rows, and that only the last is not full.
func sheetIDs(t *testing.T, name string, body []byte, perSheet int) []int {
	t.Helper()
	names, all := sheets(t, body)
	var out []int
	for i, sheet := range names {
		want := "Tasks"
		if strings.Contains(name, "cases") {
			want = "Cases"
		}
		if i > 0 {
			want = fmt.Sprintf("%s %d", want, i+1)
		}
		rows := all[sheet]
		if sheet != want || len(rows) == 0 || rows[0][0] != "ID" {
			t.Fatalf("%s: sheet %d is %q starting %q, want %q with a header", name, i+1, sheet, rows[:min(1, len(rows))], want)
		}
		if n := len(rows) - 1; n > perSheet || n < perSheet && i < len(names)-1 {
			t.Fatalf("%s: sheet %s has %d rows of %d", name, sheet, n, perSheet)
		}
		out = append(out, ids(t, rows[1:])...)
	}
	return out
}

// TestExportSnapshot orders by UPDATED_AT in batches of 3 and, right after the first
// batch is read, moves a task of that batch to the end by updating it: the export reads
// the list once, so the task comes once, in its old place.
func TestExportSnapshot(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		var armed atomic.Pointer[func()]
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, WrapDriver: func(d entdialect.Driver) entdialect.Driver {
			return &meddler{Driver: d, after: &armed}
		}})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		cs := c.BusinessCase.Create().SetName("Snapshot").SaveX(ctx)
		for i := range 8 {
			c.Task.Create().SetName(fmt.Sprintf("task %d", i)).SetCaseID(cs.ID).ExecX(ctx)
		}
		want := c.Task.Query().Order(ent.Asc(task.FieldUpdatedAt, task.FieldID)).IDsX(ctx)
		exp := &export.Exporter{Client: c, Policy: srv.Policy, Lists: srv.Lists, Log: slog.New(slog.DiscardHandler),
			BatchSize: 3}
		hs := httptest.NewServer(srv.Auth.Middleware(http.HandlerFunc(exp.Tasks)))
		defer hs.Close()
		admin := srv.Login(t, "admin", "admin")
		move := func() {
			c.Task.UpdateOneID(want[0]).SetName("moved").SetUpdatedAt(time.Now().UTC().Add(time.Hour)).ExecX(ctx)
		}
		armed.Store(&move)
		q := url.Values{"orderBy": {`{"field":"UPDATED_AT"}`}}
		resp, body := download(t, hs.URL, "/export/tasks.xlsx", admin.Token, q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
		}
		if armed.Load() != nil {
			t.Fatal("the update did not run during the export")
		}
		if got := sheetIDs(t, "tasks", body, 1000); !slices.Equal(got, want) {
			t.Errorf("exported %v, want the snapshot's %v", got, want)
		}
	})
}

// meddler is a database driver that runs the armed function once, after the first query
// of tasks (the export's first batch), inside a transaction or not.
type meddler struct {
	entdialect.Driver
	after *atomic.Pointer[func()]
}

func (m *meddler) Query(ctx context.Context, query string, args, v any) error {
	err := m.Driver.Query(ctx, query, args, v)
	m.fire(query)
	return err
}

func (m *meddler) fire(query string) {
	if !strings.Contains(query, `FROM "tasks"`) && !strings.Contains(query, "FROM `tasks`") {
		return
	}
	if f := m.after.Swap(nil); f != nil {
		(*f)()
	}
}

func (m *meddler) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (entdialect.Tx, error) {
	tx, err := m.Driver.(interface {
		BeginTx(context.Context, *stdsql.TxOptions) (entdialect.Tx, error)
	}).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &meddlingTx{Tx: tx, m: m}, nil
}

type meddlingTx struct {
	entdialect.Tx
	m *meddler
}

func (t *meddlingTx) Query(ctx context.Context, query string, args, v any) error {
	err := t.Tx.Query(ctx, query, args, v)
	t.m.fire(query)
	return err
}
