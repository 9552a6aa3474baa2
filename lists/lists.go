// Package lists serves the task and case lists (the tasks and cases queries, the xlsx
// export) from the list index: the where input compiled by package filter, the viewer's
// rows, order, window and exact total from policy over listindex, and only the page's
// rows read from the database.
package lists

import (
	"context"
	"fmt"
	"math"
	"strings"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/policy"
)

// Lists answers list queries.
type Lists struct {
	client *ent.Client
	policy *policy.Policy
	index  *listindex.Index
}

// New returns the lists over an index that follows the client's database.
func New(client *ent.Client, p *policy.Policy, ix *listindex.Index) *Lists {
	return &Lists{client: client, policy: p, index: ix}
}

// Window is a list's connection arguments.
type Window struct {
	After, Before *entgql.Cursor[int]
	First, Last   *int
}

// orderTerms turns the order fields into the index's order: each GraphQL order field
// (EXPIRY_TIMESTAMP) names the index's column of the same name (expiryTimestamp), of
// columns (listindex.TaskColumn, CaseColumn).
func orderTerms(fields []string, desc []bool, columns func(string) (listindex.Type, bool)) ([]listindex.OrderTerm, error) {
	out := make([]listindex.OrderTerm, len(fields))
	for i, f := range fields {
		col := camel(f)
		if _, ok := columns(col); !ok {
			return nil, apperr.BadInput("%s is not an order field of this list", f)
		}
		out[i] = listindex.OrderTerm{Column: col, Desc: desc[i]}
	}
	return out, nil
}

// camel writes an upper-case order field name in lower camel case.
func camel(field string) string {
	words := strings.Split(strings.ToLower(field), "_")
	for i := 1; i < len(words); i++ {
		if words[i] != "" {
			words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
		}
	}
	return strings.Join(words, "")
}

// fields returns the order's field names and directions, leaving out empty entries.
func fields[O any](orderBy []O, field func(O) (string, entgql.OrderDirection, bool)) ([]string, []bool) {
	var names []string
	var desc []bool
	for _, o := range orderBy {
		if name, dir, ok := field(o); ok {
			names = append(names, name)
			desc = append(desc, dir == entgql.OrderDirectionDesc)
		}
	}
	return names, desc
}

// TaskOrder returns the index's order of a task list's orderBy.
func TaskOrder(orderBy []*ent.TaskOrder) ([]listindex.OrderTerm, error) {
	names, desc := fields(orderBy, func(o *ent.TaskOrder) (string, entgql.OrderDirection, bool) {
		if o == nil || o.Field == nil {
			return "", "", false
		}
		return o.Field.String(), o.Direction, true
	})
	return orderTerms(names, desc, listindex.TaskColumn)
}

// CaseOrder returns the index's order of a case list's orderBy.
func CaseOrder(orderBy []*ent.CaseOrder) ([]listindex.OrderTerm, error) {
	names, desc := fields(orderBy, func(o *ent.CaseOrder) (string, entgql.OrderDirection, bool) {
		if o == nil || o.Field == nil {
			return "", "", false
		}
		return o.Field.String(), o.Direction, true
	})
	return orderTerms(names, desc, listindex.CaseColumn)
}

// badCursor is the error of a cursor that does not fit the list's order.
func badCursor(which string, err error) error {
	return apperr.BadInput("%s is not a cursor of this list's order (%v): page with the cursors the list returned, or start again without it", which, err)
}

// window turns a window into the index's, reading its cursors with key.
func window(w Window, order []listindex.OrderTerm, key func([]listindex.OrderTerm, int, []any) (listindex.Key, error)) (listindex.Page, error) {
	// GraphQL gives first or last always (graph's limits write the default page in).
	p := listindex.Page{Order: order, First: w.First, Last: w.Last}
	for _, c := range []struct {
		name string
		cur  *entgql.Cursor[int]
		dst  **listindex.Key
	}{{"after", w.After, &p.After}, {"before", w.Before, &p.Before}} {
		if c.cur == nil {
			continue
		}
		vals, ok := c.cur.Value.([]any)
		if c.cur.Value == nil {
			vals, ok = nil, true // an order of the id alone (an empty list is left out)
		}
		if !ok {
			return p, badCursor(c.name, fmt.Errorf("no list of values"))
		}
		k, err := key(order, c.cur.ID, vals)
		if err != nil {
			return p, badCursor(c.name, err)
		}
		*c.dst = &k
	}
	return p, nil
}

// Load reads the page's rows of the ids in a context whose first query of the entity
// reads exactly those ids (graph loads them with the requested fields, the export with
// its columns). Rows may come in any order.
type (
	LoadTasks func(ctx context.Context, ids []int) ([]*ent.Task, error)
	LoadCases func(ctx context.Context, ids []int) ([]*ent.BusinessCase, error)
)

