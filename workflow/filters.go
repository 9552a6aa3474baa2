package workflow

import (
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/policy"
)

// The task and case list filters beyond ent's generated ones. Every filter is a SQL
// predicate, so it combines with visibility in the one query.

// TaskInBusinessStates matches tasks in any of the business states.
func TaskInBusinessStates(bs []policy.BusinessState) predicate.Task {
	var states []task.State
	for _, b := range bs {
		states = append(states, policy.TaskStatesOf(b)...)
	}
	return task.StateIn(states...)
}

// TaskAssignedTo matches tasks whose (current) responsibles include any of the users or roles.
func TaskAssignedTo(userIDs, roleIDs []int) predicate.Task {
	return task.HasResponsiblesWith(currentResponsible(userIDs, roleIDs))
}

// currentResponsible matches the current (not expiry) responsible rows naming any of the
// users or roles.
func currentResponsible(userIDs, roleIDs []int) predicate.TaskResponsible {
	return taskresponsible.And(taskresponsible.Expiry(false),
		taskresponsible.Or(taskresponsible.UserIDIn(userIDs...), taskresponsible.RoleIDIn(roleIDs...)))
}

// TaskText matches tasks whose name or description contains text, ignoring case.
func TaskText(text string) predicate.Task {
	return task.Or(task.NameContainsFold(text), task.DescriptionContainsFold(text))
}

// TaskCustomField matches tasks whose custom field name equals value.
func TaskCustomField(name, value string) predicate.Task {
	return func(s *sql.Selector) {
		s.Where(sqljson.ValueEQ(task.FieldCustomFields, value, sqljson.Path(name)))
	}
}

// CaseInBusinessStates matches cases in any of the business states.
func CaseInBusinessStates(bs []string) predicate.BusinessCase {
	var states []businesscase.State
	for _, b := range bs {
		states = append(states, policy.CaseStatesOf(b)...)
	}
	return businesscase.StateIn(states...)
}

// CaseText matches cases whose name or description contains text, ignoring case.
func CaseText(text string) predicate.BusinessCase {
	return businesscase.Or(businesscase.NameContainsFold(text), businesscase.DescriptionContainsFold(text))
}
