package filter

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/policy"
)

// The task and case lists' where inputs compiled into conditions of the list index.
// They come as the client wrote them (the GraphQL argument's value, or the export's
// where= JSON), already checked against the schema (GraphQL validation, DecodeTaskList).
// Each field becomes a condition the index evaluates in memory; a field the index keeps
// no data for (conditions on the worker's or creator's own fields, on a case's process
// or documents, …) is handed back to the database: Resolve returns the ids of the rows
// its ent where input matches, under the viewer's read rules, and the condition keeps
// those.

// Resolve evaluates in the database what the index cannot: each returns the ids of the
// rows an ent where input is true for, and of those it is false for (SQL's NULLs make
// some rows neither, and NOT must leave those out too).
type Resolve struct {
	Tasks func(*ent.TaskWhereInput) (match, nomatch []int, err error)
	Cases func(*ent.CaseWhereInput) (match, nomatch []int, err error)
}

type (
	taskCond = listindex.Cond[listindex.TaskRow]
	caseCond = listindex.Cond[listindex.CaseRow]
)

// opSuffixes are the suffixes of ent's where-input fields, longest first where one ends
// another.
var opSuffixes = []struct {
	suffix string
	op     listindex.Op
}{
	{"ContainsFold", listindex.ContainsFold}, {"EqualFold", listindex.EqualFold}, {"HasPrefix", listindex.HasPrefix},
	{"HasSuffix", listindex.HasSuffix}, {"Contains", listindex.Contains}, {"NotNil", listindex.NotNil},
	{"IsNil", listindex.IsNil}, {"NotIn", listindex.NotIn}, {"NEQ", listindex.NEQ}, {"GTE", listindex.GTE},
	{"LTE", listindex.LTE}, {"GT", listindex.GT}, {"LT", listindex.LT}, {"In", listindex.In}, {"", listindex.EQ},
}

// splitField returns the column and comparison a where-input field names, if it names
// one of columns (listindex.TaskColumn, CaseColumn: the where inputs name the columns).
func splitField(columns func(string) (listindex.Type, bool), key string) (string, listindex.Type, listindex.Op, bool) {
	for _, s := range opSuffixes {
		col, ok := strings.CutSuffix(key, s.suffix)
		if !ok {
			continue
		}
		if typ, ok := columns(col); ok {
			return col, typ, s.op, true
		}
	}
	return "", 0, 0, false
}

// value converts one JSON or GraphQL value of a field.
func value(kind listindex.Type, v any) (listindex.Value, error) {
	if v == nil {
		return listindex.Value{Null: true}, nil
	}
	switch kind {
	case listindex.Text, listindex.Enum:
		if s, ok := v.(string); ok {
			return listindex.Value{S: s}, nil
		}
	case listindex.Bool:
		if b, ok := v.(bool); ok {
			if b {
				return listindex.Value{I: 1}, nil
			}
			return listindex.Value{}, nil
		}
	case listindex.Time:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return listindex.Value{}, apperr.BadInput("%q is not a time: give it as RFC 3339, e.g. 2026-12-06T10:00:00Z", truncate(s))
			}
			return listindex.Value{I: t.UnixMicro()}, nil
		}
	case listindex.Number:
		n, err := integer(v)
		if err != nil {
			return listindex.Value{}, err
		}
		return listindex.Value{I: n}, nil
	}
	return listindex.Value{}, apperr.BadInput("%v is not a valid value here", truncate(fmt.Sprint(v)))
}

// integer reads an ID or Int given as a number or a string.
func integer(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, apperr.BadInput("%q is not an id or integer", truncate(fmt.Sprint(v)))
	}
	return n, nil
}

