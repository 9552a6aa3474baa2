package workflow

import (
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
)

// The list filters users supply live in package filter; this is the assignment
// predicate it and the notifications share.

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
