// Package statistics aggregates tasks and cases into charts in SQL, on both databases.
// Every chart query is an ent query run with the viewer's context, so the visibility
// interceptors restrict it to what the viewer may see; the list filters (where inputs)
// narrow it the same way as the lists.
package statistics

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// Target is what a chart counts.
type Target string

// GroupBy is what a chart's bars are.
type GroupBy string

// Interval buckets a time field.
type Interval string

// Aggregation combines the rows of a bar.
type Aggregation string

// Chart targets, groupings, intervals and aggregations.
const (
	Tasks Target = "TASKS"
	Cases Target = "CASES"

	ByState         GroupBy = "STATE"
	ByBusinessState GroupBy = "BUSINESS_STATE"
	ByPriority      GroupBy = "PRIORITY"
	ByCategory      GroupBy = "CATEGORY"
	ByResponsible   GroupBy = "RESPONSIBLE"
	ByWorker        GroupBy = "WORKER"
	ByCreator       GroupBy = "CREATOR"
	ByOwner         GroupBy = "OWNER"
	ByExpiry        GroupBy = "EXPIRY"
	ByCreatedAt     GroupBy = "CREATED_AT"
	ByEndedAt       GroupBy = "ENDED_AT"

	Day   Interval = "DAY"
	Week  Interval = "WEEK"
	Month Interval = "MONTH"

	Count Aggregation = "COUNT"
	Sum   Aggregation = "SUM"
	Avg   Aggregation = "AVG"
	Min   Aggregation = "MIN"
	Max   Aggregation = "MAX"

	// BusinessRuntime is the numeric field of SUM/AVG/MIN/MAX: seconds from creation to
	// end, of ended tasks or cases.
	BusinessRuntime = "BUSINESS_RUNTIME"
)

// Spec is a chart to compute.
type Spec struct {
	Target      Target
	GroupBy     GroupBy
	Interval    Interval // for ByCreatedAt and ByEndedAt
	Aggregation Aggregation
	Field       string // BusinessRuntime, for aggregations other than Count
	TaskWhere   []predicate.Task
	CaseWhere   []predicate.BusinessCase
}

// Data is a chart's numbers: one value per label, and their total (for AVG, MIN and
// MAX the aggregation over all rows).
type Data struct {
	Labels []string
	Values []float64
	Total  float64
	// Kind says what the labels are, for their display texts (DisplayLabels).
	Kind LabelKind
}

// Expiry buckets of ByExpiry, in order.
var ExpiryBuckets = []string{"EXPIRED", "TODAY", "THIS_WEEK", "THIS_MONTH", "THIS_YEAR", "LATER", "NONE"}

// Service computes charts.
type Service struct {
	client  *ent.Client
	dialect string
	// dayBins: on PostgreSQL, time buckets group rows by their UTC day (dayBin) and roll
	// the days up into weeks and months, instead of date_trunc per row. Both agree only
	// when the sessions run in UTC; in any other zone date_trunc stays.
	dayBins bool
	now     func() time.Time
}

// New returns the chart service over a database of the given ent dialect whose sessions
// run in sessionZone (database.DB.TimeZone).
func New(client *ent.Client, dialectName, sessionZone string) *Service {
	return &Service{client: client, dialect: dialectName, dayBins: dialectName == dialect.Postgres && isUTC(sessionZone),
		now: func() time.Time { return time.Now().UTC() }}
}

// utcZones are names of PostgreSQL time zones that are UTC at every instant.
var utcZones = []string{"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
	"GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"}

// isUTC reports whether a PostgreSQL TimeZone setting is UTC at every instant (an
// unknown name counts as not: charts then take the slower, zone-aware way).
func isUTC(zone string) bool {
	return slices.ContainsFunc(utcZones, func(z string) bool { return strings.EqualFold(z, zone) })
}