// compare compiles one field that names a column and comparison.
func compare[R any](kind listindex.Type, col string, op listindex.Op, v any) (*listindex.Cond[R], error) {
	switch op {
	case listindex.IsNil, listindex.NotNil:
		if b, _ := v.(bool); !b {
			return nil, nil // isNil: false adds nothing, as in ent
		}
		return listindex.Compare[R](col, op), nil
	case listindex.In, listindex.NotIn:
		list, _ := v.([]any)
		if list == nil && v != nil {
			list = []any{v} // a single value where a list is expected
		}
		vals := make([]listindex.Value, 0, len(list))
		for _, x := range list {
			val, err := value(kind, x)
			if err != nil {
				return nil, err
			}
			vals = append(vals, val)
		}
		return listindex.Compare[R](col, op, vals...), nil
	}
	val, err := value(kind, v)
	if err != nil {
		return nil, err
	}
	if val.Null {
		return nil, nil // an explicit null compares nothing, as in ent
	}
	return listindex.Compare[R](col, op, val), nil
}

// join is the path of a field below at, as ent's errors name it (and.or.not).
func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// emptyInput is the error of an empty where object inside not, and, or or a has…With,
// as graph's clientError words it for ent's.
func emptyInput(typ, at string) error {
	return apperr.BadInput("the filter has an empty %s ({}) at %s, which would match nothing; give it at least one field or leave it out", typ, at)
}

// compiler compiles one entity's where input: the fields every where input has (and,
// or, not, the columns, has… of a nullable edge, businessState, text) here, the
// entity's own in own, the rest handed to the database by residual.
type compiler[R any] struct {
	typ string // the input type, for errors
	// columns are the columns the where input compares (listindex.TaskColumn, …).
	columns func(string) (listindex.Type, bool)
	// states are the states of a business state (none: not one).
	states func(string) []string
	// edges are the nullable edges by has… field, with their id column.
	edges map[string]string
	// own compiles a field of the entity's own, reporting whether it is one.
	own func(key string, v any, at string) (*listindex.Cond[R], bool, error)
	// residual evaluates the other fields in the database.
	residual func(fields map[string]any, at string) (*listindex.Cond[R], error)
}

// root compiles a where input as the client wrote it (nil or {}: no condition); arg
// names it in errors ("": as ent's errors do, from its first field on).
func (c *compiler[R]) root(raw any, arg string) (*listindex.Cond[R], error) {
	if raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, apperr.BadInput("where must be a %s object", c.typ)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return c.compile(m, arg)
}

