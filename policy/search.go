package policy

import (
	"context"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
)

// Searching the text of the tasks and cases a restricted user sees. Filtering the text
// index's matches by TaskVisible makes PostgreSQL start from the visible tasks and
// probe each one's row for its text: about 42 ms for a user who sees 12,000 of a
// million tasks, whatever the text; starting from the text index instead costs in
// proportion to all the matches, visible or not. Here each source of visibility
// (taskSources, as for TaskVisible and TaskList) is searched on its own: the
// responsible branches match the text on the task_responsibles rows of the user's
// roles and users (on PostgreSQL a lookup of those roles' and users' own keyed copies
// of the text, migration *_search_visibility.sql), the user's own work and cases match
// the tasks' text. Only matching rows are read.

// TextMatch says which rows match a search text; package search builds it per dialect.
// Each function returns the condition on a row of the selector's table.
type TextMatch struct {
	Task func(*sql.Selector) *sql.Predicate // a row of tasks
	// Responsible is the condition that the task of a row of task_responsibles matches,
	// for rows of the given roles (byRole) or users: the rows the caller selects.
	Responsible func(sel *sql.Selector, byRole bool, ids []int) *sql.Predicate
	// ResponsibleCase is the same for the case of the row's task.
	ResponsibleCase func(sel *sql.Selector, byRole bool, ids []int) *sql.Predicate
	Case            func(*sql.Selector) *sql.Predicate // a row of cases
}

// SearchTasks returns a context in which the viewer's task queries read only the
// visible tasks that match m, at most n of them (the lowest ids), and true. Every
// source of visibility is searched in the statement, so nothing is filtered after
// loading. It returns ctx and false for the server itself and for a viewer who sees
// every task (TaskReadAll): the text index over all tasks is their cheaper plan, with
// the visibility predicate the interceptor adds.
func (p *Policy) SearchTasks(ctx context.Context, m TextMatch, n int) (context.Context, bool, error) {
	if isSystem(ctx) {
		return ctx, false, nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, false, err
	}
	src := s.taskSources(auth.FromContext(ctx))
	if src.all {
		return ctx, false, nil
	}
	// responsible selects the tasks of matching responsible rows whose col is one of ids.
	responsible := func(col string, ids []int) *sql.Selector {
		t := sql.Table(taskresponsible.Table)
		return sql.Select(sql.As(t.C(taskresponsible.FieldTaskID), "id")).From(t).
			Where(sql.And(src.responsibleWhere(sql.InInts(t.C(col), ids...)),
				m.Responsible(sql.Select().From(t), col == taskresponsible.FieldRoleID, ids)))
	}
	// own selects the matching tasks of the condition where (system ones only with
	// SystemTaskReadAll).
	own := func(where *sql.Predicate) *sql.Selector {
		t := sql.Table(task.Table)
		q := sql.Select(sql.As(t.C(task.FieldID), "id")).From(t).Where(sql.And(where, m.Task(sql.Select().From(t))))
		if !src.system {
			q.Where(sql.EQ(t.C(task.FieldSystem), false))
		}
		if src.hidden {
			q.Where(sql.EQ(t.C(task.FieldHidden), false))
		}
		return q
	}
	union := own(sql.EQ(task.FieldWorkerID, src.worker))
	if src.cases {
		union.UnionAll(own(sql.In(task.FieldCaseID, s.involvedCaseIDs())))
	}
	for _, by := range []struct {
		col string
		ids []int
	}{{taskresponsible.FieldRoleID, src.roles}, {taskresponsible.FieldUserID, src.users}} {
		if len(by.ids) > 0 {
			union.UnionAll(responsible(by.col, by.ids))
		}
	}
	// A task reachable through two sources comes twice: GROUP BY keeps one, so that the
	// n are n tasks. The matches are few (the text index found them), so ordering them
	// costs little and makes the n the same on every page of a search.
	page := sql.Select("id").From(union.As("v")).GroupBy("id").OrderBy("id").Limit(n)
	return context.WithValue(ctx, pageKey{task.Table}, page), true, nil
}

// SearchCases returns a context in which the viewer's case queries read only the
// visible cases that match m, at most n of them (the lowest ids), and true; ctx and
// false for the server itself and for a viewer who sees every case (CaseReadAll) or
// every task (TaskReadAll, and so nearly every case): the text index over all cases is
// their cheaper plan.
//
// The visible cases (CaseVisible) are those the subject is involved in and those with
// a visible task. The cases of the tasks it works on, and of the tasks of its own cases
// (TaskReadOwnCaseTasks), are cases it is involved in, so the others are the cases of
// the tasks visible through their responsibles: matched on their task_responsibles
// rows like the tasks (on PostgreSQL by the case's lexemes keyed by each role and user).
func (p *Policy) SearchCases(ctx context.Context, m TextMatch, n int) (context.Context, bool, error) {
	if isSystem(ctx) {
		return ctx, false, nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, false, err
	}
	src := s.taskSources(auth.FromContext(ctx))
	if src.all || s.Has(CaseReadAll) {
		return ctx, false, nil
	}
	c := sql.Table(businesscase.Table)
	union := sql.Select(sql.As(c.C(businesscase.FieldID), "id")).From(c).
		Where(sql.And(sql.In(c.C(businesscase.FieldID), s.involvedCaseIDs()), m.Case(sql.Select().From(c))))
	for _, by := range []struct {
		col string
		ids []int
	}{{taskresponsible.FieldRoleID, src.roles}, {taskresponsible.FieldUserID, src.users}} {
		if len(by.ids) > 0 {
			union.UnionAll(src.responsibleCases(by.col, by.ids, m))
		}
	}
	// A case comes once for each of its matching visible tasks: GROUP BY keeps one.
	page := sql.Select("id").From(union.As("v")).GroupBy("id").OrderBy("id").Limit(n)
	if src.hidden {
		page.Where(sql.NotIn("id", hiddenIDs(businesscase.Table)))
	}
	return context.WithValue(ctx, pageKey{businesscase.Table}, page), true, nil
}

// responsibleCases selects the matching cases of the tasks visible through the
// responsible rows whose col is one of ids: on PostgreSQL from the rows' copy of their
// task's case (kept by triggers, migration *_search_visibility.sql), elsewhere from the
// tasks.
func (src taskSources) responsibleCases(col string, ids []int, m TextMatch) *sql.Selector {
	r := sql.Table(taskresponsible.Table)
	rows := func(selected string) *sql.Selector {
		return sql.Select(selected).From(r).Where(sql.And(src.responsibleWhere(sql.InInts(r.C(col), ids...)),
			m.ResponsibleCase(sql.Select().From(r), col == taskresponsible.FieldRoleID, ids)))
	}
	t := sql.Table(task.Table)
	copied, joined := rows(r.C("case_id")), sql.Select(t.C(task.FieldCaseID)).From(t).
		Where(sql.In(t.C(task.FieldID), rows(r.C(taskresponsible.FieldTaskID))))
	return sql.Select("case_id").FromExpr(sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("(")
		if b.Dialect() == dialect.Postgres {
			b.Join(copied)
		} else {
			b.Join(joined)
		}
		b.WriteString(`) AS "x"`)
	}))
}