var groupable = map[Target][]GroupBy{
	Tasks: {ByState, ByBusinessState, ByPriority, ByCategory, ByResponsible, ByWorker, ByCreator, ByExpiry, ByCreatedAt, ByEndedAt},
	Cases: {ByState, ByBusinessState, ByCategory, ByCreator, ByOwner, ByCreatedAt, ByEndedAt},
}

// validate says, in words a person can act on, what is wrong with a spec.
func (s Spec) validate() error {
	allowed, ok := groupable[s.Target]
	switch {
	case !ok:
		return apperr.BadInput("target %q must be TASKS or CASES", s.Target)
	case !slices.Contains(allowed, s.GroupBy):
		return apperr.BadInput("%s cannot be grouped by %q; choose one of %v", s.Target, s.GroupBy, allowed)
	case (s.GroupBy == ByCreatedAt || s.GroupBy == ByEndedAt) && !slices.Contains([]Interval{Day, Week, Month}, s.Interval):
		return apperr.BadInput("grouping by %s needs an interval: DAY, WEEK or MONTH", s.GroupBy)
	case !slices.Contains([]Aggregation{Count, Sum, Avg, Min, Max}, s.Aggregation):
		return apperr.BadInput("aggregation %q must be COUNT, SUM, AVG, MIN or MAX", s.Aggregation)
	case s.Aggregation != Count && s.Field != BusinessRuntime:
		return apperr.BadInput("%s needs a numeric field: BUSINESS_RUNTIME", s.Aggregation)
	}
	return nil
}

// row is one bar as the database returns it.
type row struct {
	Label sql.NullString  `json:"label"`
	Value sql.NullFloat64 `json:"value"`
	N     int             `json:"n"`
}

