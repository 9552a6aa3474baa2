// Package workflow is the engine behind tasks and cases: what every action does to a
// task or case, the express-process runner, notes and workflow events. Permissions and
// states are decided by the policy's one table; this package applies the effects.
package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/policy"
)

// Engine runs task and case actions.
type Engine struct {
	client  *ent.Client
	dialect string
	policy  *policy.Policy
	log     *slog.Logger
	now     func() time.Time
	// Mailer, when set, sends EMAIL steps; without it they are logged.
	Mailer interface {
		Send(ctx context.Context, to []string, replyTo, subject, html string) error
	}
	// Changed, when set, is told once after each commit which tasks and cases the write
	// touched, which of them it created and which tasks it assigned.
	Changed func(ctx context.Context, c Change)
	timers  timerCounts
}

// New returns the engine over a database of the given ent dialect.
func New(client *ent.Client, dialect string, p *policy.Policy, log *slog.Logger) *Engine {
	e := &Engine{client: client, dialect: dialect, policy: p, log: log, now: func() time.Time { return time.Now().UTC() }}
	return e
}

// actor is the viewer doing an action, with its subject.
type actor struct {
	userID int
	sub    *policy.Subject
}

func (e *Engine) actor(ctx context.Context) (actor, error) {
	s, err := e.policy.SubjectFrom(ctx)
	if err != nil {
		return actor{}, err
	}
	return actor{userID: s.UserID, sub: s}, nil
}

// Change is what a committed write touched: tasks and cases, which of them it created
// (the others changed), and the tasks it assigned.
type Change struct {
	Tasks, Cases, Created []int
	Assigned              []Assignment
}

// Assignment is tasks that got new responsibles: newly assigned (kind ASSIGNED: created,
// or moved on expiry), delegated (DELEGATED) or about to expire (EXPIRING).
type Assignment struct {
	Kind  string
	Tasks []int
}

// write runs fn in the request's transaction and reports, once after commit, what it
// touched and assigned: one Change per commit, so one event.
func (e *Engine) write(ctx context.Context, fn func(ctx context.Context, c *ent.Client) (taskIDs, caseIDs []int, err error)) error {
	return database.InTx(ctx, e.client, func(ctx context.Context, tx *ent.Tx) error {
		ctx, rec := withWriteRecord(ctx)
		tids, cids, err := fn(ctx, tx.Client())
		if err != nil {
			return err
		}
		if e.Changed == nil {
			return nil
		}
		if c := rec.change(tids, cids); len(c.Tasks) > 0 || len(c.Cases) > 0 || len(c.Assigned) > 0 {
			database.AfterCommit(tx, func() { e.Changed(ctx, c) })
		}
		return nil
	})
}

// Assignment kinds reported through Engine.Assigned.
const (
	AssignedNew       = "ASSIGNED"
	AssignedDelegated = "DELEGATED"
	AssignedExpiring  = "EXPIRING" // about to expire (WarnBefore)
)

// afterAssign records that a task got new responsibles, for the write's Change.
func (e *Engine) afterAssign(ctx context.Context, kind string, taskID int) {
	if r := recordOf(ctx); r != nil {
		r.assign(kind, taskID)
		return
	}
	// Every assignment runs inside write; one that does not is a bug to see, not to drop.
	e.log.Error("workflow: an assignment outside a write goes unreported", "task", taskID, "kind", kind)
}

// onTask runs body, in the request's transaction, on a task the viewer can see and may
// do act to (act "" leaves the checks to body, which gets the facts).
func (e *Engine) onTask(ctx context.Context, id int, act policy.TaskAction,
	body func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) (taskIDs, caseIDs []int, err error)) error {
	a, err := e.actor(ctx)
	if err != nil {
		return err
	}
	return e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		t, f, err := e.visibleTask(ctx, c, a, id)
		if err != nil {
			return nil, nil, err
		}
		if act != "" {
			if err := policy.CheckTask(a.sub, act, f); err != nil {
				return nil, nil, err
			}
		}
		return body(ctx, c, a, t, f)
	})
}

// visibleTask loads a task the viewer can see (the visibility interceptor applies), with
// the facts the action table needs.
func (e *Engine) visibleTask(ctx context.Context, c *ent.Client, a actor, id int) (*ent.Task, policy.TaskFacts, error) {
	t, err := c.Task.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, policy.TaskFacts{}, apperr.NotFound("no task with id %d (or you may not see it)", id)
	}
	if err != nil {
		return nil, policy.TaskFacts{}, fmt.Errorf("load task %d: %w", id, err)
	}
	f, err := e.facts(ctx, c, a, t)
	return t, f, err
}

