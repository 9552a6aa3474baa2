package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
)

// The tasks and cases queries are served by package lists: their where argument goes
// to it as the client wrote it (the filter compiler reads the fields), and the page's
// rows are loaded here with the fields the request selects.

// rawArg returns an argument of the field being resolved as the client wrote it, with
// the variables' values in place (nil when absent).
func rawArg(ctx context.Context, name string) any {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return nil
	}
	var vars map[string]any
	if graphql.HasOperationContext(ctx) {
		vars = graphql.GetOperationContext(ctx).Variables
	}
	return fc.Field.ArgumentMap(vars)[name]
}

// loadTasks reads the tasks of a page with the fields the connection selects.
func (r *Resolver) loadTasks(ctx context.Context, ids []int) ([]*ent.Task, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !selects(ctx, "edges") { // entgql's Paginate would read none: the ids will do
		return r.Client.Task.Query().Where(task.IDIn(ids...)).Select(task.FieldID).All(ctx)
	}
	n := len(ids)
	conn, err := r.Client.Task.Query().Where(task.IDIn(ids...)).Paginate(withoutTotals(ctx), nil, &n, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*ent.Task, len(conn.Edges))
	for i, e := range conn.Edges {
		out[i] = e.Node
	}
	return out, nil
}

// loadCases reads the cases of a page with the fields the connection selects.
func (r *Resolver) loadCases(ctx context.Context, ids []int) ([]*ent.BusinessCase, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !selects(ctx, "edges") {
		return r.Client.BusinessCase.Query().Where(businesscase.IDIn(ids...)).Select(businesscase.FieldID).All(ctx)
	}
	n := len(ids)
	conn, err := r.Client.BusinessCase.Query().Where(businesscase.IDIn(ids...)).Paginate(withoutTotals(ctx), nil, &n, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*ent.BusinessCase, len(conn.Edges))
	for i, e := range conn.Edges {
		out[i] = e.Node
	}
	return out, nil
}

// withoutTotals hides totalCount and pageInfo from the connection field of ctx, so the
// generated Paginate that loads a page's rows does not count them: the list's total and
// page info come from the index.
func withoutTotals(ctx context.Context) context.Context {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ctx
	}
	c := *fc
	c.Field.Selections = nil
	for _, sel := range fc.Field.Selections {
		if f, ok := sel.(*ast.Field); ok && (f.Name == "totalCount" || f.Name == "pageInfo") {
			continue
		}
		c.Field.Selections = append(c.Field.Selections, sel)
	}
	return graphql.WithFieldContext(ctx, &c)
}

// selectsTotalCount reports whether the connection field being resolved asks for totalCount.
func selectsTotalCount(ctx context.Context) bool { return selects(ctx, "totalCount") }

// selects reports whether the field being resolved selects the named field.
func selects(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == name {
			return true
		}
	}
	return false
}
