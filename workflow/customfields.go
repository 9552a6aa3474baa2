package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/customfield"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
)

// Custom fields of tasks and cases: set by startProcess (the case's, from its start
// data), by completeTask (the task's and its case's, from the form's values) and by
// setTaskCustomFields / setCaseCustomFields (TaskWriteCustomFields /
// CaseWriteCustomFields, in the states the action table allows). What a name and a value
// may be is package customfield's rule. Every change writes the task or case row, so the
// change feed's triggers tell the list index, and is reported through Engine.Changed
// like every other write (live events, charts).

// SetTaskCustomFields sets (a value) or clears (null) custom fields of a task the viewer
// sees and may change them on; the others stay.
func (e *Engine) SetTaskCustomFields(ctx context.Context, id int, fields map[string]any) (*ent.Task, error) {
	changes, err := checkChanges(fields)
	if err != nil {
		return nil, err
	}
	var out *ent.Task
	err = e.onTask(ctx, id, policy.TaskChangeCustomFields, func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		current, err := e.lockedTaskFields(ctx, c, t.ID)
		if err != nil {
			return nil, nil, err
		}
		merged, err := customfield.Merge(current, changes)
		if err != nil {
			return nil, nil, err
		}
		if err := c.Task.UpdateOneID(t.ID).SetCustomFields(merged).Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("custom fields of task %d: %w", t.ID, err)
		}
		if err := event(ctx, c, a.userID, t, "CHANGED", t.State, t.State, changedFields(changes)); err != nil {
			return nil, nil, err
		}
		out, err = c.Task.Get(policy.Elevate(ctx, policy.ReadBack), t.ID)
		return []int{t.ID}, []int{t.CaseID}, err
	})
	return out, err
}

// SetCaseCustomFields is SetTaskCustomFields for a case the viewer sees.
func (e *Engine) SetCaseCustomFields(ctx context.Context, id int, fields map[string]any) (*ent.BusinessCase, error) {
	changes, err := checkChanges(fields)
	if err != nil {
		return nil, err
	}
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
		if err := policy.CheckCase(a.sub, policy.CaseChangeCustomFields, cs.State); err != nil {
			return nil, nil, err
		}
		current, err := e.lockedCaseFields(ctx, c, cs.ID)
		if err != nil {
			return nil, nil, err
		}
		merged, err := customfield.Merge(current, changes)
		if err != nil {
			return nil, nil, err
		}
		if out, err = c.BusinessCase.UpdateOneID(cs.ID).SetCustomFields(merged).Save(ctx); err != nil {
			return nil, nil, fmt.Errorf("custom fields of case %d: %w", cs.ID, err)
		}
		if err := caseEvent(ctx, c, a.userID, cs, "CHANGED", cs.State, cs.State, changedFields(changes)); err != nil {
			return nil, nil, err
		}
		return nil, []int{cs.ID}, nil
	})
	return out, err
}

func checkChanges(fields map[string]any) (map[string]any, error) {
	if len(fields) == 0 {
		return nil, apperr.BadInput("fields is empty: give at least one custom field (null clears it)")
	}
	return customfield.Check("fields", fields, true)
}

// changedFields is the event's details: which custom fields were set and cleared.
func changedFields(changes map[string]any) map[string]any {
	var set, cleared []string
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		if changes[k] == nil {
			cleared = append(cleared, k)
		} else {
			set = append(set, k)
		}
	}
	d := map[string]any{}
	if len(set) > 0 {
		d["customFieldsSet"] = set
	}
	if len(cleared) > 0 {
		d["customFieldsCleared"] = cleared
	}
	return d
}

// lockedTaskFields reads a task's custom fields for a change; on PostgreSQL the row is
// locked until the transaction ends, so two concurrent changes of different fields both
// stay (SQLite has one writer at a time).
func (e *Engine) lockedTaskFields(ctx context.Context, c *ent.Client, id int) (map[string]any, error) {
	q := c.Task.Query().Where(task.ID(id)).Select(task.FieldCustomFields)
	if e.dialect == dialect.Postgres {
		q.ForUpdate()
	}
	t, err := q.Only(policy.Elevate(ctx, policy.ReadBack))
	if err != nil {
		return nil, fmt.Errorf("custom fields of task %d: %w", id, err)
	}
	return t.CustomFields, nil
}

func (e *Engine) lockedCaseFields(ctx context.Context, c *ent.Client, id int) (map[string]any, error) {
	q := c.BusinessCase.Query().Where(businesscase.ID(id)).Select(businesscase.FieldCustomFields)
	if e.dialect == dialect.Postgres {
		q.ForUpdate()
	}
	cs, err := q.Only(policy.Elevate(ctx, policy.ReadBack))
	if err != nil {
		return nil, fmt.Errorf("custom fields of case %d: %w", id, err)
	}
	return cs.CustomFields, nil
}

// formFields turns completion data into custom fields, as the step's form says: each
// form element's value is kept under customfield.NameOf(its elementID); a number
// element's value as a number, a date element's as its date (RFC 3339 in UTC, a plain
// 2026-12-06 as that text), checkboxes as their options joined by ", ", anything else
// as its text, cut to customfield.MaxText characters (the task's data keeps it whole).
// An APPROVAL step's approved and comment are no form elements: they go to the case
// history. Empty values set nothing.
func formFields(step TaskDefinition, data map[string]any) map[string]any {
	out := map[string]any{}
	for _, fe := range step.FormElements {
		v, ok := data[fe.ElementID]
		if !ok || v == nil || v == "" {
			continue
		}
		var value any
		switch x := v.(type) {
		case []any:
			parts := make([]string, 0, len(x))
			for _, p := range x {
				parts = append(parts, fmt.Sprint(p))
			}
			value = strings.Join(parts, ", ")
		case string:
			value = x
			if kindOf(fe.ElementType) == kindNumber { // checkValue accepted it as a number
				value = json.Number(strings.TrimSpace(x))
			}
		default:
			value = v
		}
		sv, err := customfield.Value(value)
		if err != nil { // a text too long, a number out of range: keep what fits as text
			s := fmt.Sprint(value)
			if r := []rune(s); len(r) > customfield.MaxText {
				s = string(r[:customfield.MaxText])
			}
			sv = s
		}
		out[customfield.NameOf(fe.ElementID)] = sv
	}
	return out
}

// applyFormFields adds a completed step's form values to the task's and its case's
// custom fields; a case that would hold more than customfield.MaxFields is refused.
func (e *Engine) applyFormFields(ctx context.Context, c *ent.Client, t *ent.Task, cs *ent.BusinessCase, fields map[string]any) error {
	if len(fields) == 0 {
		return nil
	}
	taskFields, err := customfield.Merge(t.CustomFields, fields)
	if err != nil {
		return apperr.Conflict("task %d: %v", t.ID, err)
	}
	current, err := e.lockedCaseFields(ctx, c, cs.ID)
	if err != nil {
		return err
	}
	caseFields, err := customfield.Merge(current, fields)
	if err != nil {
		return apperr.Conflict("the form's values cannot all become custom fields of case %d: %v", cs.ID, err)
	}
	if err := c.Task.UpdateOneID(t.ID).SetCustomFields(taskFields).Exec(ctx); err != nil {
		return fmt.Errorf("custom fields of task %d: %w", t.ID, err)
	}
	if err := c.BusinessCase.UpdateOneID(cs.ID).SetCustomFields(caseFields).Exec(ctx); err != nil {
		return fmt.Errorf("custom fields of case %d: %w", cs.ID, err)
	}
	return nil
}