// Chart computes a chart over what the viewer of ctx may see.
func (s *Service) Chart(ctx context.Context, spec Spec) (*Data, error) {
	if spec.Aggregation == "" {
		spec.Aggregation = Count
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	bars, err := s.barsExpr(spec)
	if err != nil {
		return nil, err
	}
	modify := func(sel *sql.Selector) {
		b := bars(sel)
		sel.Select(sql.As(b.label, "label"), sql.As(b.value, "value"), sql.As(b.n, "n")).GroupBy(b.group)
		if b.distinct {
			sel.Distinct()
		}
	}
	var rows []row
	switch spec.Target {
	case Tasks:
		q := s.client.Task.Query().Where(spec.TaskWhere...)
		if spec.Aggregation != Count {
			q.Where(task.EndedAtNotNil())
		}
		err = q.Modify(modify).Scan(ctx, &rows)
	case Cases:
		q := s.client.BusinessCase.Query().Where(spec.CaseWhere...)
		if spec.Aggregation != Count {
			q.Where(businesscase.EndedAtNotNil())
		}
		err = q.Modify(modify).Scan(ctx, &rows)
	}
	if err != nil {
		return nil, fmt.Errorf("chart %s by %s: %w", spec.Target, spec.GroupBy, err)
	}
	return s.finish(ctx, spec, rows)
}

// sqlBars is the SQL of a chart's bars: what the rows are grouped by, and per group the
// bar's label, value and number of rows.
type sqlBars struct {
	group, label, value, n string
	// distinct: the groups are finer than the bars, each group's row carries its whole
	// bar (window aggregates over the bar), and DISTINCT keeps one row per bar.
	distinct bool
}

// barsExpr returns the SQL of the bars of a chart (a function of the query's selector;
// grouping by responsible joins the responsibles to it).
func (s *Service) barsExpr(spec Spec) (func(*sql.Selector) sqlBars, error) {
	col := func(name string) func(*sql.Selector) sqlBars {
		return func(sel *sql.Selector) sqlBars {
			return sqlBars{group: sel.C(name), label: sel.C(name), value: s.valueExpr(spec, sel), n: "COUNT(*)"}
		}
	}
	switch spec.GroupBy {
	case ByState, ByBusinessState:
		return col("state"), nil
	case ByPriority:
		return col(task.FieldPriority), nil
	case ByCategory:
		return col("category"), nil
	case ByWorker:
		return col(task.FieldWorkerID), nil
	case ByCreator:
		return col("creator_id"), nil
	case ByOwner:
		return col(businesscase.FieldOwnerID), nil
	case ByResponsible:
		return func(sel *sql.Selector) sqlBars {
			r := sql.Table(taskresponsible.Table)
			sel.Join(r).On(sel.C(task.FieldID), r.C(taskresponsible.FieldTaskID)).
				Where(sql.EQ(r.C(taskresponsible.FieldExpiry), false))
			lbl := fmt.Sprintf("COALESCE('r' || CAST(%s AS TEXT), 'u' || CAST(%s AS TEXT))", r.C(taskresponsible.FieldRoleID), r.C(taskresponsible.FieldUserID))
			return sqlBars{group: lbl, label: lbl, value: s.valueExpr(spec, sel), n: "COUNT(*)"}
		}, nil
	case ByExpiry:
		return func(sel *sql.Selector) sqlBars {
			e := s.expiryExpr(sel)
			return sqlBars{group: e, label: e, value: s.valueExpr(spec, sel), n: "COUNT(*)"}
		}, nil
	case ByCreatedAt, ByEndedAt:
		column := map[GroupBy]string{ByCreatedAt: "created_at", ByEndedAt: "ended_at"}[spec.GroupBy]
		if s.dayBins {
			return s.dayBinBars(spec, column), nil
		}
		bucket := s.bucketExpr(column, spec.Interval)
		return func(sel *sql.Selector) sqlBars {
			group, label := bucket(sel)
			return sqlBars{group: group, label: label, value: s.valueExpr(spec, sel), n: "COUNT(*)"}
		}, nil
	}
	return nil, apperr.BadInput("unknown grouping %q", spec.GroupBy)
}

// runtimeExpr returns the SQL of BusinessRuntime: seconds from creation to end.
func (s *Service) runtimeExpr(sel *sql.Selector) string {
	if s.dialect != dialect.Postgres {
		return fmt.Sprintf("((julianday(substr(%s, 1, 19)) - julianday(substr(%s, 1, 19))) * 86400.0)", sel.C("ended_at"), sel.C("created_at"))
	}
	return fmt.Sprintf("EXTRACT(EPOCH FROM (%s - %s))", sel.C("ended_at"), sel.C("created_at"))
}

// valueExpr returns the SQL of a bar's value.
func (s *Service) valueExpr(spec Spec, sel *sql.Selector) string {
	if spec.Aggregation == Count {
		return "COUNT(*)"
	}
	return string(spec.Aggregation) + "(" + s.runtimeExpr(sel) + ")"
}

// bucketExpr returns the SQL of the start of a time column's interval, and of its label
// (YYYY-MM-DD) computed from the bucket, so the per-row work is only the truncation.
func (s *Service) bucketExpr(column string, iv Interval) func(*sql.Selector) (group, label string) {
	return func(sel *sql.Selector) (string, string) {
		c := sel.C(column)
		if s.dialect == dialect.Postgres {
			// date_trunc cuts days in the session's time zone.
			unit := map[Interval]string{Day: "day", Week: "week", Month: "month"}[iv]
			g := fmt.Sprintf("date_trunc('%s', %s)", unit, c)
			return g, fmt.Sprintf("to_char(%s, 'YYYY-MM-DD')", g)
		}
		// SQLite: ent stores times as text; substr keeps "YYYY-MM-DD HH:MM:SS", which its
		// date functions read. Weeks start on Monday, as PostgreSQL's date_trunc.
		day := fmt.Sprintf("substr(%s, 1, 19)", c)
		var g string
		switch iv {
		case Week:
			g = fmt.Sprintf("date(%s, '-6 days', 'weekday 1')", day)
		case Month:
			g = fmt.Sprintf("date(%s, 'start of month')", day)
		default:
			g = fmt.Sprintf("date(%s)", day)
		}
		return g, g
	}
}

// dayBin returns the PostgreSQL expression of the UTC day (its midnight) a time
// column's value falls in. date_bin is plain arithmetic on the stored microseconds,
// where date_trunc takes each value apart into calendar fields in the session's time
// zone: at a million tasks, ~20 ms against ~150 ms of CPU. It is also immutable, so
// PostgreSQL keeps statistics on it (the hand-made migration
// 20261124173406_chart_day_statistics.sql creates them for exactly this text, one per
// table and column): without them the planner expects as many days as rows, and never
// aggregates in parallel.
func dayBin(column string) string {
	return fmt.Sprintf("date_bin('1 day'::interval, %s, '2000-01-01 00:00:00+00'::timestamptz)", column)
}

// dayBinBars groups a chart's rows by UTC day (dayBin), a key cheap to compute and
// hash; each day's row then carries its day's, week's or month's bar through window
// aggregates over the bucket (date_trunc of at most a few thousand days), and DISTINCT
// keeps one row per bucket. Sessions run in UTC (Service.dayBins), so the buckets, their
// labels and the values are those of date_trunc per row: counts and sums add up, MIN
// and MAX of the days' are the bucket's, and AVG is the bucket's SUM over its count,
// as PostgreSQL's own AVG computes it (numeric division of the exact numeric sum).
func (s *Service) dayBinBars(spec Spec, column string) func(*sql.Selector) sqlBars {
	unit := map[Interval]string{Day: "day", Week: "week", Month: "month"}[spec.Interval]
	return func(sel *sql.Selector) sqlBars {
		day := dayBin(sel.C(column))
		bucket := fmt.Sprintf("date_trunc('%s', %s)", unit, day)
		over := " OVER (PARTITION BY " + bucket + ")"
		rt := s.runtimeExpr(sel)
		var value string
		switch spec.Aggregation {
		case Count:
			value = "SUM(COUNT(*))" + over
		case Sum:
			value = "SUM(SUM(" + rt + "))" + over
		case Avg:
			value = "SUM(SUM(" + rt + "))" + over + " / NULLIF(SUM(COUNT(" + rt + "))" + over + ", 0)"
		case Min:
			value = "MIN(MIN(" + rt + "))" + over
		case Max:
			value = "MAX(MAX(" + rt + "))" + over
		}
		return sqlBars{group: day, label: fmt.Sprintf("to_char(%s, 'YYYY-MM-DD')", bucket), value: value,
			n: "SUM(COUNT(*))" + over, distinct: true}
	}
}

// expiryExpr buckets open tasks' expiry relative to now.
func (s *Service) expiryExpr(sel *sql.Selector) string {
	now := s.now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	week := day.AddDate(0, 0, 7-(int(day.Weekday())+6)%7) // next Monday
	month := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	c := sel.C(task.FieldExpiryTimestamp)
	lit := func(t time.Time) string {
		if s.dialect == dialect.Postgres {
			return "'" + t.Format(time.RFC3339Nano) + "'::timestamptz"
		}
		return "'" + t.Format("2006-01-02 15:04:05") + "'"
	}
	col := c
	if s.dialect != dialect.Postgres {
		col = "substr(" + c + ", 1, 19)"
	}
	return fmt.Sprintf("CASE WHEN %s IS NULL THEN 'NONE' WHEN %s < %s THEN 'EXPIRED' WHEN %s < %s THEN 'TODAY' "+
		"WHEN %s < %s THEN 'THIS_WEEK' WHEN %s < %s THEN 'THIS_MONTH' WHEN %s < %s THEN 'THIS_YEAR' ELSE 'LATER' END",
		c, col, lit(now), col, lit(day.AddDate(0, 0, 1)), col, lit(week), col, lit(month), col, lit(year))
}

// finish turns the database's bars into a chart: business states summed from states,
// names for ids, a stable order, and the total.
func (s *Service) finish(ctx context.Context, spec Spec, rows []row) (*Data, error) {
	type bar struct {
		label string
		value float64
		n     int
	}
	var bars []bar
	index := map[string]int{}
	add := func(label string, value float64, n int) {
		i, ok := index[label]
		if !ok {
			index[label] = len(bars)
			bars = append(bars, bar{label: label, value: value, n: n})
			return
		}
		b := &bars[i]
		switch spec.Aggregation {
		case Count, Sum:
			b.value += value
		case Avg:
			b.value = (b.value*float64(b.n) + value*float64(n)) / float64(b.n+n)
		case Min:
			b.value = min(b.value, value)
		case Max:
			b.value = max(b.value, value)
		}
		b.n += n
	}
	names, err := s.names(ctx, spec, rows)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		label := r.Label.String
		switch {
		case !r.Label.Valid || label == "":
			label = "NONE"
		case spec.GroupBy == ByBusinessState && spec.Target == Tasks:
			label = string(policy.TaskBusinessState(task.State(label)))
		case spec.GroupBy == ByBusinessState && spec.Target == Cases:
			if b := policy.CaseBusinessState(businesscase.State(label)); b != "" {
				label = b
			}
		case names != nil:
			if n, ok := names[label]; ok {
				label = n
			}
		}
		add(label, r.Value.Float64, r.N)
	}
	order := func(l string) int { return len(ExpiryBuckets) }
	if spec.GroupBy == ByExpiry {
		order = func(l string) int { return slices.Index(ExpiryBuckets, l) }
	}
	sort.SliceStable(bars, func(i, j int) bool {
		if oi, oj := order(bars[i].label), order(bars[j].label); oi != oj {
			return oi < oj
		}
		return bars[i].label < bars[j].label
	})
	d := &Data{Labels: []string{}, Values: []float64{}, Kind: spec.labelKind()}
	n := 0
	for _, b := range bars {
		d.Labels = append(d.Labels, b.label)
		d.Values = append(d.Values, b.value)
		switch spec.Aggregation {
		case Count, Sum:
			d.Total += b.value
		case Avg:
			d.Total += b.value * float64(b.n)
		case Min:
			if n == 0 || b.value < d.Total {
				d.Total = b.value
			}
		case Max:
			d.Total = max(d.Total, b.value)
		}
		n += b.n
	}
	if spec.Aggregation == Avg && n > 0 {
		d.Total /= float64(n)
	}
	return d, nil
}

