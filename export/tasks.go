package export

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/savedfilters"
)

var taskColumns = []column{
	{"ID", 10}, {"Name", 40}, {"Description", 60}, {"State", 14}, {"Business state", 14},
	{"Priority", 11}, {"Category", 16}, {"Case ID", 10}, {"Responsibles", 30},
	{"Worker", 16}, {"Creator", 16}, {"Created (UTC)", 20}, {"Started (UTC)", 20},
	{"Ended (UTC)", 20}, {"Expiry (UTC)", 20},
}

// taskList prepares the export of the tasks the viewer sees that match where, in the
// order of orderBy (default: created first): the list's ids come from the one read path
// of the task list (package lists), the rows in batches.
func (e *Exporter) taskList(ctx context.Context, q query) (*list, error) {
	_, order, err := filter.DecodeTaskList(q.where, q.orderBy)
	if err != nil {
		return nil, err
	}
	raw, err := rawWhere(q.where)
	if err != nil {
		return nil, err
	}
	if raw, err = e.savedWhere(ctx, q, savedfilters.Tasks, raw); err != nil {
		return nil, err
	}
	if len(order) == 0 {
		order = []*ent.TaskOrder{{Field: ent.TaskOrderFieldCreatedAt, Direction: entgql.OrderDirectionAsc}}
	}
	ids, err := e.Lists.TaskIDs(ctx, raw, order)
	if err != nil {
		return nil, err
	}
	load := func(ctx context.Context, client *ent.Client, ids []int, emit func([]any) error) error {
		tasks, err := client.Task.Query().Where(task.IDIn(ids...)).
			WithWorker(userNames).WithCreator(userNames).
			WithResponsibles(func(q *ent.TaskResponsibleQuery) {
				q.Where(taskresponsible.Expiry(false)).Order(ent.Asc(taskresponsible.FieldID)).
					WithUser(userNames).WithRole(func(q *ent.RoleQuery) { q.Select(role.FieldName) })
			}).
			All(ctx)
		if err != nil {
			return fmt.Errorf("read tasks: %w", err)
		}
		byID := make(map[int]*ent.Task, len(tasks))
		for _, t := range tasks {
			byID[t.ID] = t
		}
		var row []any
		for _, id := range ids {
			if t := byID[id]; t != nil { // gone since the list was read: left out
				row = taskRow(row[:0], t)
				if err := emit(row); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return &list{title: "Tasks", columns: taskColumns, ids: ids, load: load}, nil
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
