package filter

import (
	"encoding/json"
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
// rows matching an ent where input.
type Resolve struct {
	Tasks func(*ent.TaskWhereInput) ([]int, error)
	Cases func(*ent.CaseWhereInput) ([]int, error)
}

type (
	taskCond = listindex.Cond[listindex.TaskRow]
	caseCond = listindex.Cond[listindex.CaseRow]
)

// columns of the index by where-input field, with their kind of value.
var (
	taskFields = map[string]valueKind{
		"id": idValue, "createdAt": timeValue, "updatedAt": timeValue, "name": textValue, "description": textValue,
		"category": textValue, "state": textValue, "priority": textValue, "kind": textValue, "position": intValue,
		"system": boolValue, "expiryTimestamp": timeValue, "expiryPriority": textValue, "delayTimestamp": timeValue,
		"startedAt": timeValue, "endedAt": timeValue, "caseID": idValue, "workerID": idValue, "creatorID": idValue,
	}
	caseFields = map[string]valueKind{
		"id": idValue, "createdAt": timeValue, "updatedAt": timeValue, "name": textValue, "description": textValue,
		"category": textValue, "state": textValue, "endedAt": timeValue, "creatorID": idValue, "ownerID": idValue,
	}
	// Suffixes of ent's where-input fields, longest first where one ends another.
	opSuffixes = []struct {
		suffix string
		op     listindex.Op
	}{
		{"ContainsFold", listindex.ContainsFold}, {"EqualFold", listindex.EqualFold}, {"HasPrefix", listindex.HasPrefix},
		{"HasSuffix", listindex.HasSuffix}, {"Contains", listindex.Contains}, {"NotNil", listindex.NotNil},
		{"IsNil", listindex.IsNil}, {"NotIn", listindex.NotIn}, {"NEQ", listindex.NEQ}, {"GTE", listindex.GTE},
		{"LTE", listindex.LTE}, {"GT", listindex.GT}, {"LT", listindex.LT}, {"In", listindex.In}, {"", listindex.EQ},
	}
)

type valueKind uint8

const (
	textValue valueKind = iota
	idValue
	intValue
	timeValue
	boolValue
)

// splitField returns the column and comparison a where-input field names, if it is one
// of fields.
func splitField(fields map[string]valueKind, key string) (string, valueKind, listindex.Op, bool) {
	for _, s := range opSuffixes {
		col, ok := strings.CutSuffix(key, s.suffix)
		if !ok {
			continue
		}
		if kind, ok := fields[col]; ok {
			return col, kind, s.op, true
		}
	}
	return "", 0, 0, false
}

// value converts one JSON or GraphQL value of a field.
func value(kind valueKind, v any) (listindex.Value, error) {
	if v == nil {
		return listindex.Value{Null: true}, nil
	}
	switch kind {
	case textValue:
		if s, ok := v.(string); ok {
			return listindex.Value{S: s}, nil
		}
	case boolValue:
		if b, ok := v.(bool); ok {
			if b {
				return listindex.Value{I: 1}, nil
			}
			return listindex.Value{}, nil
		}
	case timeValue:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return listindex.Value{}, apperr.BadInput("%q is not a time: give it as RFC 3339, e.g. 2026-12-06T10:00:00Z", truncate(s))
			}
			return listindex.Value{I: t.UnixMicro()}, nil
		}
	case idValue, intValue:
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
func compare[R any](kind valueKind, col string, op listindex.Op, v any) (*listindex.Cond[R], error) {
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

// TaskCond compiles a task list's where input (nil: no condition).
func TaskCond(raw any, resolve Resolve) (*taskCond, error) {
	if raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, apperr.BadInput("where must be a TaskWhereInput object")
	}
	if len(m) == 0 {
		return nil, nil
	}
	return compileTask(m, "", resolve)
}

func compileTask(m map[string]any, at string, resolve Resolve) (*taskCond, error) {
	var kids []*taskCond
	residual := map[string]any{}
	for _, key := range sortedKeys(m) {
		v := m[key]
		var c *taskCond
		var err error
		switch key {
		case "and", "or":
			var list []*taskCond
			for _, x := range asList(v) {
				sub, _ := x.(map[string]any)
				if len(sub) == 0 {
					return nil, emptyInput("TaskWhereInput", join(at, key))
				}
				k, err := compileTask(sub, join(at, key), resolve)
				if err != nil {
					return nil, err
				}
				list = append(list, k)
			}
			if key == "and" {
				c = listindex.And(list...)
			} else if len(list) > 0 {
				c = listindex.Or(list...)
			}
		case "not":
			if v == nil {
				continue
			}
			sub, _ := v.(map[string]any)
			if len(sub) == 0 {
				return nil, emptyInput("TaskWhereInput", join(at, "not"))
			}
			k, err := compileTask(sub, join(at, "not"), resolve)
			if err != nil {
				return nil, err
			}
			c = listindex.Not(k)
		case "hasCase":
			if b, ok := v.(bool); ok && !b {
				c = listindex.IDs[listindex.TaskRow](nil) // every task has a case
			}
		case "hasCaseWith":
			var list []*caseCond
			for _, x := range asList(v) {
				sub, _ := x.(map[string]any)
				if len(sub) == 0 {
					return nil, emptyInput("CaseWhereInput", join(at, "hasCaseWith"))
				}
				k, err := compileCase(sub, join(at, "hasCaseWith"), resolve)
				if err != nil {
					return nil, err
				}
				list = append(list, k)
			}
			if len(list) > 0 {
				c = listindex.CaseMatches(listindex.And(list...))
			}
		case "hasWorker", "hasCreator":
			b, ok := v.(bool)
			if !ok {
				continue
			}
			op := listindex.IsNil
			if b {
				op = listindex.NotNil
			}
			c = listindex.Compare[listindex.TaskRow](strings.ToLower(key[3:4])+key[4:]+"ID", op)
		case "businessState":
			var states []listindex.Value
			for _, x := range asList(v) {
				s, _ := x.(string)
				ss := policy.TaskStatesOf(policy.BusinessState(s))
				if len(ss) == 0 {
					return nil, apperr.BadInput("%s is not a valid TaskBusinessState", truncate(s))
				}
				for _, st := range ss {
					states = append(states, listindex.Value{S: string(st)})
				}
			}
			if v != nil {
				c = listindex.Compare[listindex.TaskRow]("state", listindex.In, states...)
			}
		case "responsibleUserIds", "responsibleRoleIds":
			if v == nil {
				continue
			}
			c, err = responsibleCond(key == "responsibleRoleIds", asList(v))
		case "text":
			s, ok := v.(string)
			if !ok {
				continue
			}
			c = listindex.Or(listindex.Compare[listindex.TaskRow]("name", listindex.ContainsFold, listindex.Value{S: s}),
				listindex.Compare[listindex.TaskRow]("description", listindex.ContainsFold, listindex.Value{S: s}))
		case "customFields":
			c, err = customFieldsCond[listindex.TaskRow](asList(v), func(r *listindex.TaskRow) listindex.Fields { return r.Custom })
		default:
			col, kind, op, ok := splitField(taskFields, key)
			if !ok {
				residual[key] = v
				continue
			}
			c, err = compare[listindex.TaskRow](kind, col, op, v)
		}
		if err != nil {
			return nil, err
		}
		if c != nil {
			kids = append(kids, c)
		}
	}
	if len(residual) > 0 {
		w, err := decodeTaskWhere(residual, at)
		if err != nil {
			return nil, err
		}
		ids, err := resolve.Tasks(w)
		if err != nil {
			return nil, err
		}
		kids = append(kids, listindex.IDs[listindex.TaskRow](ids))
	}
	return listindex.And(kids...), nil
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
	slices.Sort(ids)
	ids = slices.Compact(ids)
	key := fmt.Sprintf("responsible roles=%t %v", roles, ids)
	return listindex.Test(key, func(r *listindex.TaskRow) listindex.Truth {
		for _, rs := range r.Responsibles {
			id := rs.UserID
			if roles {
				id = rs.RoleID
			}
			if !rs.Expiry && id != 0 {
				if _, found := slices.BinarySearch(ids, id); found {
					return listindex.True
				}
			}
		}
		return listindex.False
	}), nil
}

// customFieldsCond: every filter's custom field equals its value, as PostgreSQL's ->>
// gives the field (a missing field is NULL: neither equal nor unequal).
func customFieldsCond[R any](list []any, fields func(*R) listindex.Fields) (*listindex.Cond[R], error) {
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
		kids = append(kids, listindex.Test(fmt.Sprintf("custom %q=%q", name, eq), func(r *R) listindex.Truth {
			v, ok := fields(r).Get(name)
			if !ok {
				return listindex.Unknown
			}
			return listindex.TruthOf(v == eq)
		}))
	}
	return listindex.And(kids...), nil
}

