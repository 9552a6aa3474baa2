package policy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
)

// The task list in its default order, (created_at, id), is the portal's most frequent
// read. Filtering every task by the visibility predicate and sorting would touch all of a
// user's visible tasks on every page; instead each source of visibility (a role, a user,
// own work, own cases) gives its own first keys from an ordered index walk, and only the
// merged page is loaded. Both queries below are built from taskSources, like TaskVisible.

// TaskKey is a task's place in the default order.
type TaskKey struct {
	Created time.Time
	ID      int
}

// TaskPage returns a context in which the viewer's task queries read only the first n
// tasks it may see in (created_at, id) order, descending when desc, after the key after
// when set. Each source gives at most n keys of its own from an ordered index walk, so a
// page costs about n rows a source, whatever the number of visible tasks. The page is
// built here from the viewer's own visibility, so it can only narrow what it sees; no
// caller hands the policy a predicate of its own.
func (p *Policy) TaskPage(ctx context.Context, desc bool, after *TaskKey, n int) (context.Context, error) {
	if isSystem(ctx) {
		return nil, fmt.Errorf("the task list page is a viewer's: not for the server itself")
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	return context.WithValue(ctx, pageKey{task.Table}, s.taskPage(auth.FromContext(ctx), desc, after, n)), nil
}

// taskPage is the query of the keys (id, created) of TaskPage's tasks.
func (s *Subject) taskPage(v *auth.Viewer, desc bool, after *TaskKey, n int) *sql.Selector {
	src := s.taskSources(v)
	cmp, order := sql.CompositeGT, sql.Asc
	if desc {
		cmp, order = sql.CompositeLT, sql.Desc
	}
	// first walks an ordered index of one source and stops after n keys.
	first := func(q *sql.Selector, created, id string) *sql.Selector {
		if after != nil {
			q.Where(cmp([]string{created, id}, after.Created, after.ID))
		}
		return q.OrderBy(order(created), order(id)).Limit(n)
	}
	tasks := func(where *sql.Predicate) sql.Querier {
		q := sql.Select(sql.As(task.FieldID, "id"), sql.As(task.FieldCreatedAt, "created")).From(sql.Table(task.Table))
		if where != nil {
			q.Where(where)
		}
		if !src.system {
			q.Where(sql.EQ(task.FieldSystem, false))
		}
		return sql.Select("*").From(first(q, task.FieldCreatedAt, task.FieldID).As("t"))
	}
	responsibles := func(col string, is *sql.Predicate) *sql.Selector {
		q := sql.Select(sql.As(taskresponsible.FieldTaskID, "id"), sql.As(taskresponsible.FieldTaskCreatedAt, "created")).
			From(sql.Table(taskresponsible.Table)).Where(src.responsibleWhere(is))
		return first(q, taskresponsible.FieldTaskCreatedAt, taskresponsible.FieldTaskID)
	}
	// perID gives the first keys of each responsible user or role: on PostgreSQL one
	// LATERAL walk per array element (one short plan whatever the number of roles), on
	// SQLite a UNION ALL branch each.
	perID := func(col string, ids []int) sql.Querier {
		return sql.ExprFunc(func(b *sql.Builder) {
			if b.Dialect() != dialect.Postgres {
				for i, id := range ids {
					if i > 0 {
						b.WriteString(" UNION ALL ")
					}
					b.Join(sql.Select("*").From(responsibles(col, sql.EQ(col, id)).As("x")))
				}
				return
			}
			arr := make([]int64, len(ids))
			for i, id := range ids {
				arr[i] = int64(id)
			}
			b.WriteString(`SELECT "x"."id", "x"."created" FROM unnest(`).Arg(pq.Array(arr)).
				WriteString(`::bigint[]) AS "r"("id") CROSS JOIN LATERAL (`).
				Join(responsibles(col, sql.ExprP(`"`+col+`" = "r"."id"`))).WriteString(`) AS "x"`)
		})
	}
	var branches []sql.Querier
	if src.all {
		branches = append(branches, tasks(nil))
	} else {
		for _, by := range []struct {
			col string
			ids []int
		}{{taskresponsible.FieldRoleID, src.roles}, {taskresponsible.FieldUserID, src.users}} {
			if len(by.ids) > 0 {
				branches = append(branches, perID(by.col, by.ids))
			}
		}
		branches = append(branches, tasks(sql.EQ(task.FieldWorkerID, src.worker)))
		if src.cases {
			branches = append(branches, tasks(sql.In(task.FieldCaseID, s.involvedCaseIDs())))
		}
	}
	union := sql.ExprFunc(func(b *sql.Builder) {
		b.WriteByte('(')
		for i, q := range branches {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			b.Join(q)
		}
		b.WriteString(`) AS "v"`)
	})
	// A task reachable through two sources comes twice: GROUP BY keeps one.
	return sql.Select("id", "created").FromExpr(union).
		GroupBy("id", "created").OrderBy(order("created"), order("id")).Limit(n)
}

// TaskCount returns the query of the number of tasks the viewer may see, and a key that
// is equal for every viewer who sees the same tasks (for caching the count).
func (p *Policy) TaskCount(ctx context.Context, dialectName string) (query string, args []any, key string, err error) {
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return "", nil, "", err
	}
	src := s.taskSources(auth.FromContext(ctx))
	var q *sql.Selector
	if src.all {
		q = sql.Dialect(dialectName).Select(sql.Count("*")).From(sql.Table(task.Table))
		if !src.system {
			q.Where(sql.EQ(task.FieldSystem, false))
		}
	} else {
		// Distinct ids of the union, counted without reading the tasks themselves.
		ids := sql.Select(taskresponsible.FieldTaskID).From(s.visibleTaskIDs(src).As("v")).GroupBy(taskresponsible.FieldTaskID)
		q = sql.Dialect(dialectName).Select(sql.Count("*")).From(ids.As("w"))
	}
	query, args = q.Query()
	return query, args, src.key(), q.Err()
}

// key identifies the set of tasks the sources select.
func (src taskSources) key() string {
	var b strings.Builder
	flag := func(on bool, c byte) {
		if on {
			b.WriteByte(c)
		}
	}
	flag(src.all, 'A')
	flag(src.system, 'S')
	flag(src.cases, 'C')
	if src.all {
		return b.String()
	}
	b.WriteString("w")
	b.WriteString(strconv.Itoa(src.worker))
	for _, list := range [][]int{src.users, src.roles} {
		b.WriteByte('|')
		for _, id := range list {
			b.WriteString(strconv.Itoa(id))
			b.WriteByte(',')
		}
	}
	return b.String()
}

// pageKey marks a context whose queries of the table are limited to a page of visible
// rows of its viewer: a TaskPage, or those of SearchTasks and SearchCases.
type pageKey struct{ table string }

// taskPageOf returns the predicate of the tasks of the context's page, if it has one.
func taskPageOf(ctx context.Context) (predicate.Task, bool) {
	page, ok := ctx.Value(pageKey{task.Table}).(*sql.Selector)
	if !ok {
		return nil, false
	}
	return func(s *sql.Selector) {
		s.Where(sql.In(s.C(task.FieldID), sql.Select("id").From(page.Clone().As("page"))))
	}, true
}
