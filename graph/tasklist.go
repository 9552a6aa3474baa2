package graph

import (
	"context"
	"reflect"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/workflow"
)

// defaultTaskList reports whether a tasks query is the plain task list that
// workflow.TaskList serves: forward pages in creation order, no filter, a cursor of that
// order, and no task lists nested in its nodes (TaskList limits every task query of the
// request to the page's tasks).
func defaultTaskList(ctx context.Context, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int, orderBy []*ent.TaskOrder, where *ent.TaskWhereInput) bool {
	if first == nil || *first < 0 || before != nil || last != nil {
		return false
	}
	if len(orderBy) != 1 || orderBy[0].Field == nil || orderBy[0].Field.String() != ent.TaskOrderFieldCreatedAt.String() {
		return false
	}
	if where != nil && !reflect.ValueOf(*where).IsZero() {
		return false
	}
	if after != nil {
		if _, ok := workflow.CreatedAtCursor(after); !ok {
			return false
		}
	}
	fc := graphql.GetFieldContext(ctx)
	return fc == nil || !selectsTasks(fc.Field.Selections)
}

// selectsTasks reports whether a selection set asks, at any depth, for a field named tasks.
func selectsTasks(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "tasks" || selectsTasks(sel.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if selectsTasks(sel.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if sel.Definition != nil && selectsTasks(sel.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}

// selectsTotalCount reports whether the connection field being resolved asks for totalCount.
func selectsTotalCount(ctx context.Context) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == "totalCount" {
			return true
		}
	}
	return false
}

// withoutTotals hides totalCount and pageInfo from the connection field of ctx, so the
// generated Paginate does not count: workflow.TaskList counts (and caches) itself, and
// pageInfo is built from the page's extra row.
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
