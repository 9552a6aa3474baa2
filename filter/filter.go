// Package filter compiles every filter a user supplies into parameterized ent predicates:
// the custom parts of the task and case list where inputs (GraphQL lists, statistic
// charts, taskUpdated subscriptions), the same inputs given as JSON to the xlsx export
// (DecodeTaskList, DecodeCaseList), the custom-field conditions of dashboard widgets and
// the customFieldFilters of statistic charts. GraphQL only decodes its inputs into the
// types here and calls these functions.
//
// No request string becomes SQL text. Values are bound parameters, and so are the names
// of custom fields: a name is first checked against NamePattern (ValidateName), then
// passed as a bound JSON key (PostgreSQL: custom_fields ->> $n) or a bound JSON path
// (SQLite: json_extract(custom_fields, ?) with the path $."name"), see jsonpath.go.
package filter

import (
	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/customfield"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/workflow"
)

// NamePattern is what a custom-field name must match, wherever one enters a filter;
// the rule lives in package customfield (see there).
const NamePattern = customfield.NamePattern

// ValidateName refuses a custom-field name that does not match NamePattern, with a
// BAD_USER_INPUT error naming the pattern (customfield.ValidateName).
func ValidateName(name string) error { return customfield.ValidateName(name) }

// truncate keeps an error message short when the name is huge.
func truncate(s string) string { return customfield.Truncate(s) }

// CustomField is one condition of a list's customFields: the custom field Name equals
// Equals (no condition when Equals is nil). It is the GraphQL CustomFieldFilter input.
type CustomField struct {
	Name   string  `json:"name"`
	Equals *string `json:"equals"`
}

// The task where input's own parts. Each adds its predicates to w, so they combine with
// ent's generated ones (and, or, not included) in the one query.

// AddTaskBusinessStates keeps the tasks in any of the business states.
func AddTaskBusinessStates(w *ent.TaskWhereInput, bs []policy.BusinessState) error {
	var states []task.State
	for _, b := range bs {
		s := policy.TaskStatesOf(b)
		if len(s) == 0 {
			return apperr.BadInput("%s is not a valid TaskBusinessState", truncate(string(b)))
		}
		states = append(states, s...)
	}
	w.AddPredicates(task.StateIn(states...))
	return nil
}

// AddTaskResponsibleUsers keeps the tasks currently assigned to any of the users.
func AddTaskResponsibleUsers(w *ent.TaskWhereInput, ids []int) {
	w.AddPredicates(workflow.TaskAssignedTo(ids, nil))
}

// AddTaskResponsibleRoles keeps the tasks currently assigned to any of the roles.
func AddTaskResponsibleRoles(w *ent.TaskWhereInput, ids []int) {
	w.AddPredicates(workflow.TaskAssignedTo(nil, ids))
}

// AddTaskText keeps the tasks whose name or description contains text, ignoring case.
func AddTaskText(w *ent.TaskWhereInput, text *string) {
	if text != nil {
		w.AddPredicates(task.Or(task.NameContainsFold(*text), task.DescriptionContainsFold(*text)))
	}
}

// AddTaskCustomFields keeps the tasks whose custom fields match every condition.
func AddTaskCustomFields(w *ent.TaskWhereInput, fs []*CustomField) error {
	ps, err := customFieldsWhere(task.FieldCustomFields, fs)
	for _, p := range ps {
		w.AddPredicates(p)
	}
	return err
}

// customFieldsWhere checks the conditions' names and returns a predicate on the JSON
// column col for each condition with a value.
func customFieldsWhere(col string, fs []*CustomField) ([]func(*sql.Selector), error) {
	var out []func(*sql.Selector)
	for i, f := range fs {
		if f == nil {
			continue
		}
		if err := ValidateName(f.Name); err != nil {
			return nil, apperr.BadInput("customFields[%d].name: %v", i, err)
		}
		if f.Equals != nil {
			out = append(out, Where(Equals(col, f.Name, *f.Equals)))
		}
	}
	return out, nil
}

// AddCaseBusinessStates keeps the cases in any of the business states.
func AddCaseBusinessStates(w *ent.CaseWhereInput, bs []string) error {
	var states []businesscase.State
	for _, b := range bs {
		s := policy.CaseStatesOf(b)
		if len(s) == 0 {
			return apperr.BadInput("%s is not a valid CaseBusinessState", truncate(b))
		}
		states = append(states, s...)
	}
	w.AddPredicates(businesscase.StateIn(states...))
	return nil
}

// AddCaseText keeps the cases whose name or description contains text, ignoring case.
func AddCaseText(w *ent.CaseWhereInput, text *string) {
	if text != nil {
		w.AddPredicates(businesscase.Or(businesscase.NameContainsFold(*text), businesscase.DescriptionContainsFold(*text)))
	}
}

// AddCaseCustomFields keeps the cases whose custom fields match every condition.
func AddCaseCustomFields(w *ent.CaseWhereInput, fs []*CustomField) error {
	ps, err := customFieldsWhere(businesscase.FieldCustomFields, fs)
	for _, p := range ps {
		w.AddPredicates(p)
	}
	return err
}

// CaseCustomFieldsAnyOf is a statistic chart's customFieldFilters: for every field
// name, the case's custom field equals one of the values (a name without values adds
// nothing). It returns nil when nothing is filtered.
func CaseCustomFieldsAnyOf(filters map[string][]string) ([]predicate.BusinessCase, error) {
	var out []predicate.BusinessCase
	for name, values := range filters {
		if err := ValidateName(name); err != nil {
			return nil, apperr.BadInput("customFieldFilters: %v", err)
		}
		var anyOf []predicate.BusinessCase
		for _, v := range values {
			anyOf = append(anyOf, predicate.BusinessCase(Where(Equals(businesscase.FieldCustomFields, name, v))))
		}
		if len(anyOf) > 0 {
			out = append(out, businesscase.Or(anyOf...))
		}
	}
	return out, nil
}
