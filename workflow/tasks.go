package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// transition is what an action does to a task's state and worker.
type transition struct {
	action policy.TaskAction
	event  string
	to     task.State
	worker workerChange
	note   string // system note, with %s for the user name; "" for none
}

// workerChange says what a transition does to the task's worker.
type workerChange int

const (
	keepWorker workerChange = iota
	viewerWorks
	clearWorker
)

var (
	startT   = transition{policy.TaskStart, policy.EventStarted, task.StateRESUMED, viewerWorks, ""}
	reserveT = transition{policy.TaskReserve, "RESERVED", task.StatePARKED, viewerWorks, ""}
	resetT   = transition{policy.TaskResetAction, "RESET", task.StateSUSPENDED, clearWorker, "Task reset by %s."}
	destroyT = transition{policy.TaskDestroyAction, "DESTROYED", task.StateDESTROYED, keepWorker, "Task destroyed by %s."}
)

// Start starts (or resumes) work on a task: the viewer becomes its worker.
func (e *Engine) Start(ctx context.Context, id int) (*ent.Task, error) {
	return e.move(ctx, id, startT)
}

// Reserve parks a task for the viewer.
func (e *Engine) Reserve(ctx context.Context, id int) (*ent.Task, error) {
	return e.move(ctx, id, reserveT)
}

// Reset returns a task to SUSPENDED with no worker.
func (e *Engine) Reset(ctx context.Context, id int) (*ent.Task, error) {
	return e.move(ctx, id, resetT)
}

// Destroy destroys a task.
func (e *Engine) Destroy(ctx context.Context, id int) (*ent.Task, error) {
	return e.move(ctx, id, destroyT)
}

// move applies a state transition after the policy's check, with optimistic
// concurrency: the update only matches while the task is still in the state it was read in.
func (e *Engine) move(ctx context.Context, id int, tr transition) (*ent.Task, error) {
	var out *ent.Task
	err := e.onTask(ctx, id, tr.action, func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		next := tr.to
		upd := c.Task.Update().Where(task.ID(t.ID), task.StateEQ(t.State)).SetState(next)
		switch tr.worker {
		case viewerWorks:
			upd.SetWorkerID(a.userID)
		case clearWorker:
			upd.ClearWorkerID()
		}
		now := e.now()
		if next == task.StateRESUMED && t.StartedAt == nil {
			upd.SetStartedAt(now)
		}
		if next == task.StateDESTROYED || next == task.StateDONE {
			upd.SetEndedAt(now)
		}
		n, err := upd.Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("%s task %d: %w", tr.event, t.ID, err)
		}
		if n == 0 {
			return nil, nil, apperr.Conflict("task %d changed while you acted on it; reload it and try again", t.ID)
		}
		if err := event(ctx, c, a.userID, t, tr.event, t.State, next, nil); err != nil {
			return nil, nil, err
		}
		if tr.note != "" {
			if err := systemNote(ctx, c, t, tr.note, userName(ctx)); err != nil {
				return nil, nil, err
			}
		}
		if next == task.StateDESTROYED {
			if err := e.endIdleCase(ctx, c, t.CaseID, now); err != nil {
				return nil, nil, err
			}
		}
		// Read back under the system context: the viewer may no longer see the task.
		out, err = c.Task.Get(policy.Elevate(ctx, policy.ReadBack), t.ID)
		return []int{t.ID}, []int{t.CaseID}, err
	})
	return out, err
}

// maxComment bounds a delegation's comment (it goes into the case history).
const maxComment = 2000

