package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// The helpers of this file carry an mx prefix: other test files of the package define
// their own (newTask, …).

// mxID is an ID as the API returns it (a quoted integer).
type mxID int

func (id *mxID) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	*id = mxID(n)
	return err
}

// mxEnv is one running server (demo data) with an admin client and an ent client working
// under the system context, shared by the rows of a test.
type mxEnv struct {
	srv   *servertest.Server
	db    *ent.Client
	ctx   context.Context
	admin *servertest.Client
	n     int
}

func mxSetup(t *testing.T, dialect string) *mxEnv {
	t.Helper()
	srv := servertest.Start(t, dialect, portico.Config{Demo: true})
	return &mxEnv{srv: srv, db: srv.DB.Client, ctx: policy.SystemContext(context.Background()),
		admin: srv.Login(t, "admin", "admin")}
}

// mxUser is a logged-in user.
type mxUser struct {
	ID   int
	Name string
	C    *servertest.Client
}

// user creates a fresh user m-<n> through GraphQL as admin, in the given roles (ids; none
// means Everybody), and logs it in.
func (e *mxEnv) user(t *testing.T, roleIDs ...int) mxUser {
	t.Helper()
	e.n++
	name := fmt.Sprintf("m-%d", e.n)
	pw := fmt.Sprintf("pw-%d-secret", e.n) // must not contain the user name (password rules)
	var out struct {
		CreateUser struct{ User struct{ ID mxID } }
	}
	e.admin.MustDo(t, `mutation($n: String!, $p: String!, $r: [ID!]) {
		createUser(input: {name: $n, password: $p, roleIds: $r}) { user { id } } }`,
		map[string]any{"n": name, "p": pw, "r": roleIDs}, &out)
	return mxUser{ID: int(out.CreateUser.User.ID), Name: name, C: e.srv.Login(t, name, pw)}
}

// permit grants and denies permissions to a user (admin's grantPermission and
// denyPermission), in one request.
func (e *mxEnv) permit(t *testing.T, userID int, grant, deny []policy.Permission) {
	t.Helper()
	if len(grant)+len(deny) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("mutation($u: ID!) {\n")
	for i, p := range grant {
		fmt.Fprintf(&b, "  g%d: grantPermission(input: {permission: %q, userId: $u}) { ok }\n", i, p)
	}
	for i, p := range deny {
		fmt.Fprintf(&b, "  d%d: denyPermission(input: {permission: %q, userId: $u}) { ok }\n", i, p)
	}
	b.WriteString("}")
	e.admin.MustDo(t, b.String(), map[string]any{"u": userID}, nil)
}

// role creates a role through GraphQL as admin under parent (0: Everybody).
func (e *mxEnv) role(t *testing.T, name string, parent int) int {
	t.Helper()
	vars := map[string]any{"n": name, "p": nil}
	if parent != 0 {
		vars["p"] = parent
	}
	var out struct {
		CreateRole struct{ Role struct{ ID mxID } }
	}
	e.admin.MustDo(t, `mutation($n: String!, $p: ID) { createRole(input: {name: $n, parentId: $p}) { role { id } } }`, vars, &out)
	return int(out.CreateRole.Role.ID)
}

// mkCase creates a case directly (system context).
func (e *mxEnv) mkCase(t *testing.T, st businesscase.State, set func(*ent.BusinessCaseCreate)) *ent.BusinessCase {
	t.Helper()
	q := e.db.BusinessCase.Create().SetName("matrix case").SetDescription("matrix case description").SetState(st)
	if set != nil {
		set(q)
	}
	cs, err := q.Save(e.ctx)
	if err != nil {
		t.Fatalf("create case: %v", err)
	}
	return cs
}

// mkTask creates a task directly (system context) with the given responsibles.
func (e *mxEnv) mkTask(t *testing.T, caseID int, st task.State, users, roles []int, set func(*ent.TaskCreate)) *ent.Task {
	t.Helper()
	q := e.db.Task.Create().SetName("matrix task").SetDescription("matrix task description").SetCaseID(caseID).SetState(st)
	if set != nil {
		set(q)
	}
	tk, err := q.Save(e.ctx)
	if err != nil {
		t.Fatalf("create task: %v", err)
	}
	for _, u := range users {
		if err := e.db.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(u).Exec(e.ctx); err != nil {
			t.Fatalf("task responsible: %v", err)
		}
	}
	for _, r := range roles {
		if err := e.db.TaskResponsible.Create().SetTaskID(tk.ID).SetRoleID(r).Exec(e.ctx); err != nil {
			t.Fatalf("task responsible: %v", err)
		}
	}
	return tk
}

func mxTime(p *time.Time) string {
	if p == nil {
		return ""
	}
	return p.UTC().Format(time.RFC3339Nano)
}

// mxWantCode fails unless the response failed with code (and a message).
func mxWantCode(t *testing.T, r *servertest.Response, code string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("code %q, want %q; errors %+v, data %s", r.Code(), code, r.Errors, r.Data)
	}
	if r.Errors[0].Message == "" {
		t.Fatal("error without a message")
	}
}

// mxWantConflict checks a CONFLICT for an action not allowed in state: the message names
// the state and extensions.allowedStates lists exactly the states that allow the action.
func mxWantConflict(t *testing.T, r *servertest.Response, state string, allowed []string) {
	t.Helper()
	mxWantCode(t, r, "CONFLICT")
	if msg := r.Errors[0].Message; !strings.Contains(msg, state) {
		t.Errorf("CONFLICT message %q does not name the current state %s", msg, state)
	}
	raw, _ := json.Marshal(r.Errors[0].Extensions["allowedStates"])
	var got []string
	_ = json.Unmarshal(raw, &got)
	if !slices.Equal(got, allowed) {
		t.Errorf("extensions.allowedStates = %s, want %q", raw, allowed)
	}
}

// ---------------------------------------------------------------------------------------
// Task action matrix

// mxWho is someone related to a matrix task.
type mxWho int

const (
	mxNobody mxWho = iota
	mxViewer
	mxOther
)

// mxVariant is one way of arranging the viewer's permission for an action: what to grant
// and deny, how the viewer relates to the task, and in which states that adds up to
// permission (the state table decides the rest).
type mxVariant struct {
	name        string
	grant, deny []policy.Permission
	responsible mxWho // mxViewer or mxOther
	worker      mxWho
	permitted   func(task.State) bool
}

func mxAlways(task.State) bool { return true }
func mxNever(task.State) bool  { return false }

// mxTaskPerm is the one permission of the actions granted by a single permission.
var mxTaskPerm = map[policy.TaskAction]policy.Permission{
	policy.TaskDestroyAction:         policy.TaskDestroy,
	policy.TaskChangeName:            policy.TaskWriteName,
	policy.TaskChangeDescription:     policy.TaskWriteDescription,
	policy.TaskChangeDeadline:        policy.TaskWriteExpiryTimestamp,
	policy.TaskChangePriority:        policy.TaskWriteOriginalPriority,
	policy.TaskChangeExpiryActivator: policy.TaskWriteExpiryActivator,
	policy.TaskChangeDelay:           policy.TaskWriteDelayTimestamp,
	policy.TaskAddNote:               policy.TaskCaseAddNote,
	policy.TaskChangeCustomFields:    policy.TaskWriteCustomFields,
}

