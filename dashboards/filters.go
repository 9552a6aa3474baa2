package dashboards

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
)

// Target is what a widget lists.
type Target string

// Widget targets.
const (
	Tasks Target = "task"
	Cases Target = "case"
)

// kind is a filterable field's type, which decides its operators.
type kind string

const (
	text   kind = "text"
	number kind = "number"
	date   kind = "date"
	enum   kind = "enum" // state, business state, priority: in
	people kind = "people"
)

// operators per kind, as domain.md lists them.
var operators = map[kind][]string{
	text:   {"is", "is_not", "contains", "not_contains", "start_with", "end_with", "empty", "not_empty"},
	number: {"equal", "not_equal", "less", "less_or_equal", "greater", "greater_or_equal", "between", "empty", "not_empty"},
	date:   {"today", "yesterday", "before", "after", "between", "last", "next", "empty", "not_empty"},
	enum:   {"in", "not_in"},
	people: {"in", "not_in", "current_user"},
}

// fields are the filterable (and showable) fields and their columns.
var fields = map[Target]map[string]struct {
	kind   kind
	column string
}{
	Tasks: {
		"id": {number, task.FieldID}, "name": {text, task.FieldName}, "description": {text, task.FieldDescription},
		"category": {text, task.FieldCategory}, "state": {enum, task.FieldState}, "businessState": {enum, task.FieldState},
		"priority": {enum, task.FieldPriority}, "responsible": {people, ""}, "worker": {people, task.FieldWorkerID},
		"creator": {people, task.FieldCreatorID}, "createdAt": {date, task.FieldCreatedAt},
		"startedAt": {date, task.FieldStartedAt}, "endedAt": {date, task.FieldEndedAt},
		"expiryTimestamp": {date, task.FieldExpiryTimestamp},
	},
	Cases: {
		"id": {number, businesscase.FieldID}, "name": {text, businesscase.FieldName},
		"description": {text, businesscase.FieldDescription}, "category": {text, businesscase.FieldCategory},
		"state": {enum, businesscase.FieldState}, "businessState": {enum, businesscase.FieldState},
		"creator": {people, businesscase.FieldCreatorID}, "owner": {people, businesscase.FieldOwnerID},
		"createdAt": {date, businesscase.FieldCreatedAt}, "endedAt": {date, businesscase.FieldEndedAt},
	},
}

// customPrefix names a custom field: customFields.costCenter.
const customPrefix = "customFields."

func fieldKind(t Target, name string) (kind, bool) {
	if strings.HasPrefix(name, customPrefix) && len(name) > len(customPrefix) {
		return text, true // custom fields take text and number operators
	}
	f, ok := fields[t][name]
	return f.kind, ok
}

