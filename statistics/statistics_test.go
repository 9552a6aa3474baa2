package statistics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
	"github.com/portico-dev/portico/statistics"
)

// edges are instants at the borders of days, weeks (Monday), months and years in UTC,
// around date_bin's origin (2000-01-01) and the Unix epoch, on a leap day and on the
// days clocks change in New York, with and without fractions of a second.
var edges = []string{
	"1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
	"1999-12-31T23:59:59.999999Z", "2000-01-01T00:00:00Z", "2000-01-01T00:00:00.000001Z",
	"2024-02-29T23:59:59.5Z", "2024-03-01T00:00:00Z",
	"2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
	"2026-11-22T23:59:59.999999Z", "2026-11-23T00:00:00Z", "2026-11-29T23:59:59Z", "2026-11-30T00:00:00Z",
	"2026-12-31T23:59:59.999999Z", "2027-01-01T00:00:00Z", "2027-01-01T04:59:59Z", "2027-01-01T05:00:00Z",
}

// fixture creates cases and tasks at the edges and at random times over two years,
// half of them for Development (which carol sees) and half for Team B (which she does
// not), about a third of them ended, and returns carol's and admin's viewer contexts.
func fixture(t *testing.T, srv *servertest.Server) (carol, admin context.Context) {
	t.Helper()
	sys := policy.SystemContext(context.Background())
	c := srv.DB.Client
	dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(sys)
	other := c.Role.Query().Where(role.Name("Team B")).OnlyIDX(sys)
	rnd := rand.New(rand.NewPCG(7, 11))
	var times []time.Time
	for _, e := range edges {
		at, err := time.Parse(time.RFC3339Nano, e)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, at)
	}
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for range 150 {
		times = append(times, from.Add(time.Duration(rnd.Int64N(int64(2*365*24*time.Hour)))).Truncate(time.Microsecond))
	}
	for i, at := range times {
		var ended *time.Time
		if i%3 != 2 {
			// Ends after a random time, often in another day, week or month.
			e := at.Add(time.Duration(rnd.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Microsecond)
			ended = &e
		}
		cs := c.BusinessCase.Create().SetName(fmt.Sprintf("case %d", i)).SetCategory([]string{"A", "B"}[(i/2)%2]).
			SetCreatedAt(at).SetNillableEndedAt(ended).SetState(map[bool]businesscase.State{true: businesscase.StateDONE, false: businesscase.StateRUNNING}[ended != nil]).
			SaveX(sys)
		tk := c.Task.Create().SetName(fmt.Sprintf("task %d", i)).SetCaseID(cs.ID).SetCreatedAt(at).SetNillableEndedAt(ended).
			SetPriority([]task.Priority{task.PriorityHIGH, task.PriorityNORMAL, task.PriorityLOW}[i%3]).
			SetState(map[bool]task.State{true: task.StateDONE, false: task.StateSUSPENDED}[ended != nil]).
			SaveX(sys)
		c.TaskResponsible.Create().SetTaskID(tk.ID).SetRoleID([]int{dev, other}[i%2]).ExecX(sys)
	}
	viewer := func(name string) context.Context {
		id := c.User.Query().Where(user.Name(name)).OnlyIDX(sys)
		return auth.NewContext(context.Background(), &auth.Viewer{UserID: id})
	}
	return viewer("carol"), viewer("admin")
}

// when is a row's creation and end.
type when struct{ created, ended *time.Time }

// visibleTimes loads what the viewer of ctx sees of the chart's rows, through the same
// visibility and filters as the chart.
func visibleTimes(t *testing.T, c *ent.Client, ctx context.Context, spec statistics.Spec) []when {
	t.Helper()
	var out []when
	switch spec.Target {
	case statistics.Tasks:
		for _, tk := range c.Task.Query().Where(spec.TaskWhere...).AllX(ctx) {
			out = append(out, when{&tk.CreatedAt, tk.EndedAt})
		}
	case statistics.Cases:
		for _, cs := range c.BusinessCase.Query().Where(spec.CaseWhere...).AllX(ctx) {
			out = append(out, when{&cs.CreatedAt, cs.EndedAt})
		}
	}
	return out
}