// mxTaskVariants returns how to give and take away the permission for action a (the
// grant rules of policy/actions.go and domain.md). "has" grants the most direct
// permission with every condition met; "lacks" denies every permission that could allow
// the action while the conditions stay met (for START and COMPLETE, which need no
// permission, "lacks" is the condition failing). The other variants are the
// conditional grants.
func mxTaskVariants(t *testing.T, a policy.TaskAction) []mxVariant {
	P := func(ps ...policy.Permission) []policy.Permission { return ps }
	switch a {
	case policy.TaskStart:
		return []mxVariant{
			{name: "has", responsible: mxViewer, permitted: mxAlways},
			{name: "lacks", responsible: mxOther, permitted: mxNever},
		}
	case policy.TaskComplete:
		return []mxVariant{
			{name: "has", responsible: mxViewer, worker: mxViewer, permitted: mxAlways},
			{name: "lacks", responsible: mxViewer, worker: mxOther, permitted: mxNever},
		}
	case policy.TaskReserve:
		return []mxVariant{
			{name: "has", grant: P(policy.TaskParkOwnWorkingTask), responsible: mxViewer, permitted: mxAlways},
			{name: "lacks", deny: P(policy.TaskParkOwnWorkingTask), responsible: mxViewer, permitted: mxNever},
			{name: "has-not-own", grant: P(policy.TaskParkOwnWorkingTask), responsible: mxOther, permitted: mxNever},
		}
	case policy.TaskResetAction:
		all := P(policy.TaskReset, policy.TaskResetOwnWorkingTask, policy.TaskResetReadyForJoin)
		return []mxVariant{
			{name: "has", grant: P(policy.TaskReset), responsible: mxViewer, worker: mxViewer, permitted: mxAlways},
			{name: "lacks", deny: all, responsible: mxViewer, worker: mxViewer, permitted: mxNever},
			{name: "has-own-working", grant: P(policy.TaskResetOwnWorkingTask), deny: P(policy.TaskReset, policy.TaskResetReadyForJoin),
				responsible: mxViewer, worker: mxViewer, permitted: mxAlways},
			{name: "has-own-not-working", grant: P(policy.TaskResetOwnWorkingTask), deny: P(policy.TaskReset, policy.TaskResetReadyForJoin),
				responsible: mxViewer, worker: mxOther, permitted: mxNever},
			{name: "has-ready-for-join", grant: P(policy.TaskResetReadyForJoin), deny: P(policy.TaskReset, policy.TaskResetOwnWorkingTask),
				responsible: mxViewer, worker: mxOther, permitted: func(s task.State) bool { return s == task.StateREADY_FOR_JOIN }},
		}
	case policy.TaskDelegate:
		return []mxVariant{
			{name: "has", grant: P(policy.TaskWriteActivator), responsible: mxViewer, worker: mxOther, permitted: mxAlways},
			{name: "has-not-own", grant: P(policy.TaskWriteActivator), responsible: mxOther, worker: mxOther, permitted: mxAlways},
			{name: "lacks", deny: P(policy.TaskWriteActivator, policy.TaskWriteActivatorOwnTasks), responsible: mxViewer, worker: mxOther, permitted: mxNever},
			{name: "has-own", grant: P(policy.TaskWriteActivatorOwnTasks), deny: P(policy.TaskWriteActivator),
				responsible: mxViewer, worker: mxOther, permitted: mxAlways},
			{name: "has-own-other-task", grant: P(policy.TaskWriteActivatorOwnTasks), deny: P(policy.TaskWriteActivator),
				responsible: mxOther, worker: mxOther, permitted: mxNever},
		}
	}
	p, ok := mxTaskPerm[a]
	if !ok {
		t.Fatalf("task action %s has no permission setup in this test; add it to mxTaskVariants", a)
	}
	return []mxVariant{
		{name: "has", grant: P(p), responsible: mxViewer, permitted: mxAlways},
		{name: "lacks", deny: P(p), responsible: mxViewer, permitted: mxNever},
	}
}

// mxTaskSnap is what an action may change on a task.
type mxTaskSnap struct {
	State                  task.State
	Worker                 int
	Name, Description      string
	Priority               task.Priority
	ExpiryPriority         string
	Expiry, Delay          string
	Started, Ended         bool
	Responsibles           string
	UserNotes, SystemNotes int
	Events                 int
	CustomFields           string
}