// CaseCond compiles a case list's where input (nil: no condition).
func CaseCond(raw any, resolve Resolve) (*caseCond, error) {
	if raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, apperr.BadInput("where must be a CaseWhereInput object")
	}
	if len(m) == 0 {
		return nil, nil
	}
	return compileCase(m, "", resolve)
}

func compileCase(m map[string]any, at string, resolve Resolve) (*caseCond, error) {
	var kids []*caseCond
	residual := map[string]any{}
	for _, key := range sortedKeys(m) {
		v := m[key]
		var c *caseCond
		var err error
		switch key {
		case "and", "or":
			var list []*caseCond
			for _, x := range asList(v) {
				sub, _ := x.(map[string]any)
				if len(sub) == 0 {
					return nil, emptyInput("CaseWhereInput", join(at, key))
				}
				k, err := compileCase(sub, join(at, key), resolve)
				if err != nil {
					return nil, err
				}
				list = append(list, k)
			}
			if key == "and" {
				c = listindex.And(list...)
			} else if len(list) > 0 {
				c = listindex.Or(list...)
			}
		case "not":
			if v == nil {
				continue
			}
			sub, _ := v.(map[string]any)
			if len(sub) == 0 {
				return nil, emptyInput("CaseWhereInput", join(at, "not"))
			}
			k, err := compileCase(sub, join(at, "not"), resolve)
			if err != nil {
				return nil, err
			}
			c = listindex.Not(k)
		case "hasCreator", "hasOwner":
			b, ok := v.(bool)
			if !ok {
				continue
			}
			op := listindex.IsNil
			if b {
				op = listindex.NotNil
			}
			c = listindex.Compare[listindex.CaseRow](strings.ToLower(key[3:4])+key[4:]+"ID", op)
		case "businessState":
			var states []listindex.Value
			for _, x := range asList(v) {
				s, _ := x.(string)
				ss := policy.CaseStatesOf(s)
				if len(ss) == 0 {
					return nil, apperr.BadInput("%s is not a valid CaseBusinessState", truncate(s))
				}
				for _, st := range ss {
					states = append(states, listindex.Value{S: string(st)})
				}
			}
			if v != nil {
				c = listindex.Compare[listindex.CaseRow]("state", listindex.In, states...)
			}
		case "text":
			s, ok := v.(string)
			if !ok {
				continue
			}
			c = listindex.Or(listindex.Compare[listindex.CaseRow]("name", listindex.ContainsFold, listindex.Value{S: s}),
				listindex.Compare[listindex.CaseRow]("description", listindex.ContainsFold, listindex.Value{S: s}))
		default:
			col, kind, op, ok := splitField(caseFields, key)
			if !ok {
				residual[key] = v
				continue
			}
			c, err = compare[listindex.CaseRow](kind, col, op, v)
		}
		if err != nil {
			return nil, err
		}
		if c != nil {
			kids = append(kids, c)
		}
	}
	if len(residual) > 0 {
		w, err := decodeCaseWhere(residual, at)
		if err != nil {
			return nil, err
		}
		ids, err := resolve.Cases(w)
		if err != nil {
			return nil, err
		}
		kids = append(kids, listindex.IDs[listindex.CaseRow](ids))
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
	if err := decodeArg(join("where", at), string(text), "TaskWhereInput", &w); err != nil {
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
	if err := decodeArg(join("where", at), string(text), "CaseWhereInput", &w); err != nil {
		return nil, err
	}
	return w, nil
}