func fieldNames(t Target) string {
	var names []string
	for n := range fields[t] {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(append(names, customPrefix+"<name>"), ", ")
}

// checkFilter says what is wrong with a filter, before it is ever run.
func checkFilter(t Target, f Filter) error {
	k, ok := fieldKind(t, f.Field)
	if !ok {
		return fmt.Errorf("%s has no field %q; fields: %s", t, f.Field, fieldNames(t))
	}
	allowed := operators[k]
	if strings.HasPrefix(f.Field, customPrefix) {
		allowed = append(slices.Clone(operators[text]), operators[number]...)
	}
	if !slices.Contains(allowed, f.Operator) {
		return fmt.Errorf("field %s takes the operators %s, not %q", f.Field, strings.Join(allowed, ", "), f.Operator)
	}
	_, err := buildFilter(t, f, Viewer{}, time.Now())
	return err
}

// Viewer is who a widget is shown to (for current_user).
type Viewer struct {
	UserID  int
	RoleIDs []int
}

// TaskPredicates turns a task widget's filters into predicates of the task list.
func TaskPredicates(filters []Filter, v Viewer, now time.Time) ([]predicate.Task, error) {
	var out []predicate.Task
	for i, f := range filters {
		p, err := buildFilter(Tasks, f, v, now)
		if err != nil {
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		out = append(out, predicate.Task(p))
	}
	return out, nil
}

// CasePredicates turns a case widget's filters into predicates of the case list.
func CasePredicates(filters []Filter, v Viewer, now time.Time) ([]predicate.BusinessCase, error) {
	var out []predicate.BusinessCase
	for i, f := range filters {
		p, err := buildFilter(Cases, f, v, now)
		if err != nil {
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		out = append(out, predicate.BusinessCase(p))
	}
	return out, nil
}

// buildFilter returns a filter's condition on the selector of its target's table.
func buildFilter(t Target, f Filter, v Viewer, now time.Time) (func(*sql.Selector), error) {
	if name, ok := strings.CutPrefix(f.Field, customPrefix); ok {
		return customFilter(t, name, f)
	}
	def := fields[t][f.Field]
	col := def.column
	on := func(p func(s *sql.Selector) *sql.Predicate) func(*sql.Selector) {
		return func(s *sql.Selector) { s.Where(p(s)) }
	}
	need := func(n int) error {
		if len(f.Values) < n {
			return fmt.Errorf("operator %s of %s needs %d value(s)", f.Operator, f.Field, n)
		}
		return nil
	}
	switch def.kind {
	case text:
		return textFilter(col, f, need)
	case number:
		if f.Operator == "empty" || f.Operator == "not_empty" {
			return nil, fmt.Errorf("%s is never empty", f.Field)
		}
		return numberFilter(func(s *sql.Selector) string { return s.C(col) }, f, need)
	case enum:
		if err := need(1); err != nil {
			return nil, err
		}
		values := f.Values
		if f.Field == "businessState" {
			values = nil
			for _, b := range f.Values {
				var states []string
				if t == Tasks {
					for _, st := range policy.TaskStatesOf(policy.BusinessState(b)) {
						states = append(states, string(st))
					}
				} else {
					for _, st := range policy.CaseStatesOf(b) {
						states = append(states, string(st))
					}
				}
				if len(states) == 0 {
					return nil, fmt.Errorf("businessState %q is unknown", b)
				}
				values = append(values, states...)
			}
		}
		if err := checkEnum(t, f.Field, values); err != nil {
			return nil, err
		}
		args := anys(values)
		if f.Operator == "not_in" {
			return on(func(s *sql.Selector) *sql.Predicate { return sql.NotIn(s.C(col), args...) }), nil
		}
		return on(func(s *sql.Selector) *sql.Predicate { return sql.In(s.C(col), args...) }), nil
	case people:
		return peopleFilter(t, col, f, v, need)
	case date:
		return dateFilter(col, f, now, need)
	}
	return nil, fmt.Errorf("unknown field %s", f.Field)
}

func checkEnum(t Target, field string, values []string) error {
	for _, v := range values {
		var err error
		switch {
		case field == "priority":
			err = task.PriorityValidator(task.Priority(v))
		case t == Tasks:
			err = task.StateValidator(task.State(v))
		default:
			err = businesscase.StateValidator(businesscase.State(v))
		}
		if err != nil {
			return fmt.Errorf("%s: %q is not a %s value", field, v, field)
		}
	}
	return nil
}

func textFilter(col string, f Filter, need func(int) error) (func(*sql.Selector), error) {
	if f.Operator != "empty" && f.Operator != "not_empty" {
		if err := need(1); err != nil {
			return nil, err
		}
	}
	var p func(c string) *sql.Predicate
	switch f.Operator {
	case "is":
		p = func(c string) *sql.Predicate { return sql.EQ(c, f.Values[0]) }
	case "is_not":
		p = func(c string) *sql.Predicate { return sql.NEQ(c, f.Values[0]) }
	case "contains":
		p = func(c string) *sql.Predicate { return sql.ContainsFold(c, f.Values[0]) }
	case "not_contains":
		p = func(c string) *sql.Predicate { return sql.Not(sql.ContainsFold(c, f.Values[0])) }
	case "start_with":
		p = func(c string) *sql.Predicate { return sql.HasPrefix(c, f.Values[0]) }
	case "end_with":
		p = func(c string) *sql.Predicate { return sql.HasSuffix(c, f.Values[0]) }
	case "empty":
		p = func(c string) *sql.Predicate { return sql.EQ(c, "") }
	case "not_empty":
		p = func(c string) *sql.Predicate { return sql.NEQ(c, "") }
	default:
		return nil, fmt.Errorf("text field %s takes %s, not %q", f.Field, strings.Join(operators[text], ", "), f.Operator)
	}
	return func(s *sql.Selector) { s.Where(p(s.C(col))) }, nil
}

func numberFilter(col func(*sql.Selector) string, f Filter, need func(int) error) (func(*sql.Selector), error) {
	n := 1
	if f.Operator == "between" {
		n = 2
	}
	if err := need(n); err != nil {
		return nil, err
	}
	// The number columns are integer ids: a fraction or a number beyond int64 would fail
	// in PostgreSQL's bigint parameter, so it is refused here.
	nums := make([]int64, n)
	for i := range n {
		x, err := strconv.ParseInt(f.Values[i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", f.Field, f.Values[i])
		}
		nums[i] = x
	}
	ops := map[string]func(string, any) *sql.Predicate{"equal": sql.EQ, "not_equal": sql.NEQ, "less": sql.LT,
		"less_or_equal": sql.LTE, "greater": sql.GT, "greater_or_equal": sql.GTE}
	if f.Operator == "between" {
		return func(s *sql.Selector) { s.Where(sql.And(sql.GTE(col(s), nums[0]), sql.LTE(col(s), nums[1]))) }, nil
	}
	op, ok := ops[f.Operator]
	if !ok {
		return nil, fmt.Errorf("number field %s takes %s, not %q", f.Field, strings.Join(operators[number], ", "), f.Operator)
	}
	return func(s *sql.Selector) { s.Where(op(col(s), nums[0])) }, nil
}

// customFilter matches a custom field (JSON) by text or number; filter validates the
// name and binds it, never writing it into the SQL text.
func customFilter(t Target, name string, f Filter) (func(*sql.Selector), error) {
	if err := filter.ValidateName(name); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Field, err)
	}
	col := task.FieldCustomFields
	if t == Cases {
		col = businesscase.FieldCustomFields
	}
	switch f.Operator {
	case "is", "is_not":
		if len(f.Values) == 0 {
			return nil, fmt.Errorf("operator %s of %s needs a value", f.Operator, f.Field)
		}
		eq := filter.Equals(col, name, f.Values[0])
		if f.Operator == "is_not" {
			return func(s *sql.Selector) { s.Where(sql.Not(eq(s))) }, nil
		}
		return filter.Where(eq), nil
	case "empty":
		has := filter.Has(col, name)
		return func(s *sql.Selector) { s.Where(sql.Not(has(s))) }, nil
	case "not_empty":
		return filter.Where(filter.Has(col, name)), nil
	case "equal", "less", "greater", "less_or_equal", "greater_or_equal", "not_equal", "between":
		nums := make([]float64, 0, 2)
		for _, v := range f.Values {
			x, err := parseNumber(f.Field, v)
			if err != nil {
				return nil, err
			}
			nums = append(nums, x)
		}
		want := 1
		if f.Operator == "between" {
			want = 2
		}
		if len(nums) < want {
			return nil, fmt.Errorf("operator %s of %s needs %d number(s)", f.Operator, f.Field, want)
		}
		if f.Operator == "between" {
			lo, hi := filter.Compare(col, name, sql.OpGTE, nums[0]), filter.Compare(col, name, sql.OpLTE, nums[1])
			return func(s *sql.Selector) { s.Where(sql.And(lo(s), hi(s))) }, nil
		}
		ops := map[string]sql.Op{"equal": sql.OpEQ, "not_equal": sql.OpNEQ, "less": sql.OpLT,
			"less_or_equal": sql.OpLTE, "greater": sql.OpGT, "greater_or_equal": sql.OpGTE}
		return filter.Where(filter.Compare(col, name, ops[f.Operator], nums[0])), nil
	}
	return nil, fmt.Errorf("custom field %s takes is, is_not, empty, not_empty or a number comparison, not %q", f.Field, f.Operator)
}

// parseNumber reads a filter's number; NaN and infinities compare with nothing, so they
// are refused like text.
func parseNumber(field, v string) (float64, error) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%s: %q is not a number", field, v)
	}
	return x, nil
}

