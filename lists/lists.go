// Package lists serves the task and case lists (the tasks and cases queries, the xlsx
// export) from the list index: the where input compiled by package filter, the viewer's
// rows, order, window and exact total from policy over listindex, and only the page's
// rows read from the database.
package lists

import (
	"context"
	"fmt"
	"math"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
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

// taskColumns and caseColumns name the index's column of each order field.
var (
	taskColumns = map[string]string{
		"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt", "NAME": "name", "CATEGORY": "category",
		"STATE": "state", "PRIORITY": "priority", "EXPIRY_TIMESTAMP": "expiryTimestamp",
		"DELAY_TIMESTAMP": "delayTimestamp", "ENDED_AT": "endedAt",
	}
	caseColumns = map[string]string{
		"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt", "NAME": "name", "CATEGORY": "category",
		"STATE": "state", "ENDED_AT": "endedAt",
	}
)

// terms turns the order fields (by their GraphQL names) into the index's order.
func terms(columns map[string]string, fields []string, desc []bool) ([]listindex.OrderTerm, error) {
	out := make([]listindex.OrderTerm, len(fields))
	for i, f := range fields {
		col, ok := columns[f]
		if !ok {
			return nil, apperr.BadInput("%s is not an order field of this list", f)
		}
		out[i] = listindex.OrderTerm{Column: col, Desc: desc[i]}
	}
	return out, nil
}

// TaskOrder returns the index's order of a task list's orderBy.
func TaskOrder(orderBy []*ent.TaskOrder) ([]listindex.OrderTerm, error) {
	var fields []string
	var desc []bool
	for _, o := range orderBy {
		if o == nil || o.Field == nil {
			continue
		}
		fields = append(fields, o.Field.String())
		desc = append(desc, o.Direction == entgql.OrderDirectionDesc)
	}
	return terms(taskColumns, fields, desc)
}

// CaseOrder returns the index's order of a case list's orderBy.
func CaseOrder(orderBy []*ent.CaseOrder) ([]listindex.OrderTerm, error) {
	var fields []string
	var desc []bool
	for _, o := range orderBy {
		if o == nil || o.Field == nil {
			continue
		}
		fields = append(fields, o.Field.String())
		desc = append(desc, o.Direction == entgql.OrderDirectionDesc)
	}
	return terms(caseColumns, fields, desc)
}

// badCursor is the error of a cursor that does not fit the list's order.
func badCursor(which string, err error) error {
	return apperr.BadInput("%s is not a cursor of this list's order (%v): page with the cursors the list returned, or start again without it", which, err)
}

// page turns a window into the index's, reading its cursors with key.
func page(w Window, order []listindex.OrderTerm, key func([]listindex.OrderTerm, int, []any) (listindex.Key, error)) (listindex.Page, error) {
	p := listindex.Page{Order: order, First: w.First, Last: w.Last}
	if w.First == nil && w.Last == nil {
		n := 50
		p.First = &n
	}
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
		Tasks: func(w *ent.TaskWhereInput) ([]int, error) {
			p, err := w.P()
			if err != nil {
				return nil, err
			}
			return l.client.Task.Query().Where(p).IDs(ctx)
		},
		Cases: func(w *ent.CaseWhereInput) ([]int, error) {
			p, err := w.P()
			if err != nil {
				return nil, err
			}
			return l.client.BusinessCase.Query().Where(p).IDs(ctx)
		},
	}
}