func (e *mxEnv) snapTask(t *testing.T, id int) mxTaskSnap {
	t.Helper()
	tk, err := e.db.Task.Get(e.ctx, id)
	if err != nil {
		t.Fatalf("read task %d: %v", id, err)
	}
	s := mxTaskSnap{State: tk.State, Name: tk.Name, Description: tk.Description, Priority: tk.Priority,
		Expiry: mxTime(tk.ExpiryTimestamp), Delay: mxTime(tk.DelayTimestamp), Started: tk.StartedAt != nil, Ended: tk.EndedAt != nil,
		CustomFields: fmt.Sprint(tk.CustomFields)}
	if tk.WorkerID != nil {
		s.Worker = *tk.WorkerID
	}
	if tk.ExpiryPriority != nil {
		s.ExpiryPriority = string(*tk.ExpiryPriority)
	}
	rs, err := e.db.TaskResponsible.Query().Where(taskresponsible.TaskID(id)).All(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Responsibles = mxResponsibles(rs)
	s.UserNotes = e.db.Note.Query().Where(note.TaskID(id), note.System(false)).CountX(e.ctx)
	s.SystemNotes = e.db.Note.Query().Where(note.TaskID(id), note.System(true)).CountX(e.ctx)
	s.Events = e.db.WorkflowEvent.Query().Where(workflowevent.TaskID(id)).CountX(e.ctx)
	return s
}

func mxResponsibles(rs []*ent.TaskResponsible) string {
	var out []string
	for _, r := range rs {
		s := ""
		if r.Expiry {
			s = "expiry-"
		}
		if r.UserID != nil {
			s += fmt.Sprintf("u:%d", *r.UserID)
		}
		if r.RoleID != nil {
			s += fmt.Sprintf("r:%d", *r.RoleID)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// mxTaskCall is the mutation of one task action, and what it does to the task.
type mxTaskCall struct {
	query  string
	vars   map[string]any
	effect func(want *mxTaskSnap)
}

func mxTaskMutation(t *testing.T, a policy.TaskAction, id, viewer, target int) mxTaskCall {
	t.Helper()
	deadline := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)
	delay := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	simple := func(field string, effect func(*mxTaskSnap)) mxTaskCall {
		return mxTaskCall{fmt.Sprintf(`mutation($id: ID!) { %s(input: {id: $id}) { task { id state } } }`, field),
			map[string]any{"id": id}, effect}
	}
	// update changes one field of type typ through updateTask.
	update := func(field, typ string, v any, effect func(*mxTaskSnap)) mxTaskCall {
		return mxTaskCall{fmt.Sprintf(`mutation($id: ID!, $v: %s!) { updateTask(input: {id: $id, %s: $v}) { task { id state } } }`, typ, field),
			map[string]any{"id": id, "v": v}, effect}
	}
	switch a {
	case policy.TaskStart:
		return simple("startTask", func(w *mxTaskSnap) { w.State, w.Worker, w.Started = task.StateRESUMED, viewer, true })
	case policy.TaskReserve:
		return simple("reserveTask", func(w *mxTaskSnap) { w.State, w.Worker = task.StatePARKED, viewer })
	case policy.TaskResetAction:
		return simple("resetTask", func(w *mxTaskSnap) { w.State, w.Worker = task.StateSUSPENDED, 0 })
	case policy.TaskDestroyAction:
		return simple("destroyTask", func(w *mxTaskSnap) { w.State, w.Ended = task.StateDESTROYED, true })
	case policy.TaskComplete:
		return mxTaskCall{`mutation($id: ID!) { completeTask(input: {id: $id, data: {}}) { task { id state } case { id } } }`,
			map[string]any{"id": id}, func(w *mxTaskSnap) { w.State, w.Ended = task.StateDONE, true }}
	case policy.TaskDelegate:
		return mxTaskCall{`mutation($id: ID!, $u: ID!) { delegateTask(input: {id: $id, userIds: [$u]}) { task { id state } } }`,
			map[string]any{"id": id, "u": target}, func(w *mxTaskSnap) {
				if w.State == task.StatePARKED {
					w.State, w.Worker = task.StateSUSPENDED, 0
				}
				w.Responsibles = fmt.Sprintf("u:%d", target)
			}}
	case policy.TaskChangeName:
		return update("name", "String", "renamed by the matrix", func(w *mxTaskSnap) { w.Name = "renamed by the matrix" })
	case policy.TaskChangeDescription:
		return update("description", "String", "described by the matrix", func(w *mxTaskSnap) { w.Description = "described by the matrix" })
	case policy.TaskChangeDeadline:
		return update("expiryTimestamp", "Time", deadline.Format(time.RFC3339), func(w *mxTaskSnap) { w.Expiry = mxTime(&deadline) })
	case policy.TaskChangeDelay:
		return update("delayTimestamp", "Time", delay.Format(time.RFC3339), func(w *mxTaskSnap) { w.Delay = mxTime(&delay) })
	case policy.TaskChangePriority:
		return mxTaskCall{`mutation($id: ID!) { updateTask(input: {id: $id, priority: EXCEPTION}) { task { id state } } }`,
			map[string]any{"id": id}, func(w *mxTaskSnap) { w.Priority = task.PriorityEXCEPTION }}
	case policy.TaskChangeExpiryActivator:
		return mxTaskCall{`mutation($id: ID!) { updateTask(input: {id: $id, expiryPriority: HIGH}) { task { id state } } }`,
			map[string]any{"id": id}, func(w *mxTaskSnap) { w.ExpiryPriority = "HIGH" }}
	case policy.TaskAddNote:
		return mxTaskCall{`mutation($id: ID!) { addTaskNote(input: {taskId: $id, content: "a matrix note"}) { note { id } } }`,
			map[string]any{"id": id}, func(w *mxTaskSnap) { w.UserNotes++ }}
	case policy.TaskChangeCustomFields:
		return mxTaskCall{`mutation($id: ID!) { setTaskCustomFields(input: {id: $id, fields: {matrix: "set"}}) { task { id state } } }`,
			map[string]any{"id": id}, func(w *mxTaskSnap) { w.CustomFields = "map[matrix:set]" }}
	}
	t.Fatalf("task action %s has no mutation in this test; add it to mxTaskMutation", a)
	return mxTaskCall{}
}

// mxTaskAllowed reads Task.allowedActions as the viewer; the viewer must see the task.
func mxTaskAllowed(t *testing.T, c *servertest.Client, id int) []string {
	t.Helper()
	var out struct {
		Node *struct {
			State          string
			AllowedActions []string
		}
	}
	c.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Task { state allowedActions } } }`, map[string]any{"id": id}, &out)
	if out.Node == nil {
		t.Fatalf("the viewer does not see task %d", id)
	}
	return out.Node.AllowedActions
}

func TestTaskActionMatrix(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		start := time.Now()
		e := mxSetup(t, dialect)
		other, target := e.user(t), e.user(t)
		// One viewer per action and variant, its permissions arranged once.
		viewers := map[policy.TaskAction]map[string]mxUser{}
		for _, a := range policy.TaskActions() {
			viewers[a] = map[string]mxUser{}
			for _, v := range mxTaskVariants(t, a) {
				u := e.user(t)
				e.permit(t, u.ID, v.grant, v.deny)
				viewers[a][v.name] = u
			}
		}
		setup := time.Since(start)
		rows := 0
		for _, a := range policy.TaskActions() {
			allowedStates := policy.TaskStatesFor(a)
			t.Run(string(a), func(t *testing.T) {
				for _, st := range policy.TaskStates {
					t.Run(string(st), func(t *testing.T) {
						for _, v := range mxTaskVariants(t, a) {
							rows++
							t.Run(v.name, func(t *testing.T) {
								viewer := viewers[a][v.name]
								who := func(w mxWho) int {
									return map[mxWho]int{mxNobody: 0, mxViewer: viewer.ID, mxOther: other.ID}[w]
								}
								// The viewer created the case, so it sees the task in every
								// state (DELAYED tasks are hidden from their responsibles).
								cs := e.mkCase(t, businesscase.StateRUNNING, func(q *ent.BusinessCaseCreate) { q.SetCreatorID(viewer.ID) })
								tk := e.mkTask(t, cs.ID, st, []int{who(v.responsible)}, nil, func(q *ent.TaskCreate) {
									if w := who(v.worker); w != 0 {
										q.SetWorkerID(w)
									}
								})
								before := e.snapTask(t, tk.ID)
								permitted := v.permitted(st)
								stateOK := slices.Contains(allowedStates, st)
								want := permitted && stateOK

								acts := mxTaskAllowed(t, viewer.C, tk.ID)
								if got := slices.Contains(acts, string(a)); got != want {
									t.Errorf("allowedActions %v: contains %s = %v, want %v (permitted %v, state allows %v)",
										acts, a, got, want, permitted, stateOK)
								}

								call := mxTaskMutation(t, a, tk.ID, viewer.ID, target.ID)
								r := viewer.C.Do(t, call.query, call.vars)
								after := e.snapTask(t, tk.ID)
								switch {
								case want:
									if len(r.Errors) > 0 {
										t.Fatalf("%s on a %s task failed: %+v", a, st, r.Errors)
									}
									exp := before
									call.effect(&exp)
									exp.Events++
									exp.SystemNotes = after.SystemNotes // reset, destroy and delegate write one
									if after != exp {
										t.Errorf("after %s on a %s task:\n got %+v\nwant %+v", a, st, after, exp)
									}
								case !permitted:
									mxWantCode(t, r, "FORBIDDEN")
								default:
									mxWantConflict(t, r, string(st), mxStates(allowedStates))
								}
								if !want && after != before {
									t.Errorf("the refused %s changed the task:\nbefore %+v\n after %+v", a, before, after)
								}
							})
						}
					})
				}
			})
		}
		t.Logf("%s: %d rows; setup %v, total %v", dialect, rows, setup.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})
}

func mxStates[S ~string](states []S) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Case action matrix

// mxCasePerms are the permissions that allow each case action: "has" grants the first,
// "lacks" denies them all.
var mxCasePerms = map[policy.CaseAction][]policy.Permission{
	policy.CaseDestroyAction:      {policy.CaseDestroy},
	policy.CaseChangeName:         {policy.CaseWriteName},
	policy.CaseChangeDescription:  {policy.CaseWriteDescription},
	policy.CaseAddNote:            {policy.TaskCaseAddNote},
	policy.CaseShowTasks:          {policy.TaskReadOwnCaseTasks, policy.TaskReadAll},
	policy.CaseChangeCustomFields: {policy.CaseWriteCustomFields},
}

type mxCaseSnap struct {
	State             businesscase.State
	Name, Description string
	Ended             bool
	Notes             int    // user notes on the case itself
	Tasks             string // states of its tasks
	CustomFields      string
}

func (e *mxEnv) snapCase(t *testing.T, id int) mxCaseSnap {
	t.Helper()
	cs, err := e.db.BusinessCase.Get(e.ctx, id)
	if err != nil {
		t.Fatalf("read case %d: %v", id, err)
	}
	s := mxCaseSnap{State: cs.State, Name: cs.Name, Description: cs.Description, Ended: cs.EndedAt != nil,
		Notes: e.db.Note.Query().Where(note.CaseID(id), note.TaskIDIsNil(), note.System(false)).CountX(e.ctx), CustomFields: fmt.Sprint(cs.CustomFields)}
	tasks := e.db.Task.Query().Where(task.CaseID(id)).Order(task.ByID()).AllX(e.ctx)
	for _, tk := range tasks {
		s.Tasks += string(tk.State) + " "
	}
	return s
}

func mxCaseMutation(t *testing.T, a policy.CaseAction, id int) (string, map[string]any, func(*mxCaseSnap)) {
	t.Helper()
	vars := map[string]any{"id": id}
	switch a {
	case policy.CaseDestroyAction:
		return `mutation($id: ID!) { destroyCase(input: {id: $id}) { case { id state } } }`, vars, func(w *mxCaseSnap) {
			w.State, w.Ended = businesscase.StateDESTROYED, true
			w.Tasks = strings.ReplaceAll(w.Tasks, string(task.StateSUSPENDED), string(task.StateDESTROYED))
		}
	case policy.CaseChangeName:
		return `mutation($id: ID!) { updateCase(input: {id: $id, name: "renamed by the matrix"}) { case { id name } } }`, vars,
			func(w *mxCaseSnap) { w.Name = "renamed by the matrix" }
	case policy.CaseChangeDescription:
		return `mutation($id: ID!) { updateCase(input: {id: $id, description: "described by the matrix"}) { case { id description } } }`, vars,
			func(w *mxCaseSnap) { w.Description = "described by the matrix" }
	case policy.CaseAddNote:
		return `mutation($id: ID!) { addCaseNote(input: {caseId: $id, content: "a matrix note"}) { note { id } } }`, vars,
			func(w *mxCaseSnap) { w.Notes++ }
	case policy.CaseShowTasks:
		return "", nil, nil // only through Case.allowedActions
	case policy.CaseChangeCustomFields:
		return `mutation($id: ID!) { setCaseCustomFields(input: {id: $id, fields: {matrix: "set"}}) { case { id } } }`, vars,
			func(w *mxCaseSnap) { w.CustomFields = "map[matrix:set]" }
	}
	t.Fatalf("case action %s has no mutation in this test; add it to mxCaseMutation", a)
	return "", nil, nil
}

func TestCaseActionMatrix(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		start := time.Now()
		e := mxSetup(t, dialect)
		other := e.user(t)
		type variant struct {
			name      string
			permitted bool
		}
		variants := []variant{{"has", true}, {"lacks", false}}
		viewers := map[policy.CaseAction]map[string]mxUser{}
		for _, a := range policy.CaseActions() {
			perms, ok := mxCasePerms[a]
			if !ok {
				t.Fatalf("case action %s has no permission setup in this test; add it to mxCasePerms", a)
			}
			viewers[a] = map[string]mxUser{}
			for _, v := range variants {
				u := e.user(t)
				if v.permitted {
					e.permit(t, u.ID, perms[:1], nil)
				} else {
					e.permit(t, u.ID, nil, perms)
				}
				viewers[a][v.name] = u
			}
		}
		for _, a := range policy.CaseActions() {
			allowedStates := policy.CaseStatesFor(a)
			t.Run(string(a), func(t *testing.T) {
				for _, st := range policy.CaseStates {
					t.Run(string(st), func(t *testing.T) {
						for _, v := range variants {
							t.Run(v.name, func(t *testing.T) {
								viewer := viewers[a][v.name]
								cs := e.mkCase(t, st, func(q *ent.BusinessCaseCreate) { q.SetCreatorID(viewer.ID) })
								tst := map[businesscase.State]task.State{businesscase.StateDONE: task.StateDONE,
									businesscase.StateDESTROYED: task.StateDESTROYED}[st]
								if tst == "" {
									tst = task.StateSUSPENDED
								}
								e.mkTask(t, cs.ID, tst, []int{other.ID}, nil, nil)
								before := e.snapCase(t, cs.ID)
								stateOK := slices.Contains(allowedStates, st)
								want := v.permitted && stateOK

								var out struct {
									Node *struct {
										State          string
										AllowedActions []string
									}
								}
								viewer.C.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Case { state allowedActions } } }`,
									map[string]any{"id": cs.ID}, &out)
								if out.Node == nil {
									t.Fatalf("the case's creator does not see case %d", cs.ID)
								}
								if got := slices.Contains(out.Node.AllowedActions, string(a)); got != want {
									t.Errorf("allowedActions %v: contains %s = %v, want %v (permitted %v, state allows %v)",
										out.Node.AllowedActions, a, got, want, v.permitted, stateOK)
								}

								query, vars, effect := mxCaseMutation(t, a, cs.ID)
								if query == "" {
									return
								}
								r := viewer.C.Do(t, query, vars)
								after := e.snapCase(t, cs.ID)
								switch {
								case want:
									if len(r.Errors) > 0 {
										t.Fatalf("%s on a %s case failed: %+v", a, st, r.Errors)
									}
									exp := before
									effect(&exp)
									if after != exp {
										t.Errorf("after %s on a %s case:\n got %+v\nwant %+v", a, st, after, exp)
									}
								case !v.permitted:
									mxWantCode(t, r, "FORBIDDEN")
								default:
									mxWantConflict(t, r, string(st), mxStates(allowedStates))
								}
								if !want && after != before {
									t.Errorf("the refused %s changed the case:\nbefore %+v\n after %+v", a, before, after)
								}
							})
						}
					})
				}
			})
		}
		t.Logf("%s: total %v", dialect, time.Since(start).Round(time.Millisecond))
	})
}