// expected computes a time-bucket chart in Go from the rows: buckets are the day,
// Monday-started week or month of loc that holds the time, labelled by their first day;
// values as finish gives them. SQLite computes the runtime from whole seconds.
func expected(rows []when, spec statistics.Spec, loc *time.Location, wholeSeconds bool) *statistics.Data {
	type bar struct {
		n                   int
		sum, least, largest float64
	}
	bars := map[string]*bar{}
	for _, r := range rows {
		if spec.Aggregation != statistics.Count && r.ended == nil {
			continue // only ended rows have a runtime
		}
		at := r.created
		if spec.GroupBy == statistics.ByEndedAt {
			at = r.ended
		}
		label := "NONE"
		if at != nil {
			l := at.In(loc)
			start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
			switch spec.Interval {
			case statistics.Week:
				start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
			case statistics.Month:
				start = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
			}
			label = start.Format("2006-01-02")
		}
		var rt float64
		if r.ended != nil {
			c, e := *r.created, *r.ended
			if wholeSeconds {
				c, e = c.Truncate(time.Second), e.Truncate(time.Second)
			}
			rt = e.Sub(c).Seconds()
		}
		b := bars[label]
		if b == nil {
			b = &bar{least: rt, largest: rt}
			bars[label] = b
		}
		b.n++
		b.sum += rt
		b.least, b.largest = min(b.least, rt), max(b.largest, rt)
	}
	d := &statistics.Data{Labels: []string{}, Values: []float64{}}
	for l := range bars {
		d.Labels = append(d.Labels, l)
	}
	sort.Strings(d.Labels)
	n := 0
	for i, l := range d.Labels {
		b := bars[l]
		v := map[statistics.Aggregation]float64{statistics.Count: float64(b.n), statistics.Sum: b.sum,
			statistics.Avg: b.sum / float64(b.n), statistics.Min: b.least, statistics.Max: b.largest}[spec.Aggregation]
		d.Values = append(d.Values, v)
		switch spec.Aggregation {
		case statistics.Count, statistics.Sum:
			d.Total += v
		case statistics.Avg:
			d.Total += b.sum
		case statistics.Min:
			if i == 0 || v < d.Total {
				d.Total = v
			}
		case statistics.Max:
			d.Total = max(d.Total, v)
		}
		n += b.n
	}
	if spec.Aggregation == statistics.Avg && n > 0 {
		d.Total /= float64(n)
	}
	return d
}

// near compares charts: the same labels, counts exactly, runtimes within tol seconds
// (Go adds floats where PostgreSQL adds exact numerics; SQLite's julianday is a float).
func near(got, want *statistics.Data, tol float64) bool {
	if !slices.Equal(got.Labels, want.Labels) || len(got.Values) != len(want.Values) {
		return false
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(b)/1e6) }
	for i := range got.Values {
		if !close(got.Values[i], want.Values[i]) {
			return false
		}
	}
	return close(got.Total, want.Total)
}

// timeSpecs are the time-bucket charts: tasks and cases by creation and end, per day,
// week and month, with every aggregation, unfiltered and narrowed by a filter.
func timeSpecs() []statistics.Spec {
	var specs []statistics.Spec
	for _, target := range []statistics.Target{statistics.Tasks, statistics.Cases} {
		for _, g := range []statistics.GroupBy{statistics.ByCreatedAt, statistics.ByEndedAt} {
			for _, iv := range []statistics.Interval{statistics.Day, statistics.Week, statistics.Month} {
				for _, agg := range []statistics.Aggregation{statistics.Count, statistics.Sum, statistics.Avg, statistics.Min, statistics.Max} {
					s := statistics.Spec{Target: target, GroupBy: g, Interval: iv, Aggregation: agg}
					if agg != statistics.Count {
						s.Field = statistics.BusinessRuntime
					}
					specs = append(specs, s)
					if target == statistics.Tasks {
						s.TaskWhere = []predicate.Task{task.PriorityNEQ(task.PriorityLOW)}
					} else {
						s.CaseWhere = []predicate.BusinessCase{businesscase.Category("A")}
					}
					specs = append(specs, s)
				}
			}
		}
	}
	return specs
}

func describe(s statistics.Spec) string {
	return fmt.Sprintf("%s by %s per %s, %s, filtered: %v", s.Target, s.GroupBy, s.Interval, s.Aggregation, len(s.TaskWhere)+len(s.CaseWhere) > 0)
}

// TestTimeBuckets: every time-bucket chart, for the server itself, an administrator and
// carol (who sees some of the rows), equals the buckets computed in Go from the rows the
// viewer sees; on PostgreSQL the day bins give exactly (to the last bit) what date_trunc
// per row gives.
func TestTimeBuckets(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		carol, admin := fixture(t, srv)
		charts := srv.Charts
		if charts.DayBins() != (dialect == "postgres") {
			t.Fatalf("day bins on %s: %v", dialect, charts.DayBins())
		}
		sys := policy.SystemContext(context.Background())
		viewers := map[string]context.Context{"system": sys, "admin": admin, "carol": carol}
		tol := map[string]float64{"postgres": 1e-6, "sqlite": 1e-3}[dialect]
		for who, ctx := range viewers {
			for _, spec := range timeSpecs() {
				got, err := charts.Chart(ctx, spec)
				if err != nil {
					t.Fatalf("%s, %s: %v", who, describe(spec), err)
				}
				rows := visibleTimes(t, srv.DB.Client, ctx, spec)
				if want := expected(rows, spec, time.UTC, dialect == "sqlite"); !near(got, want, tol) {
					t.Errorf("%s, %s:\n got %+v\nwant %+v", who, describe(spec), got, want)
				}
				if who == "carol" && len(rows) == len(visibleTimes(t, srv.DB.Client, sys, spec)) {
					t.Fatalf("carol sees all rows of %s: the test shows nothing about visibility", describe(spec))
				}
				if dialect != "postgres" {
					continue
				}
				charts.SetDayBins(false)
				old, err := charts.Chart(ctx, spec)
				charts.SetDayBins(true)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, old) {
					t.Errorf("%s, %s: day bins differ from date_trunc:\n got %+v\n old %+v", who, describe(spec), got, old)
				}
			}
		}
	})
}

