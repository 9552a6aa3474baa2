package workflow

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
)

// Hidden tasks and cases carry the seed's HIDE property. Whether viewers see them is
// visibility's rule (policy: out of sight while PortalHiddenTaskCaseExcluded is on);
// here is only who sets the flag: processes that hide what they start
// (Process.hideTasksAndCases, startProcess) and these two mutations.

// withHidden returns ctx whose viewer also reads hidden tasks and cases: setting the
// flag must find a hidden item to unhide it. Visibility is otherwise unchanged.
func withHidden(ctx context.Context) context.Context {
	v := auth.FromContext(ctx)
	if v == nil {
		return ctx
	}
	w := *v
	w.WithHidden = true
	return auth.NewContext(ctx, &w)
}

// SetTaskHidden sets the HIDE property of a task the viewer sees (hidden or not); needs
// TaskWriteHidden. The change is recorded in the task's history.
func (e *Engine) SetTaskHidden(ctx context.Context, id int, hidden bool) (*ent.Task, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := e.policy.Require(ctx, policy.TaskWriteHidden); err != nil {
		return nil, err
	}
	ctx = withHidden(ctx)
	var out *ent.Task
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		t, _, err := e.visibleTask(ctx, c, a, id)
		if err != nil {
			return nil, nil, err
		}
		if t.Hidden == hidden {
			out = t
			return nil, nil, nil // nothing changes, nothing to record
		}
		if out, err = c.Task.UpdateOneID(t.ID).SetHidden(hidden).Save(ctx); err != nil {
			return nil, nil, fmt.Errorf("set task %d hidden: %w", t.ID, err)
		}
		if err := event(ctx, c, a.userID, t, "CHANGED", t.State, t.State, map[string]any{"hidden": hidden}); err != nil {
			return nil, nil, err
		}
		return []int{t.ID}, nil, nil
	})
	return out, err
}

// SetCaseHidden sets the HIDE property of a case the viewer sees and of all its tasks
// (a hidden case's tasks are hidden with it); needs CaseWriteHidden. The change is
// recorded in the case's history.
func (e *Engine) SetCaseHidden(ctx context.Context, id int, hidden bool) (*ent.BusinessCase, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := e.policy.Require(ctx, policy.CaseWriteHidden); err != nil {
		return nil, err
	}
	ctx = withHidden(ctx)
	var out *ent.BusinessCase
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		cs, err := e.visibleCase(ctx, c, id)
		if err != nil {
			return nil, nil, err
		}
		// Every task of the case, also those the viewer does not see: they go with it.
		all := policy.Elevate(ctx, policy.HideCaseTasks)
		ids, err := c.Task.Query().Where(task.CaseID(cs.ID), task.Hidden(!hidden)).IDs(all)
		if err != nil {
			return nil, nil, fmt.Errorf("tasks of case %d: %w", cs.ID, err)
		}
		if len(ids) > 0 {
			if err := c.Task.Update().Where(task.IDIn(ids...)).SetHidden(hidden).Exec(ctx); err != nil {
				return nil, nil, fmt.Errorf("set the tasks of case %d hidden: %w", cs.ID, err)
			}
		}
		if cs.Hidden == hidden && len(ids) == 0 {
			out = cs
			return nil, nil, nil
		}
		if out, err = c.BusinessCase.UpdateOneID(cs.ID).SetHidden(hidden).Save(ctx); err != nil {
			return nil, nil, fmt.Errorf("set case %d hidden: %w", cs.ID, err)
		}
		if err := caseEvent(ctx, c, a.userID, cs, "CHANGED", cs.State, cs.State, map[string]any{"hidden": hidden}); err != nil {
			return nil, nil, err
		}
		return ids, []int{cs.ID}, nil
	})
	return out, err
}
