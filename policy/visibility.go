package policy

import (
	"context"
	"slices"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/processstarter"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/listindex"
)

// SystemContext marks work done by the server itself; see auth.SystemContext.
func SystemContext(ctx context.Context) context.Context { return auth.SystemContext(ctx) }

func isSystem(ctx context.Context) bool { return auth.IsSystem(ctx) }

// IsSystem reports whether ctx is a SystemContext.
func IsSystem(ctx context.Context) bool { return auth.IsSystem(ctx) }

// SubjectFrom returns the subject of the request's viewer, or an UNAUTHENTICATED error.
func (p *Policy) SubjectFrom(ctx context.Context) (*Subject, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		if err := auth.TokenError(ctx); err != nil {
			return nil, err
		}
		return nil, apperr.Unauthenticated()
	}
	return p.Subject(v.UserID)
}

// Require returns a FORBIDDEN error unless the viewer holds the permission. Work in a
// SystemContext (the command line, timers) is the server itself and needs none; it gets
// a nil subject.
func (p *Policy) Require(ctx context.Context, perm Permission) (*Subject, error) {
	if isSystem(ctx) {
		return nil, nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !s.Has(perm) {
		return nil, apperr.Forbidden("this needs the permission %s", perm)
	}
	return s, nil
}

// WorkAs returns the users and roles whose tasks the subject works: itself and its
// roles, plus whom the viewer substitutes right now.
func (s *Subject) WorkAs(v *auth.Viewer) (users, roles []int) {
	users, roles = []int{s.UserID}, s.RoleIDs
	if v != nil && v.UserID == s.UserID {
		users = append(users, v.SubstituteFor...)
		roles = append(slices.Clip(roles), v.SubstituteRoles...)
	}
	return users, roles
}

// taskSources says where a subject's visible tasks come from. It is the one statement
// of the task visibility rule; the predicate of every task query and the lists' rows in
// the list index (rows, tasklist.go) are built from it.
type taskSources struct {
	all    bool  // TaskReadAll: every task
	system bool  // SystemTaskReadAll: system tasks too
	users  []int // responsible users: the subject and whom the viewer substitutes
	roles  []int // responsible roles: the subject's and the substituted users' roles
	worker int   // the subject: tasks it works or worked on
	cases  bool  // TaskReadOwnCaseTasks: tasks of the cases it is involved in
	hidden bool  // PortalHiddenTaskCaseExcluded: none of the hidden tasks
}

// taskSources returns where the subject's visible tasks come from:
//   - with TaskReadAll, every task (system tasks only with SystemTaskReadAll);
//   - tasks whose responsibles include the user, one of its roles, or whom it
//     substitutes, unless DELAYED (hidden from responsibles until due);
//   - tasks it works or worked on;
//   - with TaskReadOwnCaseTasks, the tasks of cases it is involved in;
//
// and, while PortalHiddenTaskCaseExcluded is on, none of the hidden tasks (the seed's
// HIDE property), whatever the source: out of every list, count, search, chart, export
// and live feed, and of reads by id (only setHidden reads them, to unhide).
func (s *Subject) taskSources(v *auth.Viewer) taskSources {
	users, roles := s.WorkAs(v)
	return taskSources{all: s.Has(TaskReadAll), system: s.Has(SystemTaskReadAll),
		users: users, roles: roles, worker: s.UserID, cases: s.Has(TaskReadOwnCaseTasks),
		hidden: s.hidesHidden(v)}
}

// TaskVisible is the predicate of the tasks a subject may see (see taskSources).
// Without TaskReadAll it is one `tasks.id IN (… UNION ALL …)` over index lookups: the
// responsible branches read only task_responsibles (which copies each task's DELAYED
// state and system flag), so counting a user's tasks never scans the tasks table.
func (s *Subject) TaskVisible(v *auth.Viewer) predicate.Task {
	src := s.taskSources(v)
	var vis predicate.Task
	switch {
	case src.all && src.system:
		vis = func(*sql.Selector) {}
	case src.all:
		vis = task.System(false)
	default:
		vis = func(sel *sql.Selector) {
			sel.Where(sql.In(sel.C(task.FieldID), s.visibleTaskIDs(src)))
		}
	}
	if src.hidden {
		return task.And(vis, task.Hidden(false))
	}
	return vis
}

// visibleTaskIDs selects the ids of the tasks visible through src's responsibles, work
// and cases (not src.all), as a UNION ALL: a task may come more than once.
func (s *Subject) visibleTaskIDs(src taskSources) *sql.Selector {
	union := src.responsible(taskresponsible.FieldRoleID, src.roles).
		UnionAll(src.responsible(taskresponsible.FieldUserID, src.users)).
		UnionAll(src.ownTasks(sql.EQ(task.FieldWorkerID, src.worker)))
	if src.cases {
		union.UnionAll(src.ownTasks(sql.In(task.FieldCaseID, s.involvedCaseIDs())))
	}
	return union
}

// responsible selects the task ids of the responsibles whose col is one of ids.
func (src taskSources) responsible(col string, ids []int) *sql.Selector {
	return sql.Select(taskresponsible.FieldTaskID).From(sql.Table(taskresponsible.Table)).
		Where(src.responsibleWhere(sql.InInts(col, ids...)))
}

// responsibleWhere adds to a condition on task_responsibles what hides a task from its
// responsibles: being an expiry responsible, DELAYED, or a system task.
func (src taskSources) responsibleWhere(cond *sql.Predicate) *sql.Predicate {
	p := sql.And(cond, sql.EQ(taskresponsible.FieldExpiry, false), sql.EQ(taskresponsible.FieldDelayed, false))
	if !src.system {
		p = sql.And(p, sql.EQ(taskresponsible.FieldSystem, false))
	}
	if src.hidden {
		p = sql.And(p, sql.NotIn(taskresponsible.FieldTaskID, hiddenIDs(task.Table)))
	}
	return p
}

// hiddenIDs selects the ids of the hidden rows of table (tasks or cases): few, and found
// by their index on hidden.
func hiddenIDs(table string) *sql.Selector {
	return sql.Select("id").From(sql.Table(table)).Where(sql.EQ("hidden", true))
}

// ownTasks selects the ids of the tasks matching where (system ones only with
// SystemTaskReadAll).
func (src taskSources) ownTasks(where *sql.Predicate) *sql.Selector {
	q := sql.Select(task.FieldID).From(sql.Table(task.Table)).Where(where)
	if !src.system {
		q.Where(sql.EQ(task.FieldSystem, false))
	}
	return q
}

// involvedCaseIDs selects the ids of the cases the subject is involved in, as a UNION
// ALL of three index lookups (an EXISTS with an OR made PostgreSQL read every case).
func (s *Subject) involvedCaseIDs() *sql.Selector {
	created := sql.Select(businesscase.FieldID).From(sql.Table(businesscase.Table)).
		Where(sql.EQ(businesscase.FieldCreatorID, s.UserID))
	owned := sql.Select(businesscase.FieldID).From(sql.Table(businesscase.Table)).
		Where(sql.EQ(businesscase.FieldOwnerID, s.UserID))
	working := sql.Select(task.FieldCaseID).From(sql.Table(task.Table)).
		Where(sql.EQ(task.FieldWorkerID, s.UserID))
	// Worked on: started one of its tasks at some time (the worker is cleared by a reset).
	worked := sql.Select(workflowevent.FieldCaseID).From(sql.Table(workflowevent.Table)).
		Where(sql.And(sql.EQ(workflowevent.FieldUserID, s.UserID), sql.EQ(workflowevent.FieldKind, EventStarted)))
	return created.UnionAll(owned).UnionAll(working).UnionAll(worked)
}

// Involved is the predicate of cases the subject is involved in: created, owns, or
// works or worked on one of its tasks.
func (s *Subject) Involved() predicate.BusinessCase { return s.involved() }

// involved is the predicate of cases the subject is involved in: created, owns, or
// works or worked on one of its tasks.
func (s *Subject) involved() predicate.BusinessCase {
	return func(sel *sql.Selector) {
		sel.Where(sql.In(sel.C(businesscase.FieldID), s.involvedCaseIDs()))
	}
}

// CaseVisible is the predicate of the cases a subject may see: every case with
// CaseReadAll, otherwise those it is involved in or has a visible task in.
// While PortalHiddenTaskCaseExcluded is on, hidden cases are out of sight (as hidden
// tasks are, see taskSources).
func (s *Subject) CaseVisible(v *auth.Viewer) predicate.BusinessCase {
	vis := func(*sql.Selector) {}
	if !s.Has(CaseReadAll) {
		vis = businesscase.Or(s.involved(), businesscase.HasTasksWith(s.TaskVisible(v)))
	}
	if s.hidesHidden(v) {
		return businesscase.And(vis, businesscase.Hidden(false))
	}
	return vis
}

// ProcessVisible is the predicate of the processes a subject may see and start: those
// whose starters include the user or one of its roles, those it owns, and all of them
// for an administrator (TaskReadAll and CaseReadAll).
func (s *Subject) ProcessVisible(v *auth.Viewer) predicate.Process {
	if s.Has(TaskReadAll) && s.Has(CaseReadAll) {
		return func(*sql.Selector) {}
	}
	return process.Or(
		process.OwnerID(s.UserID),
		process.HasStartersWith(processstarter.Or(
			processstarter.UserID(s.UserID),
			processstarter.RoleIDIn(s.RoleIDs...),
		)),
	)
}

// NoteVisible is the predicate of the notes a subject may read: those on tasks and cases
// it can see; system notes only with NoteReadAllCaseTaskDetails.
func (s *Subject) NoteVisible(v *auth.Viewer) predicate.Note {
	vis := note.Or(note.HasTaskWith(s.TaskVisible(v)), note.And(note.TaskIDIsNil(), note.HasCaseWith(s.CaseVisible(v))))
	if !s.Has(NoteReadAllCaseTaskDetails) {
		vis = note.And(note.System(false), vis)
	}
	return vis
}

// EventVisible is the predicate of the workflow events a subject may read: none without
// TaskDisplayWorkflowEventAction, else those of tasks and cases it can see.
func (s *Subject) EventVisible(v *auth.Viewer) predicate.WorkflowEvent {
	if !s.Has(TaskDisplayWorkflowEventAction) {
		return workflowevent.IDLT(0)
	}
	return workflowevent.Or(workflowevent.HasTaskWith(s.TaskVisible(v)),
		workflowevent.And(workflowevent.TaskIDIsNil(), workflowevent.HasCaseWith(s.CaseVisible(v))))
}

// rows is taskSources over the list index: the same sources as TaskVisible, read from
// the index's sets instead of SQL (the equivalence tests hold the two together).
func (src taskSources) rows(tv listindex.TaskView, cv listindex.CaseView) *listindex.Set {
	var rows *listindex.Set
	if src.all {
		rows = tv.All()
	} else {
		rows = tv.Responsible(src.roles, src.users)
		rows.Or(tv.WorkedBy(src.worker))
		if src.cases {
			rows.Or(tv.OfCases(cv.Involved(src.worker)))
		}
	}
	if !src.system {
		tv.WithoutSystem(rows)
	}
	if src.hidden {
		tv.WithoutHidden(rows)
	}
	return rows
}

// caseRows is CaseVisible over the list index: every case with CaseReadAll, otherwise
// those the subject is involved in or has a visible task in.
func (s *Subject) caseRows(v *auth.Viewer) func(listindex.TaskView, listindex.CaseView) *listindex.Set {
	all, hidden := s.Has(CaseReadAll), s.hidesHidden(v)
	tasks := s.taskSources(v).rows
	return func(tv listindex.TaskView, cv listindex.CaseView) *listindex.Set {
		var rows *listindex.Set
		if all {
			rows = cv.All()
		} else {
			rows = cv.Involved(s.UserID)
			rows.Or(cv.OfTasks(tasks(tv, cv)))
		}
		if hidden {
			cv.WithoutHidden(rows)
		}
		return rows
	}
}

// The audience of a live event: taskSources and CaseVisible for one row, turned around
// (which viewers a row reaches) by package live's hub. Reach lists what to index a viewer
// under; SeesTask and SeesCase decide. TestAudienceMatchesThePlainQuery (package lists)
// holds them to the SQL predicates for many viewers and rows.

// Reach is what reaches a subject's visible tasks and cases: an index of viewers by it
// finds every viewer a task or case may reach (SeesTask and SeesCase then decide).
type Reach struct {
	AllTasks, AllCases bool
	Users, Roles       []int // responsible users (itself, whom it substitutes) and roles
}

// Reach returns what reaches the subject's tasks and cases, as the viewer v.
func (s *Subject) Reach(v *auth.Viewer) Reach {
	src := s.taskSources(v)
	return Reach{AllTasks: src.all, AllCases: s.Has(CaseReadAll), Users: src.users, Roles: src.roles}
}

// SeesTask reports whether the subject, as the viewer v, may see the task of r: rows
// for one row.
func (s *Subject) SeesTask(v *auth.Viewer, r listindex.TaskReach) bool {
	return s.taskSources(v).reaches(r)
}

func (src taskSources) reaches(r listindex.TaskReach) bool {
	if r.System && !src.system || r.Hidden && src.hidden {
		return false
	}
	return src.all || intersect(src.roles, r.Roles) || intersect(src.users, r.Users) ||
		r.Worker == src.worker || src.cases && slices.Contains(r.Involved, src.worker)
}

// SeesCase reports whether the subject, as the viewer v, may see the case of r:
// caseRows for one case.
func (s *Subject) SeesCase(v *auth.Viewer, r listindex.CaseReach) bool {
	if r.Hidden && s.hidesHidden(v) {
		return false
	}
	if s.Has(CaseReadAll) || slices.Contains(r.Involved, s.UserID) {
		return true
	}
	src := s.taskSources(v)
	return slices.ContainsFunc(r.Tasks, src.reaches)
}

// AssignedTo reports whether the task of r is assigned to the subject, as the viewer v:
// a current (not expiry) responsible is the user, one of its roles, or whom it
// substitutes (workflow.TaskAssignedTo, for one row).
func (s *Subject) AssignedTo(v *auth.Viewer, r listindex.TaskReach) bool {
	users, roles := s.WorkAs(v)
	return slices.ContainsFunc(r.Responsibles, func(rs listindex.Responsible) bool {
		return !rs.Expiry && (rs.UserID != 0 && slices.Contains(users, rs.UserID) || rs.RoleID != 0 && slices.Contains(roles, rs.RoleID))
	})
}

// intersect reports whether a and b share an element; both are short.
func intersect(a, b []int) bool {
	for _, x := range b {
		if slices.Contains(a, x) {
			return true
		}
	}
	return false
}