// Delegate replaces a task's responsibles with the given users and roles, with an
// optional comment for the case history. Delegating an open task to the responsibles it
// has already changes nothing: no event, note or notification.
func (e *Engine) Delegate(ctx context.Context, id int, userIDs, roleIDs []int, comment string) (*ent.Task, error) {
	if len(userIDs)+len(roleIDs) == 0 {
		return nil, apperr.BadInput("give at least one user or role to delegate to")
	}
	comment = strings.TrimSpace(comment)
	if n := utf8.RuneCountInString(comment); n > maxComment {
		return nil, apperr.BadInput("the comment has %d characters; at most %d are allowed", n, maxComment)
	}
	var out *ent.Task
	err := e.onTask(ctx, id, policy.TaskDelegate, func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		same, err := sameResponsibles(ctx, c, t.ID, userIDs, roleIDs)
		if err != nil {
			return nil, nil, err
		}
		if same && t.State != task.StatePARKED {
			out = t
			return nil, nil, nil
		}
		names, err := setResponsibles(ctx, c, t.ID, false, userIDs, roleIDs)
		if err != nil {
			return nil, nil, err
		}
		// A parked task was reserved for its worker; delegation hands it on open.
		next := t.State
		upd := c.Task.UpdateOneID(t.ID)
		if t.State == task.StatePARKED {
			next = task.StateSUSPENDED
			upd.SetState(next).ClearWorkerID()
		}
		if err := upd.Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("delegate task %d: %w", t.ID, err)
		}
		details := map[string]any{"to": names}
		note := fmt.Sprintf("Task delegated by %s to %s.", userName(ctx), strings.Join(names, ", "))
		if comment != "" {
			details["comment"] = comment
			note += " Comment: " + comment
		}
		if err := event(ctx, c, a.userID, t, "DELEGATED", t.State, next, details); err != nil {
			return nil, nil, err
		}
		if err := systemNote(ctx, c, t, "%s", note); err != nil {
			return nil, nil, err
		}
		e.afterAssign(ctx, AssignedDelegated, t.ID)
		out, err = c.Task.Get(policy.Elevate(ctx, policy.ReadBack), t.ID)
		return []int{t.ID}, []int{t.CaseID}, err
	})
	return out, err
}

// sameResponsibles reports whether a task's current (not expiry) responsibles are
// exactly the given users and roles.
func sameResponsibles(ctx context.Context, c *ent.Client, taskID int, userIDs, roleIDs []int) (bool, error) {
	rs, err := c.TaskResponsible.Query().Where(taskresponsible.TaskID(taskID), taskresponsible.Expiry(false)).All(ctx)
	if err != nil {
		return false, fmt.Errorf("responsibles of task %d: %w", taskID, err)
	}
	var users, roles []int
	for _, r := range rs {
		switch {
		case r.UserID != nil:
			users = append(users, *r.UserID)
		case r.RoleID != nil:
			roles = append(roles, *r.RoleID)
		}
	}
	return slices.Equal(uniq(users), uniq(userIDs)) && slices.Equal(uniq(roles), uniq(roleIDs)), nil
}

// endIdleCase ends a running case that a destroyed task left with nothing to do: no
// task but DONE or DESTROYED ones (a FAILED task can still be reset). It is DONE when
// one of its tasks was done, else DESTROYED; a case left RUNNING with no task would
// stay in every open list forever.
func (e *Engine) endIdleCase(ctx context.Context, c *ent.Client, caseID int, now time.Time) error {
	sys := policy.Elevate(ctx, policy.ReadBack)
	open, err := c.Task.Query().Where(task.CaseID(caseID), task.StateNotIn(task.StateDONE, task.StateDESTROYED)).Exist(sys)
	if err != nil || open {
		return err
	}
	done, err := c.Task.Query().Where(task.CaseID(caseID), task.StateEQ(task.StateDONE)).Exist(sys)
	if err != nil {
		return err
	}
	end := businesscase.StateDESTROYED
	if done {
		end = businesscase.StateDONE
	}
	_, err = c.BusinessCase.Update().Where(businesscase.ID(caseID), businesscase.StateIn(businesscase.StateCREATED, businesscase.StateRUNNING)).
		SetState(end).SetEndedAt(now).Save(sys)
	if err != nil {
		return fmt.Errorf("end case %d: %w", caseID, err)
	}
	return nil
}

// setResponsibles replaces the (expiry) responsibles of a task and returns their names.
func setResponsibles(ctx context.Context, c *ent.Client, taskID int, expiry bool, userIDs, roleIDs []int) ([]string, error) {
	var users []*ent.User
	var roles []*ent.Role
	var err error
	if len(userIDs) > 0 { // an empty IN list would still cost a round trip
		if users, err = c.User.Query().Where(user.IDIn(userIDs...)).All(ctx); err != nil {
			return nil, err
		}
	}
	if len(roleIDs) > 0 {
		if roles, err = c.Role.Query().Where(role.IDIn(roleIDs...)).All(ctx); err != nil {
			return nil, err
		}
	}
	if len(users) != len(uniq(userIDs)) || len(roles) != len(uniq(roleIDs)) {
		return nil, apperr.BadInput("some of userIds/roleIds do not exist")
	}
	if _, err := c.TaskResponsible.Delete().Where(taskresponsible.TaskID(taskID), taskresponsible.Expiry(expiry)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("clear responsibles of task %d: %w", taskID, err)
	}
	var names []string
	bulk := make([]*ent.TaskResponsibleCreate, 0, len(users)+len(roles))
	for _, u := range users {
		bulk = append(bulk, c.TaskResponsible.Create().SetTaskID(taskID).SetUserID(u.ID).SetExpiry(expiry))
		names = append(names, "#"+u.Name)
	}
	for _, r := range roles {
		bulk = append(bulk, c.TaskResponsible.Create().SetTaskID(taskID).SetRoleID(r.ID).SetExpiry(expiry))
		names = append(names, r.Name)
	}
	if err := c.TaskResponsible.CreateBulk(bulk...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("set responsibles of task %d: %w", taskID, err)
	}
	return names, nil
}

