package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
)

// TaskAction is something a user does to a task.
type TaskAction string

// Task actions, as the API names them.
const (
	TaskStart                 TaskAction = "START"
	TaskReserve               TaskAction = "RESERVE"
	TaskResetAction           TaskAction = "RESET"
	TaskDelegate              TaskAction = "DELEGATE"
	TaskDestroyAction         TaskAction = "DESTROY"
	TaskComplete              TaskAction = "COMPLETE"
	TaskChangeName            TaskAction = "CHANGE_NAME"
	TaskChangeDescription     TaskAction = "CHANGE_DESCRIPTION"
	TaskChangeDeadline        TaskAction = "CHANGE_DEADLINE"
	TaskChangePriority        TaskAction = "CHANGE_PRIORITY"
	TaskChangeExpiryActivator TaskAction = "CHANGE_EXPIRY_ACTIVATOR"
	TaskChangeDelay           TaskAction = "CHANGE_DELAY"
	TaskAddNote               TaskAction = "ADD_NOTE"
	TaskChangeCustomFields    TaskAction = "CHANGE_CUSTOM_FIELDS"
)

// EventStarted is the workflow event kind recorded when a user starts a task; visibility
// counts it as having worked on the task's case.
const EventStarted = "STARTED"

// TaskFacts is what the rules need to know about a task and the viewer.
type TaskFacts struct {
	State task.State
	// Mine: the viewer may work the task (a responsible, or substitute of one).
	Mine bool
	// Working: the viewer is the task's worker.
	Working bool
	// Taken: someone else is the task's worker (reserved or working it).
	Taken bool
	// CaseOwner: the viewer owns the task's case.
	CaseOwner bool
}

// grantRule is one way to be allowed an action: a permission, optionally only under a
// condition on the task (e.g. "own working task").
type grantRule struct {
	perm Permission // "" = no permission needed
	only func(TaskFacts) bool
	what string // the condition in words, for errors
}

// taskRule is one row of the action table: who may do it and in which states.
type taskRule struct {
	grants []grantRule
	states []task.State // states that allow the action
}

// TaskStates lists every task state in lifecycle order.
var TaskStates = []task.State{task.StateCREATED, task.StateSUSPENDED, task.StateRESUMED, task.StatePARKED,
	task.StateDELAYED, task.StateREADY_FOR_JOIN, task.StateDONE, task.StateDESTROYED, task.StateFAILED}

// not returns every task state except the given ones.
func not(states ...task.State) []task.State {
	var out []task.State
	for _, s := range TaskStates {
		if !slices.Contains(states, s) {
			out = append(out, s)
		}
	}
	return out
}

func mine(f TaskFacts) bool    { return f.Mine }
func free(f TaskFacts) bool    { return f.Mine && !f.Taken }
func working(f TaskFacts) bool { return f.Working }

// editable are the states in which a task's fields may change.
var editable = not(task.StateDONE, task.StateDESTROYED, task.StateFAILED)

