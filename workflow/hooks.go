package workflow

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/hook"
	"github.com/portico-dev/portico/ent/schema"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/policy"
)

// InstallHooks sets the sort ranks of tasks and cases (state_rank, priority_rank; see
// ent/schema/rank.go) from their state and priority on every create and update, bulk
// ones included, and keeps the copies of each task's DELAYED state, system flag and creation
// time on its responsibles in step, whatever code writes tasks, so the SQL visibility
// predicate can answer from task_responsibles' indexes alone. It also records which tasks
// and cases a write creates, for the change kinds of its events.
func InstallHooks(client *ent.Client) {
	installCreatedHooks(client)
	client.Task.Use(func(next ent.Mutator) ent.Mutator {
		return hook.TaskFunc(func(ctx context.Context, m *ent.TaskMutation) (ent.Value, error) {
			if s, ok := m.State(); ok {
				m.SetStateRank(schema.TaskStateRank(s.String()))
			}
			if p, ok := m.Priority(); ok {
				m.SetPriorityRank(schema.PriorityRank(p.String()))
			}
			return next.Mutate(ctx, m)
		})
	})
	client.BusinessCase.Use(func(next ent.Mutator) ent.Mutator {
		return hook.BusinessCaseFunc(func(ctx context.Context, m *ent.BusinessCaseMutation) (ent.Value, error) {
			if s, ok := m.State(); ok {
				m.SetStateRank(schema.CaseStateRank(s.String()))
			}
			return next.Mutate(ctx, m)
		})
	})
	client.TaskResponsible.Use(func(next ent.Mutator) ent.Mutator {
		return hook.TaskResponsibleFunc(func(ctx context.Context, m *ent.TaskResponsibleMutation) (ent.Value, error) {
			// Copied from the task unless the writer set them itself (assignNew, for a task
			// it has just created and holds). Defaults fill the fields before hooks run, so
			// only the context can say so.
			if id, ok := m.TaskID(); ok && m.Op().Is(ent.OpCreate) && ctx.Value(flagsGiven{}) == nil {
				t, err := m.Client().Task.Query().Where(task.ID(id)).Select(task.FieldState, task.FieldSystem, task.FieldCreatedAt).
					Only(policy.Elevate(ctx, policy.CopyTaskFlags))
				if err != nil {
					return nil, fmt.Errorf("task %d of a responsible: %w", id, err)
				}
				m.SetDelayed(t.State == task.StateDELAYED)
				m.SetSystem(t.System)
				m.SetTaskCreatedAt(t.CreatedAt)
			}
			return next.Mutate(ctx, m)
		})
	})
	client.Task.Use(func(next ent.Mutator) ent.Mutator {
		return hook.TaskFunc(func(ctx context.Context, m *ent.TaskMutation) (ent.Value, error) {
			_, stateSet := m.State()
			_, systemSet := m.System()
			if !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) || !stateSet && !systemSet {
				return next.Mutate(ctx, m)
			}
			// Before the update: it may change what its own predicates match.
			ids, err := m.IDs(policy.Elevate(ctx, policy.CopyTaskFlags))
			if err != nil {
				return nil, fmt.Errorf("tasks of an update: %w", err)
			}
			v, err := next.Mutate(ctx, m)
			if err != nil || len(ids) == 0 {
				return v, err
			}
			return v, copyFlags(ctx, m.Client(), ids)
		})
	})
}

// flagsGiven marks a context whose responsible rows carry their task's flags already.
type flagsGiven struct{}

// copyFlags copies the tasks' DELAYED state and system flag to their responsibles.
func copyFlags(ctx context.Context, c *ent.Client, ids []int) error {
	for _, delayed := range []bool{true, false} {
		cond := task.StateEQ(task.StateDELAYED)
		if !delayed {
			cond = task.StateNEQ(task.StateDELAYED)
		}
		if _, err := c.TaskResponsible.Update().Where(taskresponsible.TaskIDIn(ids...), taskresponsible.HasTaskWith(cond),
			taskresponsible.Delayed(!delayed)).SetDelayed(delayed).Save(ctx); err != nil {
			return fmt.Errorf("copy DELAYED to responsibles: %w", err)
		}
	}
	for _, system := range []bool{true, false} {
		if _, err := c.TaskResponsible.Update().Where(taskresponsible.TaskIDIn(ids...), taskresponsible.HasTaskWith(task.System(system)),
			taskresponsible.System(!system)).SetSystem(system).Save(ctx); err != nil {
			return fmt.Errorf("copy the system flag to responsibles: %w", err)
		}
	}
	return nil
}
