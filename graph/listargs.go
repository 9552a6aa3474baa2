package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
)

// ListArgs decodes the where and orderBy arguments of the tasks and cases lists from
// JSON, for callers outside GraphQL (the xlsx export). The schema validates them exactly
// as it validates query variables, and the generated input code builds the ent filters
// with the same input resolvers as the queries (businessState, text, responsible ids,
// customFields), so a filter means the same thing on both paths.
type ListArgs struct {
	schema *executableSchema
	tasks  listOp
	cases  listOp
}

// listOp declares the two arguments of one list as variables, and says for error
// messages what each takes.
type listOp struct {
	op    *ast.OperationDefinition
	hints map[string]string // argument name -> what it takes
}

// NewListArgs returns a decoder using the resolvers of r for the custom filter fields.
func NewListArgs(r *Resolver) *ListArgs {
	es := NewExecutableSchema(Config{Resolvers: r}).(*executableSchema)
	a := &ListArgs{schema: es}
	a.tasks = a.operation("Task")
	a.cases = a.operation("Case")
	return a
}

// operation is the list query with $where: <typ>WhereInput and $orderBy: <typ>Order;
// nothing executes it, the validator only reads its variable definitions. It panics if
// the schema lacks the list, which the generated code this file calls rules out.
func (a *ListArgs) operation(typ string) listOp {
	query := fmt.Sprintf("query($where: %[1]sWhereInput, $orderBy: %[1]sOrder) { %[2]ss(where: $where, orderBy: $orderBy) { totalCount } }",
		typ, strings.ToLower(typ))
	doc, errs := gqlparser.LoadQuery(a.schema.Schema(), query)
	if len(errs) > 0 {
		panic(fmt.Sprintf("graph: list arguments of %s: %v", typ, errs))
	}
	return listOp{op: doc.Operations[0], hints: map[string]string{
		"where":   fmt.Sprintf(`where takes a %sWhereInput of the GraphQL schema as JSON, e.g. {"businessState":["OPEN"],"text":"leave"}`, typ),
		"orderBy": fmt.Sprintf(`orderBy takes a %sOrder of the GraphQL schema as JSON, e.g. {"field":"CREATED_AT","direction":"DESC"}`, typ),
	}}
}

// Tasks decodes a TaskWhereInput and a TaskOrder given as JSON text; an empty text or
// JSON null means the argument is absent. Bad input is an apperr BAD_USER_INPUT error
// whose message names the argument and what is wrong with it.
func (a *ListArgs) Tasks(ctx context.Context, where, orderBy string) (*ent.TaskWhereInput, *ent.TaskOrder, error) {
	vars, ec, err := a.validate(a.tasks, where, orderBy)
	if err != nil {
		return nil, nil, err
	}
	var w *ent.TaskWhereInput
	if v := vars["where"]; v != nil {
		in, err := ec.unmarshalInputTaskWhereInput(ctx, v)
		if err != nil {
			return nil, nil, a.tasks.error("where", err)
		}
		w = &in
	}
	var o *ent.TaskOrder
	if v := vars["orderBy"]; v != nil {
		in, err := ec.unmarshalInputTaskOrder(ctx, v)
		if err != nil {
			return nil, nil, a.tasks.error("orderBy", err)
		}
		o = &in
	}
	return w, o, nil
}

// Cases is Tasks for the cases list: a CaseWhereInput and a CaseOrder.
func (a *ListArgs) Cases(ctx context.Context, where, orderBy string) (*ent.CaseWhereInput, *ent.CaseOrder, error) {
	vars, ec, err := a.validate(a.cases, where, orderBy)
	if err != nil {
		return nil, nil, err
	}
	var w *ent.CaseWhereInput
	if v := vars["where"]; v != nil {
		in, err := ec.unmarshalInputCaseWhereInput(ctx, v)
		if err != nil {
			return nil, nil, a.cases.error("where", err)
		}
		w = &in
	}
	var o *ent.CaseOrder
	if v := vars["orderBy"]; v != nil {
		in, err := ec.unmarshalInputCaseOrder(ctx, v)
		if err != nil {
			return nil, nil, a.cases.error("orderBy", err)
		}
		o = &in
	}
	return w, o, nil
}

// validate parses the JSON texts and checks them against the operation's variable types
// (unknown fields, wrong types and enum values are refused here, as for a query), then
// returns the coerced values and an execution context for the generated unmarshalers.
func (a *ListArgs) validate(l listOp, where, orderBy string) (map[string]any, *executionContext, error) {
	raw := map[string]any{}
	for _, arg := range [...]struct{ name, text string }{{"where", where}, {"orderBy", orderBy}} {
		name, text := arg.name, arg.text
		if strings.TrimSpace(text) == "" {
			continue
		}
		v, err := decodeJSON(text)
		if err != nil {
			return nil, nil, apperr.BadInput("%s is not valid JSON (%v); %s", name, err, l.hints[name])
		}
		raw[name] = v
	}
	vars, err := validator.VariableValues(a.schema.Schema(), l.op, raw)
	if err != nil {
		return nil, nil, l.error("", err)
	}
	opCtx := &graphql.OperationContext{Operation: l.op, Variables: vars}
	return vars, newExecutionContext(opCtx, a.schema, nil), nil
}

// decodeJSON decodes one JSON value the way gqlgen decodes request variables (numbers
// kept as json.Number) and refuses anything after it.
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// error turns a validation or coercion error of argument arg ("" when the validator's
// path names it) into BAD_USER_INPUT saying where in the argument it happened and what
// the argument takes, e.g. "where.stateIn[0]: NOPE is not a valid TaskState; where
// takes …".
func (l listOp) error(arg string, err error) error {
	var ge *gqlerror.Error
	if !errors.As(err, &ge) {
		return apperr.BadInput("%s: %v; %s", arg, err, l.hints[arg])
	}
	path := ge.Path
	if len(path) > 0 && path[0] == ast.PathName("variable") {
		path = path[1:] // the validator's prefix; the rest starts with the argument's name
	} else if arg != "" {
		path = append(ast.Path{ast.PathName(arg)}, path...)
	}
	if len(path) > 0 {
		if name, ok := path[0].(ast.PathName); ok {
			arg = string(name)
		}
	}
	var b strings.Builder
	for i, el := range path {
		if name, ok := el.(ast.PathName); ok && i > 0 {
			b.WriteByte('.')
			b.WriteString(string(name))
			continue
		}
		if idx, ok := el.(ast.PathIndex); ok {
			fmt.Fprintf(&b, "[%d]", idx)
			continue
		}
		fmt.Fprint(&b, el)
	}
	return apperr.BadInput("%s: %s; %s", b.String(), ge.Message, l.hints[arg])
}
