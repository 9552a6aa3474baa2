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
}

// Expiry buckets of ByExpiry, in order.
var ExpiryBuckets = []string{"EXPIRED", "TODAY", "THIS_WEEK", "THIS_MONTH", "THIS_YEAR", "LATER", "NONE"}

// Service computes charts.
type Service struct {
	client  *ent.Client
	dialect string
	now     func() time.Time
}

// New returns the chart service over a database of the given ent dialect.
func New(client *ent.Client, dialectName string) *Service {
	return &Service{client: client, dialect: dialectName, now: func() time.Time { return time.Now().UTC() }}
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
	label, err := s.labelExpr(spec)
	if err != nil {
		return nil, err
	}
	modify := func(sel *sql.Selector) {
		group, lbl := label(sel)
		if spec.GroupBy == ByResponsible {
			r := sql.Table(taskresponsible.Table)
			sel.Join(r).On(sel.C(task.FieldID), r.C(taskresponsible.FieldTaskID)).
				Where(sql.EQ(r.C(taskresponsible.FieldExpiry), false))
			lbl = fmt.Sprintf("COALESCE('r' || CAST(%s AS TEXT), 'u' || CAST(%s AS TEXT))", r.C(taskresponsible.FieldRoleID), r.C(taskresponsible.FieldUserID))
			group = lbl
		}
		sel.Select(sql.As(lbl, "label"), sql.As(s.valueExpr(spec, sel), "value"), sql.As("COUNT(*)", "n")).GroupBy(group)
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

// labelExpr returns the SQL a row is grouped by, and the SQL of its label.
func (s *Service) labelExpr(spec Spec) (func(*sql.Selector) (group, label string), error) {
	col := func(name string) func(*sql.Selector) (string, string) {
		return func(sel *sql.Selector) (string, string) { return sel.C(name), sel.C(name) }
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
		return col(task.FieldID), nil // replaced by the join in Chart
	case ByExpiry:
		return func(sel *sql.Selector) (string, string) { e := s.expiryExpr(sel); return e, e }, nil
	case ByCreatedAt:
		return s.bucketExpr("created_at", spec.Interval), nil
	case ByEndedAt:
		return s.bucketExpr("ended_at", spec.Interval), nil
	}
	return nil, apperr.BadInput("unknown grouping %q", spec.GroupBy)
}

// valueExpr returns the SQL of a bar's value.
func (s *Service) valueExpr(spec Spec, sel *sql.Selector) string {
	if spec.Aggregation == Count {
		return "COUNT(*)"
	}
	runtime := fmt.Sprintf("EXTRACT(EPOCH FROM (%s - %s))", sel.C("ended_at"), sel.C("created_at"))
	if s.dialect != dialect.Postgres {
		runtime = fmt.Sprintf("((julianday(substr(%s, 1, 19)) - julianday(substr(%s, 1, 19))) * 86400.0)", sel.C("ended_at"), sel.C("created_at"))
	}
	return string(spec.Aggregation) + "(" + runtime + ")"
}

// bucketExpr returns the SQL of the start of a time column's interval, and of its label
// (YYYY-MM-DD) computed from the bucket, so the per-row work is only the truncation.
func (s *Service) bucketExpr(column string, iv Interval) func(*sql.Selector) (group, label string) {
	return func(sel *sql.Selector) (string, string) {
		c := sel.C(column)
		if s.dialect == dialect.Postgres {
			// Sessions run in UTC (database.postgresDSN), so date_trunc cuts UTC days.
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
	d := &Data{Labels: []string{}, Values: []float64{}}
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
	sys := policy.SystemContext(ctx)
	out := map[string]string{}
	users, err := s.client.User.Query().Where(user.IDIn(userIDs...)).Select(user.FieldName).All(sys)
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
	roles, err := s.client.Role.Query().Where(role.IDIn(roleIDs...)).Select(role.FieldName).All(sys)
	if err != nil {
		return nil, fmt.Errorf("chart role names: %w", err)
	}
	for _, r := range roles {
		out["r"+strconv.Itoa(r.ID)] = r.Name
	}
	return out, nil
}