// nested compiles the objects of a list field (and, or, has…With), none of them empty.
func (c *compiler[R]) nested(v any, at string) ([]*listindex.Cond[R], error) {
	var out []*listindex.Cond[R]
	for _, x := range asList(v) {
		sub, _ := x.(map[string]any)
		if len(sub) == 0 {
			return nil, emptyInput(c.typ, at)
		}
		k, err := c.compile(sub, at)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func (c *compiler[R]) compile(m map[string]any, at string) (*listindex.Cond[R], error) {
	var kids []*listindex.Cond[R]
	residual := map[string]any{}
	for _, key := range sortedKeys(m) {
		v := m[key]
		var cond *listindex.Cond[R]
		var err error
		switch col, edge := c.edges[key]; {
		case key == "and" || key == "or":
			var list []*listindex.Cond[R]
			if list, err = c.nested(v, join(at, key)); err == nil {
				if key == "and" {
					cond = listindex.And(list...)
				} else if len(list) > 0 {
					cond = listindex.Or(list...)
				}
			}
		case key == "not":
			if v == nil {
				continue
			}
			var list []*listindex.Cond[R]
			if list, err = c.nested(v, join(at, key)); err == nil {
				cond = listindex.Not(list[0])
			}
		case edge:
			b, ok := v.(bool)
			if !ok {
				continue
			}
			op := listindex.IsNil
			if b {
				op = listindex.NotNil
			}
			cond = listindex.Compare[R](col, op)
		case key == "businessState":
			if v == nil {
				continue
			}
			var states []listindex.Value
			for _, x := range asList(v) {
				name, _ := x.(string)
				ss := c.states(name)
				if len(ss) == 0 {
					return nil, apperr.BadInput("%s is not a valid %sBusinessState", truncate(name), strings.TrimSuffix(c.typ, "WhereInput"))
				}
				for _, st := range ss {
					states = append(states, listindex.Value{S: st})
				}
			}
			cond = listindex.Compare[R]("state", listindex.In, states...)
		case key == "text":
			s, ok := v.(string)
			if !ok {
				continue
			}
			cond = listindex.Or(listindex.Compare[R]("name", listindex.ContainsFold, listindex.Value{S: s}),
				listindex.Compare[R]("description", listindex.ContainsFold, listindex.Value{S: s}))
		default:
			var own bool
			if cond, own, err = c.own(key, v, at); own {
				break
			}
			col, kind, op, ok := splitField(c.columns, key)
			if !ok {
				residual[key] = v
				continue
			}
			cond, err = compare[R](kind, col, op, v)
		}
		if err != nil {
			return nil, err
		}
		if cond != nil {
			kids = append(kids, cond)
		}
	}
	if len(residual) > 0 {
		cond, err := c.residual(residual, at)
		if err != nil {
			return nil, err
		}
		kids = append(kids, cond)
	}
	return listindex.And(kids...), nil
}

// TaskCond compiles a task list's where input (nil: no condition); arg names the input
// in errors (the export's "where"; "" in GraphQL, whose errors carry the path).
func TaskCond(raw any, arg string, resolve Resolve) (*taskCond, error) {
	return taskCompiler(resolve).root(raw, arg)
}

// CaseCond compiles a case list's where input (nil: no condition), as TaskCond.
func CaseCond(raw any, arg string, resolve Resolve) (*caseCond, error) {
	return caseCompiler(resolve).root(raw, arg)
}

func taskCompiler(resolve Resolve) *compiler[listindex.TaskRow] {
	cases := caseCompiler(resolve)
	return &compiler[listindex.TaskRow]{
		typ: "TaskWhereInput", columns: listindex.TaskColumn,
		edges: map[string]string{"hasWorker": "workerID", "hasCreator": "creatorID"},
		states: func(b string) []string {
			var out []string
			for _, s := range policy.TaskStatesOf(policy.BusinessState(b)) {
				out = append(out, string(s))
			}
			return out
		},
		own: func(key string, v any, at string) (*taskCond, bool, error) {
			switch key {
			case "hasCase":
				if b, ok := v.(bool); ok && !b {
					return listindex.IDs[listindex.TaskRow](nil, nil), true, nil // every task has a case
				}
				return nil, true, nil
			case "hasCaseWith":
				list, err := cases.nested(v, join(at, key))
				if err != nil || len(list) == 0 {
					return nil, true, err
				}
				return listindex.CaseMatches(listindex.And(list...)), true, nil
			case "responsibleUserIds", "responsibleRoleIds":
				if v == nil {
					return nil, true, nil
				}
				c, err := responsibleCond(key == "responsibleRoleIds", asList(v))
				return c, true, err
			case "customFields":
				c, err := customFieldsCond[listindex.TaskRow](asList(v))
				return c, true, err
			}
			return nil, false, nil
		},
		residual: func(fields map[string]any, at string) (*taskCond, error) {
			w, err := decodeTaskWhere(fields, at)
			if err != nil {
				return nil, err
			}
			ids, not, err := resolve.Tasks(w)
			if err != nil {
				return nil, err
			}
			return listindex.IDs[listindex.TaskRow](ids, not), nil
		},
	}
}

func caseCompiler(resolve Resolve) *compiler[listindex.CaseRow] {
	return &compiler[listindex.CaseRow]{
		typ: "CaseWhereInput", columns: listindex.CaseColumn,
		edges: map[string]string{"hasCreator": "creatorID", "hasOwner": "ownerID"},
		states: func(b string) []string {
			var out []string
			for _, s := range policy.CaseStatesOf(b) {
				out = append(out, string(s))
			}
			return out
		},
		own: func(key string, v any, _ string) (*caseCond, bool, error) {
			if key == "customFields" {
				c, err := customFieldsCond[listindex.CaseRow](asList(v))
				return c, true, err
			}
			return nil, false, nil
		},
		residual: func(fields map[string]any, at string) (*caseCond, error) {
			w, err := decodeCaseWhere(fields, at)
			if err != nil {
				return nil, err
			}
			ids, not, err := resolve.Cases(w)
			if err != nil {
				return nil, err
			}
			return listindex.IDs[listindex.CaseRow](ids, not), nil
		},
	}
}

// responsibleCond: tasks whose current (not expiry) responsibles include one of ids.
func responsibleCond(roles bool, list []any) (*taskCond, error) {
	ids := make([]int, 0, len(list))
	for _, x := range list {
		n, err := integer(x)
		if err != nil {
			return nil, err
		}
		ids = append(ids, int(n))
	}
	return listindex.ResponsibleOf(roles, ids), nil
}

// customFieldsCond: every filter's custom field equals its value, as PostgreSQL's ->>
// gives the field (a missing field is NULL: neither equal nor unequal).
func customFieldsCond[R listindex.TaskRow | listindex.CaseRow](list []any) (*listindex.Cond[R], error) {
	var kids []*listindex.Cond[R]
	for i, x := range list {
		f, _ := x.(map[string]any)
		name, _ := f["name"].(string)
		if err := ValidateName(name); err != nil {
			return nil, apperr.BadInput("customFields[%d].name: %v", i, err)
		}
		eq, ok := f["equals"].(string)
		if !ok {
			continue
		}
		kids = append(kids, listindex.CustomField[R](name, eq))
	}
	return listindex.And(kids...), nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// asList takes a list, or a single value where a list is expected (GraphQL's coercion).
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// decodeTaskWhere decodes the fields the index cannot evaluate into ent's where input.
func decodeTaskWhere(fields map[string]any, at string) (*ent.TaskWhereInput, error) {
	text, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode the filter at %s: %w", at, err)
	}
	var w *ent.TaskWhereInput
	if err := decodeArg(cmp.Or(at, "where"), string(text), "TaskWhereInput", &w); err != nil {
		return nil, err
	}
	return w, nil
}

// decodeCaseWhere decodes the fields the index cannot evaluate into ent's where input.
func decodeCaseWhere(fields map[string]any, at string) (*ent.CaseWhereInput, error) {
	text, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode the filter at %s: %w", at, err)
	}
	var w *ent.CaseWhereInput
	if err := decodeArg(cmp.Or(at, "where"), string(text), "CaseWhereInput", &w); err != nil {
		return nil, err
	}
	return w, nil
}

// errNeedsDatabase stops a compilation that met a part only the database evaluates.
var errNeedsDatabase = errors.New("the filter needs the database")

// TaskCondInMemory compiles a task where input into a condition the index evaluates
// alone (a live subscription's filter, tested on each event's row). false: some part
// needs the database (the caller evaluates the ent where input there instead).
func TaskCondInMemory(raw any, arg string) (*taskCond, bool, error) {
	needs := func(any) ([]int, []int, error) { return nil, nil, errNeedsDatabase }
	c, err := TaskCond(raw, arg, Resolve{
		Tasks: func(w *ent.TaskWhereInput) ([]int, []int, error) { return needs(w) },
		Cases: func(w *ent.CaseWhereInput) ([]int, []int, error) { return needs(w) },
	})
	if errors.Is(err, errNeedsDatabase) {
		return nil, false, nil
	}
	return c, err == nil, err
}

// CheckTaskCond compiles a task where input as TaskCond does, but without a database:
// the parts the database would evaluate are built as ent predicates and not run. It is
// the check of a saved filter, when it is saved and each time it is used.
func CheckTaskCond(raw any, arg string) error {
	_, err := TaskCond(raw, arg, checkOnly(arg))
	return err
}

// CheckCaseCond is CheckTaskCond for a case where input.
func CheckCaseCond(raw any, arg string) error {
	_, err := CaseCond(raw, arg, checkOnly(arg))
	return err
}

func checkOnly(arg string) Resolve {
	bad := func(err error) error {
		return apperr.BadInput("%s: %v (an empty object inside and, or or not filters nothing; leave it out)", cmp.Or(arg, "where"), err)
	}
	return Resolve{
		Tasks: func(w *ent.TaskWhereInput) ([]int, []int, error) {
			if _, err := w.P(); err != nil {
				return nil, nil, bad(err)
			}
			return nil, nil, nil
		},
		Cases: func(w *ent.CaseWhereInput) ([]int, []int, error) {
			if _, err := w.P(); err != nil {
				return nil, nil, bad(err)
			}
			return nil, nil, nil
		},
	}
}
