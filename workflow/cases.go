package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
)

func (e *Engine) visibleCase(ctx context.Context, c *ent.Client, id int) (*ent.BusinessCase, error) {
	cs, err := c.BusinessCase.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("no case with id %d (or you may not see it)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load case %d: %w", id, err)
	}
	return cs, nil
}

// caseEvent records a workflow event on a case.
func caseEvent(ctx context.Context, c *ent.Client, userID int, cs *ent.BusinessCase, kind string, before, after businesscase.State, details map[string]any) error {
	err := c.WorkflowEvent.Create().SetKind(kind).SetCaseID(cs.ID).SetUserID(userID).
		SetStateBefore(string(before)).SetStateAfter(string(after)).SetDetails(details).Exec(ctx)
	if err != nil {
		return fmt.Errorf("record %s event on case %d: %w", kind, cs.ID, err)
	}
	return nil
}

// DestroyCase destroys a RUNNING case and every task of it that is not finished.
func (e *Engine) DestroyCase(ctx context.Context, id int) (*ent.BusinessCase, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.BusinessCase
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		cs, err := e.visibleCase(ctx, c, id)
		if err != nil {
			return nil, nil, err
		}
		if err := policy.CheckCase(a.sub, policy.CaseDestroyAction, cs.State); err != nil {
			return nil, nil, err
		}
		now := e.now()
		n, err := c.BusinessCase.Update().Where(businesscase.ID(cs.ID), businesscase.StateEQ(cs.State)).
			SetState(businesscase.StateDESTROYED).SetEndedAt(now).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("destroy case %d: %w", cs.ID, err)
		}
		if n == 0 {
			return nil, nil, apperr.Conflict("case %d changed meanwhile; reload it", cs.ID)
		}
		// All the case's open tasks go with it, also those the viewer does not see.
		open, err := c.Task.Query().Where(task.CaseID(cs.ID), task.StateNotIn(task.StateDONE, task.StateDESTROYED)).
			All(policy.Elevate(ctx, policy.DestroyCaseTasks))
		if err != nil {
			return nil, nil, err
		}
		ids := make([]int, 0, len(open))
		for _, t := range open {
			if err := c.Task.UpdateOneID(t.ID).SetState(task.StateDESTROYED).SetEndedAt(now).Exec(ctx); err != nil {
				return nil, nil, err
			}
			if err := event(ctx, c, a.userID, t, "DESTROYED", t.State, task.StateDESTROYED, map[string]any{"reason": "case destroyed"}); err != nil {
				return nil, nil, err
			}
			if err := systemNote(ctx, c, t, "Task destroyed with its case by %s.", userName(ctx)); err != nil {
				return nil, nil, err
			}
			ids = append(ids, t.ID)
		}
		if err := caseEvent(ctx, c, a.userID, cs, "DESTROYED", cs.State, businesscase.StateDESTROYED, nil); err != nil {
			return nil, nil, err
		}
		out, err = c.BusinessCase.Get(policy.Elevate(ctx, policy.ReadBack), cs.ID)
		return ids, []int{cs.ID}, err
	})
	return out, err
}

// UpdateCase changes a case's name and/or description, each under its permission.
func (e *Engine) UpdateCase(ctx context.Context, id int, name, description *string) (*ent.BusinessCase, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if name == nil && description == nil {
		return nil, apperr.BadInput("nothing to change: give name and/or description")
	}
	var out *ent.BusinessCase
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		cs, err := e.visibleCase(ctx, c, id)
		if err != nil {
			return nil, nil, err
		}
		upd := c.BusinessCase.UpdateOneID(cs.ID)
		changed := map[string]any{}
		if name != nil {
			if err := policy.CheckCase(a.sub, policy.CaseChangeName, cs.State); err != nil {
				return nil, nil, err
			}
			upd.SetName(*name)
			changed["name"] = *name
		}
		if description != nil {
			if err := policy.CheckCase(a.sub, policy.CaseChangeDescription, cs.State); err != nil {
				return nil, nil, err
			}
			upd.SetDescription(*description)
			changed["description"] = *description
		}
		// The updated row is the payload: the viewer may see it or not, it just changed it.
		if out, err = upd.Save(ctx); err != nil {
			return nil, nil, fmt.Errorf("update case %d: %w", cs.ID, err)
		}
		if err := caseEvent(ctx, c, a.userID, cs, "CHANGED", cs.State, cs.State, changed); err != nil {
			return nil, nil, err
		}
		return nil, []int{cs.ID}, nil
	})
	return out, err
}

// AddCaseNote adds the viewer's note to a case.
func (e *Engine) AddCaseNote(ctx context.Context, caseID int, content string) (*ent.Note, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(content) == "" {
		return nil, apperr.BadInput("the note is empty")
	}
	var out *ent.Note
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		cs, err := e.visibleCase(ctx, c, caseID)
		if err != nil {
			return nil, nil, err
		}
		if err := policy.CheckCase(a.sub, policy.CaseAddNote, cs.State); err != nil {
			return nil, nil, err
		}
		out, err = c.Note.Create().SetContent(content).SetAuthorID(a.userID).SetCaseID(cs.ID).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("add note to case %d: %w", cs.ID, err)
		}
		return nil, []int{cs.ID}, nil
	})
	return out, err
}