// taskRules is the one action × permission × state table of domain.md.
var taskRules = map[TaskAction]taskRule{
	TaskAddNote: {grants: []grantRule{{perm: TaskCaseAddNote}}, states: not()},
	TaskDelegate: {grants: []grantRule{
		{perm: TaskWriteActivator},
		{perm: TaskWriteActivatorOwnTasks, only: mine, what: "your own personal or group tasks"},
		{perm: CaseOwnerTaskDelegate, only: func(f TaskFacts) bool { return f.CaseOwner }, what: "tasks of cases you own"},
	}, states: not(task.StateCREATED, task.StateDONE, task.StateDESTROYED, task.StateRESUMED, task.StateFAILED)},
	TaskResetAction: {grants: []grantRule{
		{perm: TaskReset},
		{perm: TaskResetOwnWorkingTask, only: working, what: "tasks you are working on"},
		{perm: TaskResetReadyForJoin, only: func(f TaskFacts) bool { return f.State == task.StateREADY_FOR_JOIN }, what: "tasks ready for join"},
	}, states: []task.State{task.StateRESUMED, task.StatePARKED, task.StateREADY_FOR_JOIN, task.StateFAILED}},
	TaskDestroyAction: {grants: []grantRule{{perm: TaskDestroy}}, states: not(task.StateDESTROYED, task.StateDONE)},
	TaskReserve: {grants: []grantRule{{perm: TaskParkOwnWorkingTask, only: free, what: "tasks you can work on that nobody else has taken"}},
		states: []task.State{task.StateCREATED, task.StateRESUMED, task.StateSUSPENDED}},
	TaskStart: {grants: []grantRule{{only: free, what: "the task to be assigned to you, your roles or someone you substitute, and not taken by someone else"}},
		states: []task.State{task.StateSUSPENDED, task.StatePARKED}},
	TaskComplete: {grants: []grantRule{{only: working, what: "you to be working on the task (start it first)"}},
		states: []task.State{task.StateRESUMED}},
	TaskChangeName:            {grants: []grantRule{{perm: TaskWriteName}}, states: editable},
	TaskChangeDescription:     {grants: []grantRule{{perm: TaskWriteDescription}}, states: editable},
	TaskChangeDeadline:        {grants: []grantRule{{perm: TaskWriteExpiryTimestamp}}, states: editable},
	TaskChangePriority:        {grants: []grantRule{{perm: TaskWriteOriginalPriority}}, states: editable},
	TaskChangeExpiryActivator: {grants: []grantRule{{perm: TaskWriteExpiryActivator}}, states: editable},
	TaskChangeDelay:           {grants: []grantRule{{perm: TaskWriteDelayTimestamp}}, states: editable},
	TaskChangeCustomFields:    {grants: []grantRule{{perm: TaskWriteCustomFields}}, states: editable},
}

// TaskActions lists every task action in a stable order.
func TaskActions() []TaskAction {
	return []TaskAction{TaskStart, TaskReserve, TaskResetAction, TaskDelegate, TaskDestroyAction, TaskComplete,
		TaskChangeName, TaskChangeDescription, TaskChangeDeadline, TaskChangePriority,
		TaskChangeExpiryActivator, TaskChangeDelay, TaskAddNote, TaskChangeCustomFields}
}

// TaskStatesFor returns the states that allow an action.
func TaskStatesFor(a TaskAction) []task.State { return taskRules[a].states }

// CheckTask decides whether subject s may do action a on a task now. Permission comes
// first (FORBIDDEN), then state (CONFLICT, naming the state and the states that would).
func CheckTask(s *Subject, a TaskAction, f TaskFacts) error {
	rule, ok := taskRules[a]
	if !ok {
		return apperr.BadInput("unknown task action %q", a)
	}
	if err := rule.permitted(s, f, string(a)); err != nil {
		return err
	}
	if !slices.Contains(rule.states, f.State) {
		return stateConflict("task", string(a), string(f.State), statesText(rule.states))
	}
	return nil
}

func (r taskRule) permitted(s *Subject, f TaskFacts, action string) error {
	var needs []string
	for _, g := range r.grants {
		hasPerm := g.perm == "" || s == nil || s.Has(g.perm)
		if hasPerm && (g.only == nil || g.only(f)) {
			return nil
		}
		need := string(g.perm)
		switch {
		case g.perm == "":
			need = g.what
		case g.only != nil:
			need += " (for " + g.what + ")"
		}
		needs = append(needs, need)
	}
	return apperr.Forbidden("to %s a task you need %s", actionWords(action), strings.Join(needs, " or ")).
		WithExtension("action", action)
}

func stateConflict(kind, action, state string, allowed []string) error {
	return apperr.Conflict("cannot %s a %s in state %s; allowed in %s", actionWords(action), kind, state, strings.Join(allowed, ", ")).
		WithExtension("state", state).WithExtension("allowedStates", allowed)
}

