package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/policy"
)

// The task and case list arguments given as JSON (the xlsx export's where= and
// orderBy=), decoded without the GraphQL layer into the same ent inputs the queries
// get, with the same parts (AddTask…, AddCase…) for the fields Portico adds to ent's
// generated where inputs, at any depth (and, or, not, hasCaseWith, …). Input follows
// GraphQL's coercion: unknown fields are refused, enum values checked by the generated
// types' UnmarshalGQL, IDs given as numbers or strings, a single value where a list is
// expected taken as a list of one.

// DecodeTaskList decodes a TaskWhereInput and a list of TaskOrder (or one TaskOrder, a
// list of one as in GraphQL) given as JSON text; an empty text or JSON null means the
// argument is absent. Bad input is BAD_USER_INPUT whose message names the place in the
// argument, what is wrong, and what the argument takes.
func DecodeTaskList(where, orderBy string) (*ent.TaskWhereInput, []*ent.TaskOrder, error) {
	var w *ent.TaskWhereInput
	var o []*ent.TaskOrder
	if err := decodeArg("where", where, "TaskWhereInput", &w); err != nil {
		return nil, nil, err
	}
	if err := decodeArg("orderBy", orderBy, "[TaskOrder!]", &o); err != nil {
		return nil, nil, err
	}
	for i, o := range o {
		if o == nil {
			return nil, nil, nullOrder(i, "[TaskOrder!]")
		}
		if o.Field == nil {
			return nil, nil, missingField(i, "[TaskOrder!]")
		}
		if o.Direction == "" {
			o.Direction = "ASC"
		}
	}
	return w, o, nil
}

// DecodeCaseList is DecodeTaskList for the cases list: a CaseWhereInput and a list of
// CaseOrder.
func DecodeCaseList(where, orderBy string) (*ent.CaseWhereInput, []*ent.CaseOrder, error) {
	var w *ent.CaseWhereInput
	var o []*ent.CaseOrder
	if err := decodeArg("where", where, "CaseWhereInput", &w); err != nil {
		return nil, nil, err
	}
	if err := decodeArg("orderBy", orderBy, "[CaseOrder!]", &o); err != nil {
		return nil, nil, err
	}
	for i, o := range o {
		if o == nil {
			return nil, nil, nullOrder(i, "[CaseOrder!]")
		}
		if o.Field == nil {
			return nil, nil, missingField(i, "[CaseOrder!]")
		}
		if o.Direction == "" {
			o.Direction = "ASC"
		}
	}
	return w, o, nil
}

func nullOrder(i int, typ string) error {
	return apperr.BadInput("orderBy[%d]: must not be null; %s", i, hint("orderBy", typ))
}

func missingField(i int, typ string) error {
	return apperr.BadInput("orderBy[%d].field: must be defined; %s", i, hint("orderBy", typ))
}

// hint says what an argument takes.
func hint(arg, typ string) string {
	example := `[{"field":"PRIORITY","direction":"DESC"},{"field":"CREATED_AT"}]`
	if arg == "where" {
		example = `{"businessState":["OPEN"],"text":"leave"}`
	}
	return fmt.Sprintf("%s takes a %s of the GraphQL schema as JSON, e.g. %s", arg, typ, example)
}

// decodeArg decodes the JSON text of argument arg into *dst (a pointer to a pointer).
func decodeArg(arg, text, typ string, dst any) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err != nil {
		return apperr.BadInput("%s is not valid JSON (%v); %s", arg, err, hint(arg, typ))
	}
	var shape any
	if err := json.Unmarshal(raw, &shape); err != nil {
		return apperr.BadInput("%s is not valid JSON (%v); %s", arg, err, hint(arg, typ))
	}
	if err := CheckShape(arg, shape); err != nil {
		return err
	}
	d := decoder{hint: hint(arg, typ)}
	return d.value(arg, raw, reflect.ValueOf(dst).Elem())
}

// decoder decodes JSON into ent's input types; hint ends every error message. Nesting
// and list lengths were bounded before (CheckShape, the one rule for every input).
type decoder struct {
	hint string
}

func (d decoder) fail(path, format string, args ...any) error {
	return apperr.BadInput("%s: %s; %s", path, fmt.Sprintf(format, args...), d.hint)
}

// unmarshalerGQL is what gqlgen's enum and order types implement, with their validation.
type unmarshalerGQL interface{ UnmarshalGQL(v any) error }

var (
	unmarshalerType = reflect.TypeFor[unmarshalerGQL]()
	timeType        = reflect.TypeFor[time.Time]()
)

// value decodes raw into v (settable) at path (for messages: where.or[1].name).
func (d decoder) value(path string, raw json.RawMessage, v reflect.Value) error {
	if string(raw) == "null" {
		v.SetZero()
		return nil
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := d.value(path, raw, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case t.Kind() == reflect.Slice:
		var elems []json.RawMessage
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &elems); err != nil {
				return d.fail(path, "not a list")
			}
		} else {
			elems = []json.RawMessage{raw} // GraphQL takes one value for a list of one
		}
		s := reflect.MakeSlice(t, len(elems), len(elems))
		for i, e := range elems {
			if err := d.value(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.PointerTo(t).Implements(unmarshalerType):
		var x any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return d.fail(path, "%v", err)
		}
		if err := v.Addr().Interface().(unmarshalerGQL).UnmarshalGQL(x); err != nil {
			return d.fail(path, "%v", err)
		}
		return nil
	case t == timeType:
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			return d.fail(path, "%s is not an RFC 3339 time", truncate(string(raw)))
		}
		return nil
	case t.Kind() == reflect.Struct:
		return d.object(path, raw, v)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw) // a JSON number; IDs may also come as strings
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return d.fail(path, "%s is not an integer", truncate(string(raw)))
		}
		v.SetInt(n)
		return nil
	case t.Kind() == reflect.String:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return d.fail(path, "%s is not a string", truncate(string(raw)))
		}
		v.SetString(s)
		return nil
	case t.Kind() == reflect.Bool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return d.fail(path, "%s is not a boolean", truncate(string(raw)))
		}
		v.SetBool(b)
		return nil
	}
	return d.fail(path, "cannot take a %s", t)
}