// resolve evaluates in the database the parts of a where input the index cannot, under
// the viewer's read rules.
func (l *Lists) resolve(ctx context.Context) filter.Resolve {
	return filter.Resolve{
		Tasks: func(w *ent.TaskWhereInput) ([]int, []int, error) {
			p, err := w.P()
			if err != nil {
				return nil, nil, err
			}
			return both(ctx, l.client.Task.Query().Where(p).IDs, l.client.Task.Query().Where(task.Not(p)).IDs)
		},
		Cases: func(w *ent.CaseWhereInput) ([]int, []int, error) {
			p, err := w.P()
			if err != nil {
				return nil, nil, err
			}
			return both(ctx, l.client.BusinessCase.Query().Where(p).IDs, l.client.BusinessCase.Query().Where(businesscase.Not(p)).IDs)
		},
	}
}

// both runs the queries of a condition's true and false rows.
func both(ctx context.Context, match, nomatch func(context.Context) ([]int, error)) ([]int, []int, error) {
	yes, err := match(ctx)
	if err != nil {
		return nil, nil, err
	}
	no, err := nomatch(ctx)
	return yes, no, err
}

// kind is what differs between the task and the case list: row R, node N, order O.
type kind[R, N, O any] struct {
	order func([]O) ([]listindex.OrderTerm, error)
	key   func([]listindex.OrderTerm, int, []any) (listindex.Key, error)
	list  func(context.Context, *listindex.Index, *listindex.Cond[R], listindex.Page) (listindex.Result, context.Context, error)
	id    func(N) int
}

// page is a list's window: its nodes in order, the cursor of each, and the index's result.
type page[N any] struct {
	nodes   []N
	cursors []entgql.Cursor[int]
	res     listindex.Result
}

// fetch reads a window of a list: the rows of cond (nil: all), in the order of orderBy
// (none: by id), its nodes read by load.
func fetch[R, N, O any](ctx context.Context, l *Lists, k kind[R, N, O], cond *listindex.Cond[R], orderBy []O, w Window,
	load func(context.Context, []int) ([]N, error)) (*page[N], error) {
	order, err := k.order(orderBy)
	if err != nil {
		return nil, err
	}
	p, err := window(w, order, k.key)
	if err != nil {
		return nil, err
	}
	res, pageCtx, err := k.list(ctx, l.index, cond, p)
	if err != nil {
		return nil, err
	}
	nodes, err := load(pageCtx, res.IDs)
	if err != nil {
		return nil, fmt.Errorf("read the rows of a page: %w", err)
	}
	byID := make(map[int]N, len(nodes))
	for _, n := range nodes {
		byID[k.id(n)] = n
	}
	out := &page[N]{res: res}
	for i, id := range res.IDs {
		n, ok := byID[id]
		if !ok {
			continue // deleted since the index read it
		}
		out.nodes = append(out.nodes, n)
		out.cursors = append(out.cursors, entgql.Cursor[int]{ID: id, Value: res.Cursors[i]})
	}
	return out, nil
}

// pageInfo is the connection's page info of a window.
func (p *page[N]) pageInfo() ent.PageInfo {
	info := ent.PageInfo{HasNextPage: p.res.HasNext, HasPreviousPage: p.res.HasPrev}
	if n := len(p.cursors); n > 0 {
		info.StartCursor, info.EndCursor = &p.cursors[0], &p.cursors[n-1]
	}
	return info
}

func (l *Lists) tasks() kind[listindex.TaskRow, *ent.Task, *ent.TaskOrder] {
	return kind[listindex.TaskRow, *ent.Task, *ent.TaskOrder]{order: TaskOrder,
		key: l.index.TaskKey, list: l.policy.TaskList, id: func(t *ent.Task) int { return t.ID }}
}

func (l *Lists) cases() kind[listindex.CaseRow, *ent.BusinessCase, *ent.CaseOrder] {
	return kind[listindex.CaseRow, *ent.BusinessCase, *ent.CaseOrder]{order: CaseOrder,
		key: l.index.CaseKey, list: l.policy.CaseList, id: func(c *ent.BusinessCase) int { return c.ID }}
}