// actionWords says an action (task or case, as the API names it) in words for error
// messages: "change the description of", not "change_description".
func actionWords(action string) string {
	switch action {
	case "CHANGE_NAME":
		return "rename"
	case "CHANGE_DESCRIPTION":
		return "change the description of"
	case "CHANGE_DEADLINE":
		return "change the deadline of"
	case "CHANGE_PRIORITY":
		return "change the priority of"
	case "CHANGE_EXPIRY_ACTIVATOR":
		return "change the expiry responsibles of"
	case "CHANGE_DELAY":
		return "change the delay of"
	case "ADD_NOTE":
		return "add a note to"
	case "SHOW_TASKS":
		return "show the tasks of"
	case "CHANGE_CUSTOM_FIELDS":
		return "change the custom fields of"
	}
	return strings.ToLower(action)
}

func statesText[S ~string](states []S) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// AllowedTaskActions lists what s may do to the task now: the same check as CheckTask.
func AllowedTaskActions(s *Subject, f TaskFacts) []TaskAction {
	var out []TaskAction
	for _, a := range TaskActions() {
		if CheckTask(s, a, f) == nil {
			out = append(out, a)
		}
	}
	return out
}

// CaseAction is something a user does to a case.
type CaseAction string

// Case actions, as the API names them.
const (
	CaseDestroyAction      CaseAction = "DESTROY"
	CaseChangeName         CaseAction = "CHANGE_NAME"
	CaseChangeDescription  CaseAction = "CHANGE_DESCRIPTION"
	CaseAddNote            CaseAction = "ADD_NOTE"
	CaseShowTasks          CaseAction = "SHOW_TASKS"
	CaseChangeCustomFields CaseAction = "CHANGE_CUSTOM_FIELDS"
)

type caseRule struct {
	anyOf  []Permission
	states []businesscase.State
}

// CaseStates lists every case state in lifecycle order.
var CaseStates = []businesscase.State{businesscase.StateCREATED, businesscase.StateRUNNING, businesscase.StateDONE, businesscase.StateDESTROYED}
var notDestroyed = []businesscase.State{businesscase.StateCREATED, businesscase.StateRUNNING, businesscase.StateDONE}

// caseRules is the action × permission × state table for cases.
var caseRules = map[CaseAction]caseRule{
	CaseDestroyAction:      {anyOf: []Permission{CaseDestroy}, states: []businesscase.State{businesscase.StateRUNNING}},
	CaseChangeName:         {anyOf: []Permission{CaseWriteName}, states: notDestroyed},
	CaseChangeDescription:  {anyOf: []Permission{CaseWriteDescription}, states: notDestroyed},
	CaseAddNote:            {anyOf: []Permission{TaskCaseAddNote}, states: CaseStates},
	CaseShowTasks:          {anyOf: []Permission{TaskReadOwnCaseTasks, TaskReadAll}, states: notDestroyed},
	CaseChangeCustomFields: {anyOf: []Permission{CaseWriteCustomFields}, states: notDestroyed},
}

// CaseActions lists every case action in a stable order.
func CaseActions() []CaseAction {
	return []CaseAction{CaseDestroyAction, CaseChangeName, CaseChangeDescription, CaseAddNote, CaseShowTasks, CaseChangeCustomFields}
}

// CaseStatesFor returns the states that allow a case action.
func CaseStatesFor(a CaseAction) []businesscase.State { return caseRules[a].states }

// CheckCase decides whether s may do action a on a case in state st.
func CheckCase(s *Subject, a CaseAction, st businesscase.State) error {
	rule, ok := caseRules[a]
	if !ok {
		return apperr.BadInput("unknown case action %q", a)
	}
	if s != nil && !slices.ContainsFunc(rule.anyOf, s.Has) {
		return apperr.Forbidden("to %s a case you need %s", actionWords(string(a)), joinPerms(rule.anyOf)).
			WithExtension("action", string(a))
	}
	if !slices.Contains(rule.states, st) {
		return stateConflict("case", string(a), string(st), statesText(rule.states))
	}
	return nil
}

// AllowedCaseActions lists what s may do to a case in state st now.
func AllowedCaseActions(s *Subject, st businesscase.State) []CaseAction {
	var out []CaseAction
	for _, a := range CaseActions() {
		if CheckCase(s, a, st) == nil {
			out = append(out, a)
		}
	}
	return out
}

func joinPerms(ps []Permission) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = string(p)
	}
	return fmt.Sprint(strings.Join(parts, " or "))
}