// facts computes what the viewer is to the task.
func (e *Engine) facts(ctx context.Context, c *ent.Client, a actor, t *ent.Task) (policy.TaskFacts, error) {
	mine, err := e.mine(ctx, c, a, []int{t.ID})
	if err != nil {
		return policy.TaskFacts{}, err
	}
	owned, err := e.owned(ctx, c, a, []int{t.CaseID})
	if err != nil {
		return policy.TaskFacts{}, err
	}
	return taskFacts(a, t, mine[t.ID], owned[t.CaseID]), nil
}

func taskFacts(a actor, t *ent.Task, mine, caseOwner bool) policy.TaskFacts {
	f := policy.TaskFacts{State: t.State, Working: t.WorkerID != nil && *t.WorkerID == a.userID, Mine: mine, CaseOwner: caseOwner}
	f.Taken = t.WorkerID != nil && !f.Working
	return f
}

// mine returns which of the tasks the viewer may work: a current responsible is the
// viewer, one of its roles, or someone it substitutes. One query for any number of tasks.
func (e *Engine) mine(ctx context.Context, c *ent.Client, a actor, taskIDs []int) (map[int]bool, error) {
	users, roles := a.sub.WorkAs(auth.FromContext(ctx))
	ids, err := c.TaskResponsible.Query().Where(
		taskresponsible.TaskIDIn(taskIDs...), currentResponsible(users, roles),
	).Unique(true).Select(taskresponsible.FieldTaskID).Ints(ctx)
	if err != nil {
		return nil, fmt.Errorf("responsibles of tasks: %w", err)
	}
	out := make(map[int]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// owned returns which of the cases the viewer owns. One query for any number of cases.
func (e *Engine) owned(ctx context.Context, c *ent.Client, a actor, caseIDs []int) (map[int]bool, error) {
	ids, err := c.BusinessCase.Query().Where(businesscase.IDIn(caseIDs...), businesscase.OwnerID(a.userID)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("owners of cases: %w", err)
	}
	out := make(map[int]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// TaskFacts returns, for allowedActions, the viewer's subject and the facts of each task,
// with one query for all of them.
func (e *Engine) TaskFacts(ctx context.Context, tasks []*ent.Task) (*policy.Subject, []policy.TaskFacts, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Inside a mutation, read through its transaction: what it wrote is not committed yet.
	c := ent.FromContext(ctx)
	if c == nil {
		c = e.client
	}
	ids := make([]int, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	mine, err := e.mine(ctx, c, a, ids)
	if err != nil {
		return nil, nil, err
	}
	caseIDs := make([]int, len(tasks))
	for i, t := range tasks {
		caseIDs[i] = t.CaseID
	}
	owned, err := e.owned(ctx, c, a, uniq(caseIDs))
	if err != nil {
		return nil, nil, err
	}
	out := make([]policy.TaskFacts, len(tasks))
	for i, t := range tasks {
		out[i] = taskFacts(a, t, mine[t.ID], owned[t.CaseID])
	}
	return a.sub, out, nil
}

// event records a workflow event on a task (and its case).
func event(ctx context.Context, c *ent.Client, userID int, t *ent.Task, kind string, before, after task.State, details map[string]any) error {
	q := c.WorkflowEvent.Create().SetKind(kind).SetTaskID(t.ID).SetCaseID(t.CaseID).
		SetStateBefore(string(before)).SetStateAfter(string(after)).SetDetails(details)
	if userID != 0 {
		q.SetUserID(userID)
	}
	if err := q.Exec(ctx); err != nil {
		return fmt.Errorf("record %s event on task %d: %w", kind, t.ID, err)
	}
	return nil
}

// systemNote writes a note by the server, visible only with NoteReadAllCaseTaskDetails.
func systemNote(ctx context.Context, c *ent.Client, t *ent.Task, format string, args ...any) error {
	err := c.Note.Create().SetSystem(true).SetTaskID(t.ID).SetCaseID(t.CaseID).
		SetContent(fmt.Sprintf(format, args...)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("system note on task %d: %w", t.ID, err)
	}
	return nil
}

// userName names the viewer in system notes.
func userName(ctx context.Context) string {
	if v := auth.FromContext(ctx); v != nil {
		return v.Name
	}
	return "the system"
}