// TestTimeBucketsInSessionZone: a PostgreSQL URL that sets another session time zone
// keeps date_trunc per row (day bins are UTC days), and buckets are that zone's days,
// weeks and months, across its clock changes.
func TestTimeBucketsInSessionZone(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres") + "&timezone=America/New_York"
	srv := servertest.Start(t, "postgres", portico.Config{Demo: true, DatabaseURL: url})
	carol, _ := fixture(t, srv)
	if srv.Charts.DayBins() {
		t.Fatal("day bins in a New York session")
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range timeSpecs() {
		got, err := srv.Charts.Chart(carol, spec)
		if err != nil {
			t.Fatal(err)
		}
		if want := expected(visibleTimes(t, srv.DB.Client, carol, spec), spec, ny, false); !near(got, want, 1e-6) {
			t.Errorf("carol, %s in New York:\n got %+v\nwant %+v", describe(spec), got, want)
		}
	}
}

func TestIsUTC(t *testing.T) {
	for zone, want := range map[string]bool{"UTC": true, "Etc/UTC": true, "utc": true, "GMT": true, "Zulu": true,
		"Europe/London": false, "America/New_York": false, "UTC+1": false, "": false} {
		if statistics.IsUTC(zone) != want {
			t.Errorf("IsUTC(%q) = %v", zone, !want)
		}
	}
}

// TestDayBinStatistics: PostgreSQL's estimate of the number of days of tasks and cases
// comes from the statistics objects of the migrations, which it uses only when their
// expression equals the charts' (dayBin): 3,000 rows over 5 days are estimated as about
// 5 groups, not the default of 200 for an expression it knows nothing about.
func TestDayBinStatistics(t *testing.T) {
	srv := servertest.Start(t, "postgres", portico.Config{AdminPassword: "admin"})
	db := srv.DB.SQL
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO cases (created_at, updated_at, ended_at)
		SELECT d, d, d + interval '1 hour' FROM (SELECT timestamptz '2026-01-01' + (i % 5) * interval '1 day' + i * interval '1 second' AS d
		FROM generate_series(1, 3000) AS i) AS s`)
	exec(`INSERT INTO tasks (created_at, updated_at, ended_at, case_id)
		SELECT created_at, updated_at, ended_at, id FROM cases`)
	exec(`ANALYZE tasks`)
	exec(`ANALYZE cases`)
	for _, table := range []string{"tasks", "cases"} {
		for _, column := range []string{"created_at", "ended_at"} {
			var plan []struct {
				Plan struct {
					PlanRows float64 `json:"Plan Rows"`
				}
			}
			var raw []byte
			q := fmt.Sprintf(`EXPLAIN (FORMAT JSON) SELECT %s, count(*) FROM %s GROUP BY 1`, statistics.DayBin(column), table)
			if err := db.QueryRow(q).Scan(&raw); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if err := json.Unmarshal(raw, &plan); err != nil {
				t.Fatal(err)
			}
			if rows := plan[0].Plan.PlanRows; rows > 10 {
				t.Errorf("%s.%s: %v days expected for 5 (no statistics on the chart's expression?)", table, column, rows)
			}
		}
	}
}

// TestResponsibleBars: tasks by responsible count each visible task once per
// responsible that is not an expiry responsible, under the name of its role or user,
// for every viewer.
func TestResponsibleBars(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		carol, admin := fixture(t, srv)
		sys := policy.SystemContext(context.Background())
		c := srv.DB.Client
		// A task with a user and a role responsible, and an expiry responsible.
		tk := c.Task.Query().Where(task.Name("task 0")).OnlyX(sys)
		bob := c.User.Query().Where(user.Name("bob")).OnlyIDX(sys)
		first := c.Role.Query().Where(role.Name("First Level")).OnlyIDX(sys)
		c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(bob).ExecX(sys)
		c.TaskResponsible.Create().SetTaskID(tk.ID).SetRoleID(first).SetExpiry(true).ExecX(sys)
		for who, ctx := range map[string]context.Context{"system": sys, "admin": admin, "carol": carol} {
			want := map[string]float64{}
			for _, v := range c.Task.Query().WithResponsibles(func(q *ent.TaskResponsibleQuery) {
				q.WithRole().WithUser()
			}).AllX(ctx) {
				for _, r := range v.Edges.Responsibles {
					switch {
					case r.Expiry:
					case r.Edges.Role != nil:
						want[r.Edges.Role.Name]++
					case r.Edges.User != nil:
						want[r.Edges.User.Name]++
					}
				}
			}
			got, err := srv.Charts.Chart(ctx, statistics.Spec{Target: statistics.Tasks, GroupBy: statistics.ByResponsible})
			if err != nil {
				t.Fatal(err)
			}
			bars := map[string]float64{}
			for i, l := range got.Labels {
				bars[l] = got.Values[i]
			}
			if !reflect.DeepEqual(bars, want) || !slices.IsSorted(got.Labels) {
				t.Errorf("%s: tasks by responsible %v, want %v", who, got, want)
			}
		}
	})
}