// names maps user and role ids of the bars to names (system context: a chart shows the
// names of the people and roles its own visible rows refer to).
func (s *Service) names(ctx context.Context, spec Spec, rows []row) (map[string]string, error) {
	var userIDs, roleIDs []int
	for _, r := range rows {
		l := r.Label.String
		switch spec.GroupBy {
		case ByWorker, ByCreator, ByOwner:
			if id, err := strconv.Atoi(l); err == nil {
				userIDs = append(userIDs, id)
			}
		case ByResponsible:
			if len(l) > 1 {
				if id, err := strconv.Atoi(l[1:]); err == nil {
					if l[0] == 'r' {
						roleIDs = append(roleIDs, id)
					} else {
						userIDs = append(userIDs, id)
					}
				}
			}
		}
	}
	if len(userIDs)+len(roleIDs) == 0 {
		return nil, nil
	}
	// Names of users and roles are for every logged-in user (policy/entities.go).
	out := map[string]string{}
	users, err := s.client.User.Query().Where(user.IDIn(userIDs...)).Select(user.FieldName).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("chart user names: %w", err)
	}
	prefix := ""
	if spec.GroupBy == ByResponsible {
		prefix = "u"
	}
	for _, u := range users {
		out[prefix+strconv.Itoa(u.ID)] = u.Name
	}
	roles, err := s.client.Role.Query().Where(role.IDIn(roleIDs...)).Select(role.FieldName).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("chart role names: %w", err)
	}
	for _, r := range roles {
		out["r"+strconv.Itoa(r.ID)] = r.Name
	}
	return out, nil
}