// ---------------------------------------------------------------------------------------
// Visibility

// sees checks what u sees of a task and its case through every read path — the tasks and
// cases lists, node(id:) for both, and task.case — and fails when the paths disagree or
// differ from wantTask/wantCase.
func (e *mxEnv) sees(t *testing.T, who string, u *servertest.Client, tk *ent.Task, wantTask, wantCase bool) {
	t.Helper()
	type caseRef struct{ ID mxID }
	var out struct {
		Tasks struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID   mxID
					Case *caseRef
				}
			}
		}
		Newest struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID   mxID
					Case *caseRef
				}
			}
		}
		Cases struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID mxID } }
		}
		T *struct {
			ID   mxID
			Case *caseRef
		}
		C *struct{ ID mxID }
	}
	u.MustDo(t, `query($t: ID!, $c: ID!) {
		tasks { totalCount edges { node { id case { id } } } }
		newest: tasks(first: 1000, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id case { id } } } }
		cases { totalCount edges { node { id } } }
		t: node(id: $t) { ... on Task { id case { id } } }
		c: node(id: $c) { ... on Case { id } } }`, map[string]any{"t": tk.ID, "c": tk.CaseID}, &out)
	if out.Tasks.TotalCount != len(out.Tasks.Edges) || out.Cases.TotalCount != len(out.Cases.Edges) {
		t.Errorf("%s: totalCount %d/%d but %d/%d edges", who, out.Tasks.TotalCount, out.Cases.TotalCount,
			len(out.Tasks.Edges), len(out.Cases.Edges))
	}
	// The default task list (workflow.TaskList) must list exactly what the filtered query does.
	var all, newest []int
	for _, ed := range out.Tasks.Edges {
		all = append(all, int(ed.Node.ID))
	}
	for _, ed := range out.Newest.Edges {
		newest = append(newest, int(ed.Node.ID))
		if ed.Node.Case == nil {
			t.Errorf("%s: newest-first list gives task %d no case", who, ed.Node.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(newest)
	if !slices.Equal(all, newest) || out.Newest.TotalCount != out.Tasks.TotalCount {
		t.Errorf("%s: newest-first list %v (total %d), filtered query %v (total %d)", who, newest, out.Newest.TotalCount, all, out.Tasks.TotalCount)
	}
	inList := false
	for _, ed := range out.Tasks.Edges {
		if int(ed.Node.ID) == tk.ID {
			inList = true
			if ed.Node.Case == nil || int(ed.Node.Case.ID) != tk.CaseID {
				t.Errorf("%s: tasks lists task %d with case %+v, want case %d", who, tk.ID, ed.Node.Case, tk.CaseID)
			}
		}
	}
	caseInList := slices.ContainsFunc(out.Cases.Edges, func(ed struct{ Node struct{ ID mxID } }) bool { return int(ed.Node.ID) == tk.CaseID })
	if inList != wantTask || (out.T != nil) != wantTask {
		t.Errorf("%s sees task %d (%s): in tasks %v, node %v; want %v", who, tk.ID, tk.State, inList, out.T != nil, wantTask)
	}
	if out.T != nil && (out.T.Case == nil || int(out.T.Case.ID) != tk.CaseID) {
		t.Errorf("%s: node(task %d).case = %+v, want case %d", who, tk.ID, out.T.Case, tk.CaseID)
	}
	if caseInList != wantCase || (out.C != nil) != wantCase {
		t.Errorf("%s sees case %d: in cases %v, node %v; want %v", who, tk.CaseID, caseInList, out.C != nil, wantCase)
	}
}

func TestVisibility(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		start := time.Now()
		e := mxSetup(t, dialect)
		other := e.user(t)
		freshTask := func(t *testing.T, st task.State, users, roles []int, set func(*ent.TaskCreate)) *ent.Task {
			cs := e.mkCase(t, businesscase.StateRUNNING, nil)
			return e.mkTask(t, cs.ID, st, users, roles, set)
		}

		t.Run("anonymous", func(t *testing.T) {
			mxWantCode(t, e.srv.Client().Do(t, `{ tasks { totalCount edges { node { id } } } }`, nil), "UNAUTHENTICATED")
		})

		t.Run("responsible user", func(t *testing.T) {
			u, x := e.user(t), e.user(t)
			tk := freshTask(t, task.StateSUSPENDED, []int{u.ID}, nil, nil)
			e.sees(t, "responsible", u.C, tk, true, true)
			e.sees(t, "stranger", x.C, tk, false, false)
		})

		t.Run("responsible role", func(t *testing.T) {
			r, rx := e.role(t, "v-team", 0), e.role(t, "v-team-x", 0)
			u, x := e.user(t, r), e.user(t, rx)
			tk := freshTask(t, task.StateSUSPENDED, nil, []int{r}, nil)
			e.sees(t, "role member", u.C, tk, true, true)
			e.sees(t, "other role's member", x.C, tk, false, false)
		})

		t.Run("inherited via parent role", func(t *testing.T) {
			p := e.role(t, "v-parent", 0)
			c := e.role(t, "v-child", p)
			g := e.role(t, "v-grandchild", c)
			sib := e.role(t, "v-parent-sibling", 0)
			inG, inP, x := e.user(t, g), e.user(t, p), e.user(t, sib)
			forP := freshTask(t, task.StateSUSPENDED, nil, []int{p}, nil)
			e.sees(t, "grandchild role member", inG.C, forP, true, true)
			e.sees(t, "sibling role member", x.C, forP, false, false)
			forC := freshTask(t, task.StateSUSPENDED, nil, []int{c}, nil)
			e.sees(t, "grandchild role member", inG.C, forC, true, true)
			e.sees(t, "parent role member (inheritance goes up only)", inP.C, forC, false, false)
		})

		t.Run("via member-role link", func(t *testing.T) {
			holder := e.role(t, "v-holder", 0)
			member := e.role(t, "v-member", 0)
			e.admin.MustDo(t, `mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { id } } }`,
				map[string]any{"r": holder, "m": member}, nil)
			inM, inH, x := e.user(t, member), e.user(t, holder), e.user(t, e.role(t, "v-unlinked", 0))
			forH := freshTask(t, task.StateSUSPENDED, nil, []int{holder}, nil)
			e.sees(t, "member role's user", inM.C, forH, true, true)
			e.sees(t, "unlinked role's user", x.C, forH, false, false)
			forM := freshTask(t, task.StateSUSPENDED, nil, []int{member}, nil)
			e.sees(t, "holding role's user (the link goes one way)", inH.C, forM, false, false)
		})

		t.Run("substitute permanent", func(t *testing.T) {
			absent, s, x := e.user(t), e.user(t), e.user(t)
			e.db.Substitute.Create().SetUserID(absent.ID).SetSubstituteID(s.ID).SetPermanent(true).ExecX(e.ctx)
			tk := freshTask(t, task.StateSUSPENDED, []int{absent.ID}, nil, nil)
			e.sees(t, "permanent substitute", s.C, tk, true, true)
			e.sees(t, "not a substitute", x.C, tk, false, false)
			// The substitute works the task: START is allowed to it.
			if acts := mxTaskAllowed(t, s.C, tk.ID); !slices.Contains(acts, string(policy.TaskStart)) {
				t.Errorf("substitute's allowedActions %v lack START", acts)
			}
		})

		t.Run("substitute for a role", func(t *testing.T) {
			r := e.role(t, "v-substituted-role", 0)
			boss, s := e.user(t, r), e.user(t)
			e.db.Substitute.Create().SetUserID(boss.ID).SetSubstituteID(s.ID).SetRoleID(r).SetPermanent(true).ExecX(e.ctx)
			forRole := freshTask(t, task.StateSUSPENDED, nil, []int{r}, nil)
			personal := freshTask(t, task.StateSUSPENDED, []int{boss.ID}, nil, nil)
			e.sees(t, "role substitute", s.C, forRole, true, true)
			e.sees(t, "role substitute, personal task", s.C, personal, false, false)
		})

		t.Run("substitute during absence", func(t *testing.T) {
			absent, s := e.user(t), e.user(t) // s is logged in before anything below exists
			e.db.Substitute.Create().SetUserID(absent.ID).SetSubstituteID(s.ID).ExecX(e.ctx)
			tk := freshTask(t, task.StateSUSPENDED, []int{absent.ID}, nil, nil)
			e.sees(t, "substitute while the user is present", s.C, tk, false, false)
			now := time.Now().UTC()
			e.db.Absence.Create().SetUserID(absent.ID).SetFrom(now.Add(-time.Hour)).SetUntil(now.Add(time.Hour)).ExecX(e.ctx)
			// Substitutions are loaded per request: the same token sees the task now.
			e.sees(t, "substitute during the absence", s.C, tk, true, true)
		})

		t.Run("substitute with expired or future absence", func(t *testing.T) {
			absent, s := e.user(t), e.user(t)
			e.db.Substitute.Create().SetUserID(absent.ID).SetSubstituteID(s.ID).ExecX(e.ctx)
			now := time.Now().UTC()
			e.db.Absence.Create().SetUserID(absent.ID).SetFrom(now.Add(-48 * time.Hour)).SetUntil(now.Add(-24 * time.Hour)).ExecX(e.ctx)
			e.db.Absence.Create().SetUserID(absent.ID).SetFrom(now.Add(24 * time.Hour)).SetUntil(now.Add(48 * time.Hour)).ExecX(e.ctx)
			tk := freshTask(t, task.StateSUSPENDED, []int{absent.ID}, nil, nil)
			e.sees(t, "substitute outside the absences", s.C, tk, false, false)
		})

		t.Run("worked on", func(t *testing.T) {
			w, x := e.user(t), e.user(t)
			tk := freshTask(t, task.StateDONE, []int{other.ID}, nil, func(q *ent.TaskCreate) { q.SetWorkerID(w.ID) })
			e.sees(t, "worker", w.C, tk, true, true)
			e.sees(t, "stranger", x.C, tk, false, false)
			// Also while working it without being a responsible.
			cur := freshTask(t, task.StateRESUMED, []int{other.ID}, nil, func(q *ent.TaskCreate) { q.SetWorkerID(w.ID) })
			e.sees(t, "current worker, not responsible", w.C, cur, true, true)
		})

		t.Run("TaskReadOwnCaseTasks", func(t *testing.T) {
			creator, owner, participant, x := e.user(t), e.user(t), e.user(t), e.user(t)
			cs := e.mkCase(t, businesscase.StateRUNNING, func(q *ent.BusinessCaseCreate) { q.SetCreatorID(creator.ID).SetOwnerID(owner.ID) })
			tk := e.mkTask(t, cs.ID, task.StateSUSPENDED, []int{other.ID}, nil, nil)
			e.mkTask(t, cs.ID, task.StateDONE, []int{other.ID}, nil, func(q *ent.TaskCreate) { q.SetWorkerID(participant.ID) })
			e.sees(t, "case creator", creator.C, tk, true, true)
			e.sees(t, "case owner", owner.C, tk, true, true)
			e.sees(t, "worker of another task of the case", participant.C, tk, true, true)
			e.sees(t, "stranger", x.C, tk, false, false)
			e.permit(t, creator.ID, nil, []policy.Permission{policy.TaskReadOwnCaseTasks})
			// Its tasks vanish; the case itself stays (the creator is involved in it).
			e.sees(t, "case creator without TaskReadOwnCaseTasks", creator.C, tk, false, true)
		})

		t.Run("TaskReadAll", func(t *testing.T) {
			u, all, sys := e.user(t), e.user(t), e.user(t)
			e.permit(t, all.ID, []policy.Permission{policy.TaskReadAll}, nil)
			e.permit(t, sys.ID, []policy.Permission{policy.TaskReadAll, policy.SystemTaskReadAll}, nil)
			plain := freshTask(t, task.StateSUSPENDED, []int{other.ID}, nil, nil)
			delayed := freshTask(t, task.StateDELAYED, []int{other.ID}, nil, nil)
			system := freshTask(t, task.StateSUSPENDED, []int{u.ID}, nil, func(q *ent.TaskCreate) { q.SetSystem(true) })
			e.sees(t, "TaskReadAll", all.C, plain, true, true)
			e.sees(t, "TaskReadAll", all.C, delayed, true, true)
			e.sees(t, "TaskReadAll without SystemTaskReadAll", all.C, system, false, false)
			e.sees(t, "TaskReadAll and SystemTaskReadAll", sys.C, system, true, true)
			e.sees(t, "responsible of a system task", u.C, system, false, false)
			count := func(c *servertest.Client) int {
				var out struct{ Tasks struct{ TotalCount int } }
				c.MustDo(t, `{ tasks { totalCount } }`, nil, &out)
				return out.Tasks.TotalCount
			}
			if got, want := count(all.C), e.db.Task.Query().Where(task.System(false)).CountX(e.ctx); got != want {
				t.Errorf("TaskReadAll sees %d tasks, want every non-system task: %d", got, want)
			}
			if got, want := count(sys.C), e.db.Task.Query().CountX(e.ctx); got != want {
				t.Errorf("TaskReadAll+SystemTaskReadAll sees %d tasks, want all %d", got, want)
			}
		})

		t.Run("DELAYED hidden from responsibles", func(t *testing.T) {
			u := e.user(t)
			tk := freshTask(t, task.StateDELAYED, []int{u.ID}, nil, nil)
			e.sees(t, "responsible of a DELAYED task", u.C, tk, false, false)
			e.db.Task.UpdateOneID(tk.ID).SetState(task.StateSUSPENDED).ExecX(e.ctx)
			e.sees(t, "responsible once it is SUSPENDED", u.C, tk, true, true)
		})

		t.Run("CaseReadAll", func(t *testing.T) {
			cr, x := e.user(t), e.user(t)
			e.permit(t, cr.ID, []policy.Permission{policy.CaseReadAll}, nil)
			tk := freshTask(t, task.StateSUSPENDED, []int{other.ID}, nil, nil)
			e.sees(t, "CaseReadAll (cases, not tasks)", cr.C, tk, false, true)
			e.sees(t, "stranger", x.C, tk, false, false)
			var out struct{ Cases struct{ TotalCount int } }
			cr.C.MustDo(t, `{ cases { totalCount } }`, nil, &out)
			if want := e.db.BusinessCase.Query().CountX(e.ctx); out.Cases.TotalCount != want {
				t.Errorf("CaseReadAll sees %d cases, want all %d", out.Cases.TotalCount, want)
			}
		})

		t.Run("system notes", func(t *testing.T) {
			u, n := e.user(t), e.user(t)
			e.permit(t, n.ID, []policy.Permission{policy.NoteReadAllCaseTaskDetails}, nil)
			tk := freshTask(t, task.StateSUSPENDED, []int{u.ID, n.ID}, nil, nil)
			mk := func(system, onTask bool) int {
				q := e.db.Note.Create().SetContent("note").SetSystem(system).SetCaseID(tk.CaseID)
				if onTask {
					q.SetTaskID(tk.ID)
				}
				if !system {
					q.SetAuthorID(other.ID)
				}
				return q.SaveX(e.ctx).ID
			}
			userTask, sysTask, userCase, sysCase := mk(false, true), mk(true, true), mk(false, false), mk(true, false)
			type conn struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID mxID } }
			}
			ids := func(c conn) []int {
				var out []int
				for _, ed := range c.Edges {
					out = append(out, int(ed.Node.ID))
				}
				slices.Sort(out)
				return out
			}
			check := func(who string, c *servertest.Client, taskNotes, caseNotes []int) {
				t.Helper()
				var out struct {
					T *struct {
						Notes conn
						Case  struct{ Notes conn }
					}
					SysTask, SysCase *struct{ ID mxID }
				}
				c.MustDo(t, `query($t: ID!, $a: ID!, $b: ID!) {
					t: node(id: $t) { ... on Task { notes { totalCount edges { node { id } } } case { notes { totalCount edges { node { id } } } } } }
					sysTask: node(id: $a) { id } sysCase: node(id: $b) { id } }`,
					map[string]any{"t": tk.ID, "a": sysTask, "b": sysCase}, &out)
				if out.T == nil {
					t.Fatalf("%s does not see the task", who)
				}
				slices.Sort(taskNotes)
				slices.Sort(caseNotes)
				if got := ids(out.T.Notes); !slices.Equal(got, taskNotes) || out.T.Notes.TotalCount != len(taskNotes) {
					t.Errorf("%s: task notes %v (total %d), want %v", who, got, out.T.Notes.TotalCount, taskNotes)
				}
				if got := ids(out.T.Case.Notes); !slices.Equal(got, caseNotes) || out.T.Case.Notes.TotalCount != len(caseNotes) {
					t.Errorf("%s: case notes %v (total %d), want %v", who, got, out.T.Case.Notes.TotalCount, caseNotes)
				}
				seesSys := len(caseNotes) == 4
				if (out.SysTask != nil) != seesSys || (out.SysCase != nil) != seesSys {
					t.Errorf("%s: node(system note) = %v, %v; want visible %v", who, out.SysTask, out.SysCase, seesSys)
				}
			}
			check("without NoteReadAllCaseTaskDetails", u.C, []int{userTask}, []int{userTask, userCase})
			check("with NoteReadAllCaseTaskDetails", n.C, []int{userTask, sysTask}, []int{userTask, sysTask, userCase, sysCase})
		})

		t.Run("processes", func(t *testing.T) {
			forTeamA := mxCreateExpress(t, e.admin, "Visible to Team A", []string{"Team A"})
			forBob := mxCreateExpress(t, e.admin, "Visible to bob", []string{"#bob"})
			demo, bob := e.srv.Login(t, "demo", "demo"), e.srv.Login(t, "bob", "bob")
			sees := func(who string, c *servertest.Client, id int, want bool) {
				t.Helper()
				var out struct {
					Processes struct {
						Edges []struct{ Node struct{ ID mxID } }
					}
					Node *struct{ ID mxID }
				}
				c.MustDo(t, `query($id: ID!) { processes { edges { node { id } } } node(id: $id) { ... on Process { id } } }`,
					map[string]any{"id": id}, &out)
				listed := slices.ContainsFunc(out.Processes.Edges, func(ed struct{ Node struct{ ID mxID } }) bool { return int(ed.Node.ID) == id })
				if listed != want || (out.Node != nil) != want {
					t.Errorf("%s sees process %d: listed %v, node %v; want %v", who, id, listed, out.Node != nil, want)
				}
			}
			sees("demo (Team A)", demo, forTeamA, true)
			sees("bob (Team B)", bob, forTeamA, false)
			sees("bob (#bob)", bob, forBob, true)
			sees("demo (not #bob)", demo, forBob, false)
		})
		t.Logf("%s: total %v", dialect, time.Since(start).Round(time.Millisecond))
	})
}