// Tasks returns the viewer's task list: where as the client wrote it (nil: all), in the
// order of orderBy (none: by id), the window w.
func (l *Lists) Tasks(ctx context.Context, where any, orderBy []*ent.TaskOrder, w Window, load LoadTasks) (*ent.TaskConnection, error) {
	cond, err := filter.TaskCond(where, l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	order, err := TaskOrder(orderBy)
	if err != nil {
		return nil, err
	}
	p, err := page(w, order, l.index.TaskKey)
	if err != nil {
		return nil, err
	}
	res, pageCtx, err := l.policy.TaskList(ctx, l.index, cond, p)
	if err != nil {
		return nil, err
	}
	nodes, err := load(pageCtx, res.IDs)
	if err != nil {
		return nil, fmt.Errorf("read the tasks of a page: %w", err)
	}
	byID := make(map[int]*ent.Task, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	conn := &ent.TaskConnection{TotalCount: res.Total,
		PageInfo: ent.PageInfo{HasNextPage: res.HasNext, HasPreviousPage: res.HasPrev}}
	for i, id := range res.IDs {
		n := byID[id]
		if n == nil {
			continue // deleted since the index read it
		}
		vals, err := l.index.TaskCursor(order, res.Keys[i])
		if err != nil {
			return nil, err
		}
		conn.Edges = append(conn.Edges, &ent.TaskEdge{Node: n, Cursor: entgql.Cursor[int]{ID: id, Value: vals}})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// Cases returns the viewer's case list, as Tasks does the task list.
func (l *Lists) Cases(ctx context.Context, where any, orderBy []*ent.CaseOrder, w Window, load LoadCases) (*ent.CaseConnection, error) {
	cond, err := filter.CaseCond(where, l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	order, err := CaseOrder(orderBy)
	if err != nil {
		return nil, err
	}
	p, err := page(w, order, l.index.CaseKey)
	if err != nil {
		return nil, err
	}
	res, pageCtx, err := l.policy.CaseList(ctx, l.index, cond, p)
	if err != nil {
		return nil, err
	}
	nodes, err := load(pageCtx, res.IDs)
	if err != nil {
		return nil, fmt.Errorf("read the cases of a page: %w", err)
	}
	byID := make(map[int]*ent.BusinessCase, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	conn := &ent.CaseConnection{TotalCount: res.Total,
		PageInfo: ent.PageInfo{HasNextPage: res.HasNext, HasPreviousPage: res.HasPrev}}
	for i, id := range res.IDs {
		n := byID[id]
		if n == nil {
			continue
		}
		vals, err := l.index.CaseCursor(order, res.Keys[i])
		if err != nil {
			return nil, err
		}
		conn.Edges = append(conn.Edges, &ent.CaseEdge{Node: n, Cursor: entgql.Cursor[int]{ID: id, Value: vals}})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &conn.Edges[0].Cursor, &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// PlainTasks loads tasks by id without more (for callers outside GraphQL).
func (l *Lists) PlainTasks(ctx context.Context, ids []int) ([]*ent.Task, error) {
	return l.client.Task.Query().Where(task.IDIn(ids...)).All(ctx)
}

// PlainCases loads cases by id without more.
func (l *Lists) PlainCases(ctx context.Context, ids []int) ([]*ent.BusinessCase, error) {
	return l.client.BusinessCase.Query().Where(businesscase.IDIn(ids...)).All(ctx)
}

// all is the window of a whole list.
var all = math.MaxInt32

// TaskIDs returns the ids of the viewer's whole task list, in order (the export reads
// their rows in batches).
func (l *Lists) TaskIDs(ctx context.Context, where any, orderBy []*ent.TaskOrder) ([]int, error) {
	cond, err := filter.TaskCond(where, l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	order, err := TaskOrder(orderBy)
	if err != nil {
		return nil, err
	}
	res, _, err := l.policy.TaskList(ctx, l.index, cond, listindex.Page{Order: order, First: &all})
	return res.IDs, err
}

// CaseIDs returns the ids of the viewer's whole case list, in order.
func (l *Lists) CaseIDs(ctx context.Context, where any, orderBy []*ent.CaseOrder) ([]int, error) {
	cond, err := filter.CaseCond(where, l.resolve(ctx))
	if err != nil {
		return nil, err
	}
	order, err := CaseOrder(orderBy)
	if err != nil {
		return nil, err
	}
	res, _, err := l.policy.CaseList(ctx, l.index, cond, listindex.Page{Order: order, First: &all})
	return res.IDs, err
}