// object decodes a JSON object into the struct v: its JSON-tagged fields, and the parts
// Portico adds to ent's where input of that type.
func (d decoder) object(path string, raw json.RawMessage, v reflect.Value) error {
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return d.fail(path, "must be an object")
	}
	fields := jsonFields(v.Type())
	parts := extraParts[v.Type()]
	// Sorted keys: the first error is the same each time, the predicates come in one order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		at := path + "." + k
		if i, ok := fields[k]; ok {
			if err := d.value(at, obj[k], v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if part, ok := parts[k]; ok {
			if err := part(d, at, obj[k], v.Addr().Interface()); err != nil {
				return err
			}
			continue
		}
		return d.fail(at, "unknown field")
	}
	return nil
}

var fieldCache sync.Map // reflect.Type -> map[string]int

// jsonFields maps the JSON names of t's fields to their indexes.
func jsonFields(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}

// part decodes one field Portico adds to an ent where input and applies it to the
// input (a *ent.TaskWhereInput or *ent.CaseWhereInput).
type part func(d decoder, path string, raw json.RawMessage, input any) error

// partOf is a part whose value decodes into a T and is applied by add.
func partOf[W, T any](add func(*W, T) error) part {
	return func(d decoder, path string, raw json.RawMessage, input any) error {
		var data T
		if err := d.value(path, raw, reflect.ValueOf(&data).Elem()); err != nil {
			return err
		}
		if err := add(input.(*W), data); err != nil {
			return d.fail(path, "%v", err)
		}
		return nil
	}
}

// extraParts are the fields of work.graphqls's extend input TaskWhereInput and
// CaseWhereInput, by the ent type they extend (set in init: they decode recursively).
var extraParts map[reflect.Type]map[string]part

func init() {
	extraParts = map[reflect.Type]map[string]part{
		reflect.TypeFor[ent.TaskWhereInput](): {
			"businessState": partOf(func(w *ent.TaskWhereInput, bs []taskBusinessState) error {
				states := make([]policy.BusinessState, len(bs))
				for i, b := range bs {
					states[i] = policy.BusinessState(b)
				}
				return AddTaskBusinessStates(w, states)
			}),
			"responsibleUserIds": partOf(func(w *ent.TaskWhereInput, ids []int) error { AddTaskResponsibleUsers(w, ids); return nil }),
			"responsibleRoleIds": partOf(func(w *ent.TaskWhereInput, ids []int) error { AddTaskResponsibleRoles(w, ids); return nil }),
			"text":               partOf(func(w *ent.TaskWhereInput, s *string) error { AddTaskText(w, s); return nil }),
			"customFields": partOf(func(w *ent.TaskWhereInput, fs []*customFieldInput) error {
				return AddTaskCustomFields(w, customFields(fs))
			}),
		},
		reflect.TypeFor[ent.CaseWhereInput](): {
			"businessState": partOf(func(w *ent.CaseWhereInput, bs []caseBusinessState) error {
				states := make([]string, len(bs))
				for i, b := range bs {
					states[i] = string(b)
				}
				return AddCaseBusinessStates(w, states)
			}),
			"text": partOf(func(w *ent.CaseWhereInput, s *string) error { AddCaseText(w, s); return nil }),
			"customFields": partOf(func(w *ent.CaseWhereInput, fs []*customFieldInput) error {
				return AddCaseCustomFields(w, customFields(fs))
			}),
		},
	}
}

// taskBusinessState and caseBusinessState check the enum values as GraphQL does.
type taskBusinessState string

func (s *taskBusinessState) UnmarshalGQL(v any) error {
	str, _ := v.(string)
	if policy.TaskStatesOf(policy.BusinessState(str)) == nil {
		return fmt.Errorf("%s is not a valid TaskBusinessState", truncate(fmt.Sprint(v)))
	}
	*s = taskBusinessState(str)
	return nil
}

type caseBusinessState string

func (s *caseBusinessState) UnmarshalGQL(v any) error {
	str, _ := v.(string)
	if policy.CaseStatesOf(str) == nil {
		return fmt.Errorf("%s is not a valid CaseBusinessState", truncate(fmt.Sprint(v)))
	}
	*s = caseBusinessState(str)
	return nil
}

// customFieldInput is a CustomField whose name is checked while decoding, so the error
// names its place (where.customFields[0].name).
type customFieldInput struct {
	Name   fieldName `json:"name"`
	Equals *string   `json:"equals"`
}

type fieldName string

func (n *fieldName) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s is not a string", truncate(fmt.Sprint(v)))
	}
	if err := ValidateName(str); err != nil {
		return err
	}
	*n = fieldName(str)
	return nil
}

func customFields(in []*customFieldInput) []*CustomField {
	out := make([]*CustomField, 0, len(in))
	for _, f := range in {
		if f != nil {
			out = append(out, &CustomField{Name: string(f.Name), Equals: f.Equals})
		}
	}
	return out
}