// mxCreateExpress creates a one-step express process startable by perms, as c.
func mxCreateExpress(t *testing.T, c *servertest.Client, name string, perms []string) int {
	t.Helper()
	var out struct {
		CreateExpressProcess struct{ Process struct{ ID mxID } }
	}
	c.MustDo(t, `mutation($n: String!, $p: [String!]) { createExpressProcess(input: {processName: $n, processPermissions: $p,
		taskDefinitions: [{type: "USER_TASK", responsibles: ["Everybody"], subject: "Do it", taskPosition: 1}]}) { process { id } } }`,
		map[string]any{"n": name, "p": perms}, &out)
	return int(out.CreateExpressProcess.Process.ID)
}

// ---------------------------------------------------------------------------------------
// Express process flow

// mxLeave is an express process in the seed's model: Team A fills in a form with a
// required field, Team B approves, an e-mail goes out, carol checks.
const mxLeave = `{"id": "matrix-leave", "processName": "Matrix leave request", "processDescription": "Days off",
 "processType": "AHWF", "processPermissions": ["Team A"], "processOwner": "#admin", "processFolder": "HR",
 "readyToExecute": true, "processCoOwners": [], "icon": "fa-plane", "ableToEdit": true, "useDefaultUI": true,
 "taskDefinitions": [
  {"type": "USER_TASK", "responsibles": ["Team A"], "subject": "Fill in the request", "description": "Dates", "taskPosition": 1, "untilDays": 2,
   "formElements": [{"elementID": "days", "label": "Days", "required": true, "elementType": "InputNumber", "elementPosition": "HEADER", "indexInPanel": 0},
                    {"elementID": "reason", "label": "Reason", "required": false, "elementType": "InputTextArea", "elementPosition": "HEADER", "indexInPanel": 1}]},
  {"type": "APPROVAL", "responsibles": ["Team B"], "subject": "Approve the request", "taskPosition": 2, "untilDays": 3},
  {"type": "EMAIL", "responsibles": [], "taskPosition": 3, "email": {"recipients": "hr@example.com", "subject": "Approved", "content": "<p>ok</p>"}},
  {"type": "USER_TASK", "responsibles": ["#carol"], "subject": "Check remaining holidays", "taskPosition": 4, "untilDays": 5}]}`