// TaskChanges are the fields updateTask may change; nil means unchanged.
type TaskChanges struct {
	Name, Description  *string
	Priority           *task.Priority
	ExpiryTimestamp    *time.Time
	DelayTimestamp     *time.Time
	ExpiryPriority     *task.ExpiryPriority
	ExpiryUserIDs      []int
	ExpiryRoleIDs      []int
	SetExpiryActivator bool
}

// Update changes task fields; each changed field is checked against its own permission
// and the state table, and recorded as an event.
func (e *Engine) Update(ctx context.Context, id int, ch TaskChanges) (*ent.Task, error) {
	var out *ent.Task
	err := e.onTask(ctx, id, "", func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		upd := c.Task.UpdateOneID(t.ID)
		changed := map[string]any{}
		steps := []struct {
			set   bool
			act   policy.TaskAction
			field string
			v     any
			apply func()
		}{
			{ch.Name != nil, policy.TaskChangeName, "name", ch.Name, func() { upd.SetName(*ch.Name) }},
			{ch.Description != nil, policy.TaskChangeDescription, "description", ch.Description, func() { upd.SetDescription(*ch.Description) }},
			{ch.Priority != nil, policy.TaskChangePriority, "priority", ch.Priority, func() { upd.SetPriority(*ch.Priority) }},
			{ch.ExpiryTimestamp != nil, policy.TaskChangeDeadline, "expiryTimestamp", ch.ExpiryTimestamp, func() { upd.SetExpiryTimestamp(ch.ExpiryTimestamp.UTC()).SetExpiryWarned(false) }},
			{ch.DelayTimestamp != nil, policy.TaskChangeDelay, "delayTimestamp", ch.DelayTimestamp, func() { upd.SetDelayTimestamp(ch.DelayTimestamp.UTC()) }},
			{ch.ExpiryPriority != nil || ch.SetExpiryActivator, policy.TaskChangeExpiryActivator, "expiryActivator", nil, func() { upd.SetNillableExpiryPriority(ch.ExpiryPriority) }},
		}
		for _, s := range steps {
			if !s.set {
				continue
			}
			if err := policy.CheckTask(a.sub, s.act, f); err != nil {
				return nil, nil, err
			}
			changed[s.field] = s.v
			s.apply()
		}
		if len(changed) == 0 {
			return nil, nil, apperr.BadInput("nothing to change: give at least one field")
		}
		if ch.SetExpiryActivator {
			if _, err := setResponsibles(ctx, c, t.ID, true, ch.ExpiryUserIDs, ch.ExpiryRoleIDs); err != nil {
				return nil, nil, err
			}
		}
		if err := upd.Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("update task %d: %w", t.ID, err)
		}
		if err := event(ctx, c, a.userID, t, "CHANGED", t.State, t.State, changed); err != nil {
			return nil, nil, err
		}
		var err error
		out, err = c.Task.Get(policy.Elevate(ctx, policy.ReadBack), t.ID)
		return []int{t.ID}, []int{t.CaseID}, err
	})
	return out, err
}

// AddNote adds the viewer's note to a task (it shows in the case history too).
func (e *Engine) AddNote(ctx context.Context, taskID int, content string) (*ent.Note, error) {
	if strings.TrimSpace(content) == "" {
		return nil, apperr.BadInput("the note is empty")
	}
	var out *ent.Note
	err := e.onTask(ctx, taskID, policy.TaskAddNote, func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		var err error
		out, err = c.Note.Create().SetContent(content).SetAuthorID(a.userID).SetTaskID(t.ID).SetCaseID(t.CaseID).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("add note to task %d: %w", t.ID, err)
		}
		return []int{t.ID}, nil, event(ctx, c, a.userID, t, "NOTE_ADDED", t.State, t.State, nil)
	})
	return out, err
}

// uniq returns the distinct ids, sorted.
func uniq(ids []int) []int {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