func peopleFilter(t Target, col string, f Filter, v Viewer, need func(int) error) (func(*sql.Selector), error) {
	if f.Operator == "current_user" {
		if t == Tasks && f.Field == "responsible" {
			return func(s *sql.Selector) {
				task.HasResponsiblesWith(taskresponsible.Expiry(false),
					taskresponsible.Or(taskresponsible.UserID(v.UserID), taskresponsible.RoleIDIn(v.RoleIDs...)))(s)
			}, nil
		}
		return func(s *sql.Selector) { s.Where(sql.EQ(s.C(col), v.UserID)) }, nil
	}
	if err := need(1); err != nil {
		return nil, err
	}
	names := f.Values
	not := f.Operator == "not_in"
	if t == Tasks && f.Field == "responsible" {
		// Responsibles are named users or roles.
		p := task.HasResponsiblesWith(taskresponsible.Expiry(false), taskresponsible.Or(
			taskresponsible.HasUserWith(user.NameIn(names...)), taskresponsible.HasRoleWith(role.NameIn(names...))))
		if not {
			p = task.Not(p)
		}
		return func(s *sql.Selector) { p(s) }, nil
	}
	return func(s *sql.Selector) {
		ids := sql.Select(user.FieldID).From(sql.Table(user.Table)).Where(sql.In(user.FieldName, anys(names)...))
		if not {
			s.Where(sql.Or(sql.IsNull(s.C(col)), sql.NotIn(s.C(col), ids)))
			return
		}
		s.Where(sql.In(s.C(col), ids))
	}, nil
}