const mxCreateExpressQ = `mutation($in: ExpressProcessInput!) { createExpressProcess(input: $in) { process { id name readyToExecute } } }`

func TestExpressProcessFlow(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		e := mxSetup(t, dialect)
		var def map[string]any
		if err := json.Unmarshal([]byte(mxLeave), &def); err != nil {
			t.Fatal(err)
		}
		demo, bob, carol, alice := e.srv.Login(t, "demo", "demo"), e.srv.Login(t, "bob", "bob"),
			e.srv.Login(t, "carol", "carol"), e.srv.Login(t, "alice", "alice")
		var created struct {
			CreateExpressProcess struct{ Process struct{ ID mxID } }
		}
		e.admin.MustDo(t, mxCreateExpressQ, map[string]any{"in": def}, &created)
		pid := int(created.CreateExpressProcess.Process.ID)

		type taskOut struct {
			ID              mxID
			State           string
			Kind            string
			Position        int
			ExpiryTimestamp *time.Time
			Responsibles    []struct{ Typename, Name string }
		}
		const taskFields = `id state kind position expiryTimestamp responsibles { typename: __typename ... on User { name } ... on Role { name } }`
		start := func(t *testing.T, c *servertest.Client) (caseID int, first taskOut) {
			t.Helper()
			var out struct {
				StartProcess struct {
					Case struct {
						ID    mxID
						State string
					}
					Task *taskOut
				}
			}
			c.MustDo(t, `mutation($p: ID!) { startProcess(input: {processId: $p}) { case { id state } task { `+taskFields+` } } }`,
				map[string]any{"p": pid}, &out)
			if out.StartProcess.Case.State != "RUNNING" || out.StartProcess.Task == nil {
				t.Fatalf("startProcess: %+v", out.StartProcess)
			}
			return int(out.StartProcess.Case.ID), *out.StartProcess.Task
		}
		// checkTask checks a step's task: its step, open state, responsibles and the
		// deadline from untilDays.
		checkTask := func(t *testing.T, tk taskOut, position int, kind, responsible string, untilDays int) {
			t.Helper()
			if tk.State != "SUSPENDED" || tk.Position != position || tk.Kind != kind {
				t.Errorf("task of step %d: %+v, want a SUSPENDED %s", position, tk, kind)
			}
			if len(tk.Responsibles) != 1 || tk.Responsibles[0].Name != responsible {
				t.Errorf("task of step %d: responsibles %+v, want %s", position, tk.Responsibles, responsible)
			}
			want := time.Now().Add(time.Duration(untilDays) * 24 * time.Hour)
			if tk.ExpiryTimestamp == nil || tk.ExpiryTimestamp.Sub(want).Abs() > time.Minute {
				t.Errorf("task of step %d: expiryTimestamp %v, want about %v (untilDays %d)", position, tk.ExpiryTimestamp, want, untilDays)
			}
		}
		// tasksOf lists the case's tasks in creation order, as admin sees them.
		tasksOf := func(t *testing.T, caseID int) []taskOut {
			t.Helper()
			var out struct {
				Node *struct {
					Tasks struct{ Edges []struct{ Node taskOut } }
				}
			}
			e.admin.MustDo(t, `query($id: ID!) { node(id: $id) { ... on Case { tasks(orderBy: {field: CREATED_AT, direction: ASC}) { edges { node { `+taskFields+` } } } } } }`,
				map[string]any{"id": caseID}, &out)
			if out.Node == nil {
				t.Fatalf("admin does not see case %d", caseID)
			}
			var ts []taskOut
			for _, ed := range out.Node.Tasks.Edges {
				ts = append(ts, ed.Node)
			}
			slices.SortFunc(ts, func(a, b taskOut) int { return int(a.ID) - int(b.ID) })
			return ts
		}
		caseState := func(caseID int) string {
			return string(e.db.BusinessCase.GetX(e.ctx, caseID).State)
		}
		complete := func(t *testing.T, c *servertest.Client, id mxID, data map[string]any) *servertest.Response {
			return c.Do(t, `mutation($id: ID!, $d: Map) { completeTask(input: {id: $id, data: $d}) { task { id state } case { id state } } }`,
				map[string]any{"id": id, "d": data})
		}
		startTask := func(t *testing.T, c *servertest.Client, id mxID) {
			t.Helper()
			c.MustDo(t, `mutation($id: ID!) { startTask(input: {id: $id}) { task { id } } }`, map[string]any{"id": id}, nil)
		}
		// finish completes a started task and returns the case's state.
		finish := func(t *testing.T, c *servertest.Client, id mxID, data map[string]any) string {
			t.Helper()
			r := complete(t, c, id, data)
			if len(r.Errors) > 0 {
				t.Fatalf("complete task %d: %+v", id, r.Errors)
			}
			var out struct {
				CompleteTask struct {
					Task struct{ State string }
					Case struct{ State string }
				}
			}
			_ = json.Unmarshal(r.Data, &out)
			if out.CompleteTask.Task.State != "DONE" {
				t.Errorf("completed task %d is %s", id, out.CompleteTask.Task.State)
			}
			return out.CompleteTask.Case.State
		}
		work := func(t *testing.T, c *servertest.Client, id mxID, data map[string]any) string {
			t.Helper()
			startTask(t, c, id)
			return finish(t, c, id, data)
		}

		t.Run("rejected", func(t *testing.T) {
			caseID, first := start(t, demo)
			checkTask(t, first, 1, "USER_TASK", "Team A", 2)
			startTask(t, demo, first.ID)
			for _, data := range []map[string]any{{}, {"reason": "holiday"}, {"days": ""}} {
				mxWantCode(t, complete(t, demo, first.ID, data), "BAD_USER_INPUT")
			}
			if ts := tasksOf(t, caseID); len(ts) != 1 || ts[0].State != "RESUMED" || caseState(caseID) != "RUNNING" {
				t.Fatalf("after refused completions: tasks %+v, case %s; want the one task RESUMED, case RUNNING", ts, caseState(caseID))
			}
			if w := e.db.Task.GetX(e.ctx, int(first.ID)).WorkerID; w == nil {
				t.Error("refused completion cleared the worker")
			}
			if st := finish(t, demo, first.ID, map[string]any{"days": 3, "reason": "holiday"}); st != "RUNNING" {
				t.Errorf("case after step 1: %s", st)
			}
			if data := e.db.Task.GetX(e.ctx, int(first.ID)).Data; fmt.Sprint(data["days"]) != "3" {
				t.Errorf("step 1 data not stored: %v", data)
			}
			ts := tasksOf(t, caseID)
			if len(ts) != 2 {
				t.Fatalf("after step 1 the case has tasks %+v, want 2", ts)
			}
			approval := ts[1]
			checkTask(t, approval, 2, "APPROVAL", "Team B", 3)
			mxWantCode(t, complete(t, bob, approval.ID, map[string]any{"approved": true}), "FORBIDDEN") // not started: not its worker yet
			startTask(t, bob, approval.ID)
			mxWantCode(t, complete(t, bob, approval.ID, map[string]any{}), "BAD_USER_INPUT")
			r := complete(t, bob, approval.ID, map[string]any{"approved": false})
			if len(r.Errors) > 0 {
				t.Fatalf("reject: %+v", r.Errors)
			}
			if st := caseState(caseID); st != "DONE" {
				t.Errorf("case after rejection: %s, want DONE", st)
			}
			if ts := tasksOf(t, caseID); len(ts) != 2 {
				t.Errorf("after rejection the case has tasks %+v, want no further task", ts)
			}
		})

		t.Run("approved", func(t *testing.T) {
			caseID, first := start(t, demo)
			work(t, demo, first.ID, map[string]any{"days": 5})
			ts := tasksOf(t, caseID)
			if len(ts) != 2 {
				t.Fatalf("after step 1: %+v", ts)
			}
			if st := work(t, bob, ts[1].ID, map[string]any{"approved": true}); st != "RUNNING" {
				t.Errorf("case after approval: %s, want RUNNING", st)
			}
			ts = tasksOf(t, caseID)
			if len(ts) != 3 {
				t.Fatalf("after approval the case has tasks %+v, want 3 (the EMAIL step makes none)", ts)
			}
			last := ts[2]
			checkTask(t, last, 4, "USER_TASK", "carol", 5)
			if st := work(t, carol, last.ID, map[string]any{}); st != "DONE" {
				t.Errorf("case after the last step: %s, want DONE", st)
			}
			if st := caseState(caseID); st != "DONE" {
				t.Errorf("case after the last step: %s, want DONE", st)
			}
			for _, tk := range tasksOf(t, caseID) {
				if tk.State != "DONE" {
					t.Errorf("task %d of the finished case is %s", tk.ID, tk.State)
				}
			}
		})

		t.Run("permissions", func(t *testing.T) {
			processes := e.db.Process.Query().CountX(e.ctx)
			cases := e.db.BusinessCase.Query().CountX(e.ctx)
			aliceID := e.db.User.Query().Where(user.Name("alice")).OnlyIDX(e.ctx)
			e.permit(t, aliceID, nil, []policy.Permission{policy.ExpressCreateWorkflow})
			def2 := maps.Clone(def)
			def2["id"], def2["processName"] = "matrix-other", "Not allowed"
			mxWantCode(t, alice.Do(t, mxCreateExpressQ, map[string]any{"in": def2}), "FORBIDDEN")
			// alice (First Level) is not in processPermissions (Team A).
			mxWantCode(t, alice.Do(t, `mutation($p: ID!) { startProcess(input: {processId: $p}) { case { id } } }`,
				map[string]any{"p": pid}), "NOT_FOUND")
			if p, c := e.db.Process.Query().CountX(e.ctx), e.db.BusinessCase.Query().CountX(e.ctx); p != processes || c != cases {
				t.Errorf("refused calls created processes %d→%d, cases %d→%d", processes, p, cases, c)
			}
		})
	})
}
