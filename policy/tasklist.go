package policy

import (
	"context"
	"fmt"
	"sync/atomic"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/listindex"
)

// The task and case lists read their pages from the list index: the viewer's rows come
// from the same sources as TaskVisible and CaseVisible (taskSources.rows, caseRows), then
// the filter, the order and the window, and the exact total, all in memory. Only the
// page's rows are then read from the database, in a context that hands their ids to the
// read rule of the first query of the entity (the page itself); queries after it (eager
// loads of nested lists, later resolvers) get the viewer's full rule again.

// TaskList syncs the index with the database and returns the viewer's page of the task
// list, and the context to read the page's tasks in.
func (p *Policy) TaskList(ctx context.Context, ix *listindex.Index, where *listindex.Cond[listindex.TaskRow], page listindex.Page) (listindex.Result, context.Context, error) {
	if isSystem(ctx) {
		return listindex.Result{}, nil, fmt.Errorf("the task list is a viewer's: not for the server itself")
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return listindex.Result{}, nil, err
	}
	if err := ix.Sync(ctx); err != nil {
		return listindex.Result{}, nil, err
	}
	res, err := ix.Tasks(s.taskSources(auth.FromContext(ctx)).rows, where, page)
	if err != nil {
		return listindex.Result{}, nil, err
	}
	return res, context.WithValue(ctx, pageKey{task.Table}, &idPage{ids: res.IDs}), nil
}

// CaseList is TaskList for the case list.
func (p *Policy) CaseList(ctx context.Context, ix *listindex.Index, where *listindex.Cond[listindex.CaseRow], page listindex.Page) (listindex.Result, context.Context, error) {
	if isSystem(ctx) {
		return listindex.Result{}, nil, fmt.Errorf("the case list is a viewer's: not for the server itself")
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return listindex.Result{}, nil, err
	}
	if err := ix.Sync(ctx); err != nil {
		return listindex.Result{}, nil, err
	}
	res, err := ix.Cases(s.caseRows(auth.FromContext(ctx)), where, page)
	if err != nil {
		return listindex.Result{}, nil, err
	}
	return res, context.WithValue(ctx, pageKey{businesscase.Table}, &idPage{ids: res.IDs}), nil
}

// pageKey marks a context whose queries of the table are limited to a page of visible
// rows of its viewer: an *idPage of TaskList or CaseList, or the *sql.Selector of
// SearchTasks and SearchCases.
type pageKey struct{ table string }

// idPage is the page of a list: the first query of its entity reads these ids.
type idPage struct {
	ids  []int
	used atomic.Bool
}

// pageOf returns the condition of the context's page of table on column id, if it has
// one: the ids of a list's page (once), or a search's selector.
func pageOf(ctx context.Context, table string) (func(*sql.Selector), bool) {
	switch page := ctx.Value(pageKey{table}).(type) {
	case *idPage:
		if page.used.Swap(true) {
			return nil, false
		}
		return func(s *sql.Selector) { s.Where(sql.InInts(s.C("id"), page.ids...)) }, true
	case *sql.Selector:
		return func(s *sql.Selector) {
			s.Where(sql.In(s.C("id"), sql.Select("id").From(page.Clone().As("page"))))
		}, true
	}
	return nil, false
}

// taskPageOf returns the predicate of the tasks of the context's page, if it has one.
func taskPageOf(ctx context.Context) (predicate.Task, bool) {
	p, ok := pageOf(ctx, task.Table)
	return p, ok
}

// casePageOf returns the predicate of the cases of the context's page, if it has one.
func casePageOf(ctx context.Context) (predicate.BusinessCase, bool) {
	p, ok := pageOf(ctx, businesscase.Table)
	return p, ok
}
