package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
)

// The form of a step, as a UI renders it and as completeTask checks it. Element types
// follow the express editor's names; what a value must be is decided by the type's
// kind, so a new text or number element type needs no new code.
type elementKind int

const (
	kindText   elementKind = iota // a string
	kindNumber                    // a JSON number (or a string holding one)
	kindDate                      // a date (2026-12-06) or a time (RFC 3339)
	kindMany                      // a list of strings: checkboxes
	kindOne                       // one string: radio buttons, a select
)

func kindOf(elementType string) elementKind {
	t := strings.ToLower(elementType)
	switch {
	case strings.Contains(t, "number"):
		return kindNumber
	case strings.Contains(t, "date"):
		return kindDate
	case strings.Contains(t, "checkbox") || strings.HasPrefix(t, "many"):
		return kindMany
	case strings.Contains(t, "radio") || strings.Contains(t, "select"):
		return kindOne
	}
	return kindText
}

// Keys an APPROVAL step takes besides its form: the decision and why.
const (
	keyApproved = "approved"
	keyComment  = "comment"
)

// checkForm validates completion data against a step's form: every key is one of its
// elements (or an APPROVAL step's approved and comment), required ones are present, and
// each value has its element's kind and, with options, is one of them.
func checkForm(step TaskDefinition, data map[string]any) error {
	byID := map[string]FormElement{}
	for _, fe := range step.FormElements {
		byID[fe.ElementID] = fe
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := byID[k]; ok || (step.Type == StepApproval && (k == keyApproved || k == keyComment)) {
			continue
		}
		known := make([]string, 0, len(byID)+2)
		for id := range byID {
			known = append(known, id)
		}
		if step.Type == StepApproval {
			known = append(known, keyApproved, keyComment)
		}
		slices.Sort(known)
		if len(known) == 0 {
			return apperr.BadInput("data.%s: this step has no form; send no data", k).WithExtension("field", k)
		}
		return apperr.BadInput("data.%s is no field of this step's form; its fields are %s", k, strings.Join(known, ", ")).WithExtension("field", k)
	}
	for _, fe := range step.FormElements {
		v, ok := data[fe.ElementID]
		if !ok || v == nil || v == "" {
			if fe.Required {
				return apperr.BadInput("data.%s (%s) is required", fe.ElementID, fe.Label).WithExtension("field", fe.ElementID)
			}
			continue
		}
		if err := checkValue(fe, v); err != nil {
			return apperr.BadInput("data.%s (%s): %v", fe.ElementID, fe.Label, err).WithExtension("field", fe.ElementID)
		}
	}
	if step.Type == StepApproval {
		if _, ok := data[keyApproved].(bool); !ok {
			return apperr.BadInput("data.approved must be true or false for an APPROVAL step")
		}
		if c, ok := data[keyComment]; ok && c != nil {
			s, isText := c.(string)
			if !isText || len(s) > maxComment {
				return apperr.BadInput("data.comment must be a text of at most %d characters", maxComment)
			}
		}
	}
	return nil
}

// checkValue checks one value against its element.
func checkValue(fe FormElement, v any) error {
	options := slices.DeleteFunc(slices.Clone(fe.OptionStrs), func(s string) bool { return s == "" })
	oneOf := func(s string) error {
		if len(options) > 0 && !slices.Contains(options, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(options, ", "))
		}
		return nil
	}
	switch kindOf(fe.ElementType) {
	case kindNumber:
		switch n := v.(type) {
		case float64, int, int64:
			return nil
		case json.Number: // how the Map scalar decodes numbers
			if f, err := n.Float64(); err == nil && !math.IsInf(f, 0) {
				return nil
			}
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return nil
			}
		}
		return fmt.Errorf("%v is no number", v)
	case kindDate:
		s, _ := v.(string)
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return nil
		}
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			return nil
		}
		return fmt.Errorf("%v is no date (2026-12-06) or time (2026-12-06T09:30:00Z)", v)
	case kindMany:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("give a list of the chosen options")
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("%v is no text", x)
			}
			if err := oneOf(s); err != nil {
				return err
			}
		}
		return nil
	default:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v is no text", v)
		}
		return oneOf(s)
	}
}

// TaskForm returns the step of its express process a task is, with its form; nil for a
// task of no express process. The caller has read the task under the viewer's rules.
func (e *Engine) TaskForm(ctx context.Context, t *ent.Task) (*TaskDefinition, error) {
	c := ent.FromContext(ctx) // inside a mutation: what it wrote is not committed yet
	if c == nil {
		c = e.client
	}
	cs, err := c.BusinessCase.Get(policy.Elevate(ctx, policy.ReadBack), t.CaseID)
	if err != nil {
		return nil, fmt.Errorf("case of task %d: %w", t.ID, err)
	}
	step, def, err := stepOf(ctx, c, cs, t)
	if err != nil || def == nil {
		return nil, err
	}
	return &step, nil
}

// ProcessSteps returns the steps of an express process (none for other processes). The
// caller has read the process under the viewer's rules.
func ProcessSteps(p *ent.Process) ([]TaskDefinition, error) {
	if p.Kind != process.KindEXPRESS_PROCESS || len(p.Definition) == 0 {
		return []TaskDefinition{}, nil
	}
	def, err := definition(p)
	if err != nil {
		return nil, err
	}
	return def.TaskDefinitions, nil
}

// recordDecision writes an APPROVAL step's decision into the case history: an APPROVED
// or REJECTED event with the comment, and a note by the approver that says it in words.
func recordDecision(ctx context.Context, c *ent.Client, a actor, t *ent.Task, data map[string]any) error {
	approved, _ := data[keyApproved].(bool)
	comment, _ := data[keyComment].(string)
	comment = strings.TrimSpace(comment)
	kind, text := "REJECTED", "Rejected."
	if approved {
		kind, text = "APPROVED", "Approved."
	}
	details := map[string]any{keyApproved: approved}
	if comment != "" {
		details[keyComment] = comment
		text += " " + comment
	}
	if err := event(ctx, c, a.userID, t, kind, t.State, task.StateDONE, details); err != nil {
		return err
	}
	if err := c.Note.Create().SetContent(text).SetAuthorID(a.userID).SetTaskID(t.ID).SetCaseID(t.CaseID).Exec(ctx); err != nil {
		return fmt.Errorf("decision note on task %d: %w", t.ID, err)
	}
	return nil
}
