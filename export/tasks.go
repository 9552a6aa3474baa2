package export

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/migrate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
)

var taskColumns = []column{
	{"ID", 10}, {"Name", 40}, {"Description", 60}, {"State", 14}, {"Business state", 14},
	{"Priority", 11}, {"Category", 16}, {"Case ID", 10}, {"Responsibles", 30},
	{"Worker", 16}, {"Creator", 16}, {"Created (UTC)", 20}, {"Started (UTC)", 20},
	{"Ended (UTC)", 20}, {"Expiry (UTC)", 20},
}

// taskList prepares the export of the tasks the viewer sees that match where, in the
// order of orderBy, reading through client.
func (e *Exporter) taskList(ctx context.Context, client *ent.Client, where, orderBy string) (*list, error) {
	w, order, err := filter.DecodeTaskList(where, orderBy)
	if err != nil {
		return nil, err
	}
	base, err := w.Filter(client.Task.Query())
	if err != nil {
		return nil, badWhere(err)
	}
	if len(order) == 0 {
		order = []*ent.TaskOrder{{Field: ent.TaskOrderFieldCreatedAt, Direction: entgql.OrderDirectionAsc}}
	}
	var ks keyset
	for _, o := range order {
		if err := ks.addKey(migrate.TasksTable, taskOrderColumn(o.Field.String()), o.Direction == entgql.OrderDirectionDesc); err != nil {
			return nil, err
		}
	}
	batch := func(ctx context.Context, after *cursor, n int, emit func([]any) error) (*cursor, error) {
		tasks, err := base.Clone().Where(ks.after(after)).Order(ks.order).Limit(n).
			WithWorker(userNames).WithCreator(userNames).
			WithResponsibles(func(q *ent.TaskResponsibleQuery) {
				q.Where(taskresponsible.Expiry(false)).Order(ent.Asc(taskresponsible.FieldID)).
					WithUser(userNames).WithRole(func(q *ent.RoleQuery) { q.Select(role.FieldName) })
			}).
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("read tasks: %w", err)
		}
		var row []any
		for _, t := range tasks {
			row = taskRow(row[:0], t)
			if err := emit(row); err != nil {
				return nil, err
			}
		}
		if len(tasks) == 0 {
			return nil, nil
		}
		last := tasks[len(tasks)-1]
		c := &cursor{id: last.ID}
		for _, o := range order {
			v, err := o.Field.Value(last)
			if err != nil {
				return nil, fmt.Errorf("order value of task %d: %w", last.ID, err)
			}
			c.values = append(c.values, orderValue(v))
		}
		return c, nil
	}
	return &list{title: "Tasks", columns: taskColumns, batch: batch}, nil
}

// taskRow appends the cells of a task, in the order of taskColumns, to row.
func taskRow(row []any, t *ent.Task) []any {
	var names []string
	for _, r := range t.Edges.Responsibles {
		switch {
		case r.Edges.User != nil:
			names = append(names, r.Edges.User.Name)
		case r.Edges.Role != nil:
			names = append(names, r.Edges.Role.Name)
		}
	}
	return append(row, t.ID, t.Name, t.Description, string(t.State),
		string(policy.TaskBusinessState(t.State)), string(t.Priority), t.Category, t.CaseID,
		strings.Join(names, ", "), userName(t.Edges.Worker), userName(t.Edges.Creator),
		t.CreatedAt, t.StartedAt, t.EndedAt, t.ExpiryTimestamp)
}

// userNames loads only the user name of eager-loaded users.
func userNames(q *ent.UserQuery) { q.Select(user.FieldName) }

// userName is the user's name, or nil (an empty cell) for no user.
func userName(u *ent.User) any {
	if u == nil {
		return nil
	}
	return u.Name
}

// taskOrderColumn is the column of an order field: entgql names each after its column in
// upper case, except the ranked ones (ent/schema/rank.go).
func taskOrderColumn(field string) string {
	switch field {
	case "STATE":
		return task.FieldStateRank
	case "PRIORITY":
		return task.FieldPriorityRank
	}
	return strings.ToLower(field)
}
