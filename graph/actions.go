package graph

import (
	"context"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/workflow"
)

// notesWindow applies the viewer's TaskCaseShowMoreNote to a page of notes.
func notesWindow(ctx context.Context, p *policy.Policy, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*int, error) {
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	return policy.NotesWindow(s, after != nil || before != nil || last != nil, first)
}

// actionStates turns the policy's action states into the schema's type of them.
func actionStates[T any](states []policy.ActionState, newT func(a string, allowed, shown bool, reason *string) T) []T {
	out := make([]T, len(states))
	for i, s := range states {
		var reason *string
		if s.Reason != "" {
			reason = &s.Reason
		}
		out[i] = newT(s.Action, s.Allowed, s.Shown, reason)
	}
	return out
}

func taskActionState(a string, allowed, shown bool, reason *string) *model.TaskActionState {
	return &model.TaskActionState{Action: model.TaskAction(a), Allowed: allowed, Shown: shown, Reason: reason}
}

func caseActionState(a string, allowed, shown bool, reason *string) *model.CaseActionState {
	return &model.CaseActionState{Action: model.CaseAction(a), Allowed: allowed, Shown: shown, Reason: reason}
}

// customFields returns a task's or case's custom fields when the viewer may read them.
func customFields(ctx context.Context, p *policy.Policy, ofCases bool, fields map[string]any) (map[string]any, error) {
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !policy.CustomFieldsShown(s, ofCases) {
		return nil, nil
	}
	return fields, nil
}

// stepViews fills the lists a stored definition may lack, which the schema says are
// never null.
func stepViews(steps []workflow.TaskDefinition) []*workflow.TaskDefinition {
	out := make([]*workflow.TaskDefinition, len(steps))
	for i, st := range steps {
		st.Responsibles = nonNil(st.Responsibles)
		if st.FormElements == nil {
			st.FormElements = []workflow.FormElement{}
		}
		for j := range st.FormElements {
			st.FormElements[j].OptionStrs = nonNil(st.FormElements[j].OptionStrs)
		}
		out[i] = &st
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