// dateFilter: today and yesterday are UTC days; last/next N take a unit (day, week,
// month, year) as the second value.
func dateFilter(col string, f Filter, now time.Time, need func(int) error) (func(*sql.Selector), error) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	parse := func(name, v string) (time.Time, error) {
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%s of %s: %q is not a date (2006-01-02) or an RFC 3339 time", name, f.Field, v)
	}
	var from, to time.Time // [from, to)
	switch f.Operator {
	case "today":
		from, to = day, day.AddDate(0, 0, 1)
	case "yesterday":
		from, to = day.AddDate(0, 0, -1), day
	case "before", "after":
		t, err := parse("from", f.From)
		if err != nil {
			return nil, err
		}
		if f.Operator == "before" {
			to = t
		} else {
			from = t
		}
	case "between":
		var err error
		if from, err = parse("from", f.From); err != nil {
			return nil, err
		}
		if to, err = parse("to", f.To); err != nil {
			return nil, err
		}
		if len(f.To) == len("2006-01-02") {
			to = to.AddDate(0, 0, 1) // the whole last day
		}
	case "last", "next":
		if err := need(2); err != nil {
			return nil, fmt.Errorf("%w: a number and a unit (day, week, month, year)", err)
		}
		n, err := strconv.Atoi(f.Values[0])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s %s: %q is not a positive number", f.Field, f.Operator, f.Values[0])
		}
		var shifted time.Time
		switch strings.ToLower(f.Values[1]) {
		case "day":
			shifted = now.AddDate(0, 0, sign(f.Operator)*n)
		case "week":
			shifted = now.AddDate(0, 0, sign(f.Operator)*7*n)
		case "month":
			shifted = now.AddDate(0, sign(f.Operator)*n, 0)
		case "year":
			shifted = now.AddDate(sign(f.Operator)*n, 0, 0)
		default:
			return nil, fmt.Errorf("%s %s: unit %q is not day, week, month or year", f.Field, f.Operator, f.Values[1])
		}
		if f.Operator == "last" {
			from, to = shifted, now
		} else {
			from, to = now, shifted
		}
	case "empty":
		return func(s *sql.Selector) { s.Where(sql.IsNull(s.C(col))) }, nil
	case "not_empty":
		return func(s *sql.Selector) { s.Where(sql.NotNull(s.C(col))) }, nil
	default:
		return nil, fmt.Errorf("date field %s takes %s, not %q", f.Field, strings.Join(operators[date], ", "), f.Operator)
	}
	return func(s *sql.Selector) {
		if !from.IsZero() {
			s.Where(sql.GTE(s.C(col), from))
		}
		if !to.IsZero() {
			s.Where(sql.LT(s.C(col), to))
		}
	}, nil
}

func sign(op string) int {
	if op == "last" {
		return -1
	}
	return 1
}

func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}