// Tasks returns the viewer's task list: where as the client wrote it (nil: all), in the
// order of orderBy (none: by id), the window w. The full lists (the task and case list
// pages, their exports) need AccessFullTaskList / AccessFullCaseList; a viewer without it
// works from dashboard widgets, case details, node and search, which read the same rows
// under the same visibility.
func (l *Lists) Tasks(ctx context.Context, where any, orderBy []*ent.TaskOrder, w Window, load LoadTasks) (*ent.TaskConnection, error) {
	if _, err := l.policy.Require(ctx, policy.AccessFullTaskList); err != nil {
		return nil, err
	}
	cond, err := filter.TaskCond(where, "", l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	return l.taskConnection(ctx, cond, orderBy, w, load)
}

// WidgetTasks returns a dashboard widget's task list: the viewer's tasks its filters
// keep (ent predicates of package dashboards, evaluated by the database under the
// viewer's read rules) and its saved filter's where matches (nil: none), by id.
func (l *Lists) WidgetTasks(ctx context.Context, preds []predicate.Task, where any, w Window, load LoadTasks) (*ent.TaskConnection, error) {
	var conds []*listindex.Cond[listindex.TaskRow]
	if len(preds) > 0 {
		ids, err := l.client.Task.Query().Where(preds...).IDs(ctx)
		if err != nil {
			return nil, err
		}
		conds = append(conds, listindex.IDs[listindex.TaskRow](ids, nil))
	}
	if c, err := filter.TaskCond(where, "", l.resolve(ctx)); err != nil {
		return nil, err
	} else if c != nil {
		conds = append(conds, c)
	}
	return l.taskConnection(ctx, allOf(conds), nil, w, load)
}

// allOf is the condition all of conds hold (nil: none, no condition).
func allOf[R any](conds []*listindex.Cond[R]) *listindex.Cond[R] {
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return conds[0]
	}
	return listindex.And(conds...)
}

func (l *Lists) taskConnection(ctx context.Context, cond *listindex.Cond[listindex.TaskRow], orderBy []*ent.TaskOrder, w Window, load LoadTasks) (*ent.TaskConnection, error) {
	p, err := fetch(ctx, l, l.tasks(), cond, orderBy, w, load)
	if err != nil {
		return nil, err
	}
	conn := &ent.TaskConnection{TotalCount: p.res.Total, PageInfo: p.pageInfo()}
	for i, n := range p.nodes {
		conn.Edges = append(conn.Edges, &ent.TaskEdge{Node: n, Cursor: p.cursors[i]})
	}
	return conn, nil
}

// Cases returns the viewer's case list, as Tasks does the task list.
func (l *Lists) Cases(ctx context.Context, where any, orderBy []*ent.CaseOrder, w Window, load LoadCases) (*ent.CaseConnection, error) {
	if _, err := l.policy.Require(ctx, policy.AccessFullCaseList); err != nil {
		return nil, err
	}
	cond, err := filter.CaseCond(where, "", l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	return l.caseConnection(ctx, cond, orderBy, w, load)
}

// WidgetCases returns a dashboard widget's case list, as WidgetTasks does tasks.
func (l *Lists) WidgetCases(ctx context.Context, preds []predicate.BusinessCase, where any, w Window, load LoadCases) (*ent.CaseConnection, error) {
	var conds []*listindex.Cond[listindex.CaseRow]
	if len(preds) > 0 {
		ids, err := l.client.BusinessCase.Query().Where(preds...).IDs(ctx)
		if err != nil {
			return nil, err
		}
		conds = append(conds, listindex.IDs[listindex.CaseRow](ids, nil))
	}
	if c, err := filter.CaseCond(where, "", l.resolve(ctx)); err != nil {
		return nil, err
	} else if c != nil {
		conds = append(conds, c)
	}
	return l.caseConnection(ctx, allOf(conds), nil, w, load)
}

func (l *Lists) caseConnection(ctx context.Context, cond *listindex.Cond[listindex.CaseRow], orderBy []*ent.CaseOrder, w Window, load LoadCases) (*ent.CaseConnection, error) {
	p, err := fetch(ctx, l, l.cases(), cond, orderBy, w, load)
	if err != nil {
		return nil, err
	}
	conn := &ent.CaseConnection{TotalCount: p.res.Total, PageInfo: p.pageInfo()}
	for i, n := range p.nodes {
		conn.Edges = append(conn.Edges, &ent.CaseEdge{Node: n, Cursor: p.cursors[i]})
	}
	return conn, nil
}

// all is the window of a whole list.
var all = math.MaxInt32

// TaskIDs returns the ids of the viewer's whole task list, in order (the export reads
// their rows in batches); errors name the where input "where".
func (l *Lists) TaskIDs(ctx context.Context, where any, orderBy []*ent.TaskOrder) ([]int, error) {
	if _, err := l.policy.Require(ctx, policy.AccessFullTaskList); err != nil {
		return nil, err
	}
	cond, err := filter.TaskCond(where, "where", l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	return ids(ctx, l, l.tasks(), cond, orderBy)
}

// CaseIDs returns the ids of the viewer's whole case list, in order.
func (l *Lists) CaseIDs(ctx context.Context, where any, orderBy []*ent.CaseOrder) ([]int, error) {
	if _, err := l.policy.Require(ctx, policy.AccessFullCaseList); err != nil {
		return nil, err
	}
	cond, err := filter.CaseCond(where, "where", l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	return ids(ctx, l, l.cases(), cond, orderBy)
}

func ids[R, N, O any](ctx context.Context, l *Lists, k kind[R, N, O], cond *listindex.Cond[R], orderBy []O) ([]int, error) {
	order, err := k.order(orderBy)
	if err != nil {
		return nil, err
	}
	res, _, err := k.list(ctx, l.index, cond, listindex.Page{Order: order, First: &all})
	return res.IDs, err
}
