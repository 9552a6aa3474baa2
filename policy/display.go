package policy

import (
	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent/businesscase"
)

// The display permissions say whether a UI shows a control; the action table
// (actions.go) says whether the action may be done. A UI asks both at once: for each
// action, allowed (permission and state) and shown (allowed, and its display permissions
// held), with the reason when not.

// ActionState is one action as a UI renders it.
type ActionState struct {
	Action  string
	Allowed bool
	Shown   bool
	Reason  string // why not allowed, or not shown; "" when shown
}

// taskDisplay are the display permissions of the task actions whose controls the seed
// puts in the additional-options menu; the others are shown whenever allowed.
var taskDisplay = map[TaskAction][]Permission{
	TaskResetAction:   {TaskDisplayAdditionalOptions, TaskDisplayResetAction},
	TaskReserve:       {TaskDisplayAdditionalOptions, TaskDisplayReserveAction},
	TaskDelegate:      {TaskDisplayAdditionalOptions, TaskDisplayDelegateAction},
	TaskDestroyAction: {TaskDisplayAdditionalOptions, TaskDisplayDestroyAction},
	// Custom fields are edited where they are shown: behind the Custom Fields button.
	TaskChangeCustomFields: {TaskDisplayCustomFieldsAction},
}

// caseDisplay likewise for cases: the link to a case's full task list.
var caseDisplay = map[CaseAction][]Permission{
	CaseShowTasks:          {ShowAllTasksOfCase},
	CaseChangeCustomFields: {CaseDisplayCustomFieldsAction},
}

// TaskActionStates answers, for every task action, whether s may do it now and whether
// a UI shows it.
func TaskActionStates(s *Subject, f TaskFacts) []ActionState {
	out := make([]ActionState, 0, len(taskRules))
	for _, a := range TaskActions() {
		out = append(out, actionState(s, string(a), CheckTask(s, a, f), taskDisplay[a]))
	}
	return out
}

// CaseActionStates answers the same for every case action.
func CaseActionStates(s *Subject, st businesscase.State) []ActionState {
	out := make([]ActionState, 0, len(caseRules))
	for _, a := range CaseActions() {
		out = append(out, actionState(s, string(a), CheckCase(s, a, st), caseDisplay[a]))
	}
	return out
}

func actionState(s *Subject, action string, denied error, display []Permission) ActionState {
	st := ActionState{Action: action, Allowed: denied == nil}
	if denied != nil {
		st.Reason = denied.Error()
		return st
	}
	for _, p := range display {
		if !s.Has(p) {
			st.Reason = "allowed, but not shown without " + string(p)
			return st
		}
	}
	st.Shown = true
	return st
}

// Menu is what the portal's menus and links offer a viewer.
type Menu struct {
	Processes, Tasks, Cases                      bool // the full lists (AccessFull…List)
	TaskCustomFields, TaskWorkflowEvents         bool
	CaseDetails, CaseCustomFields, AllCaseTasks  bool
	MoreNotes, AddNotes                          bool
	CreateExpressProcess, AddDashboardChart      bool
	OwnDashboards, PublicDashboards, RoleManager bool
	News, Absences, Substitutes                  bool
}

// MenuOf returns the menu of s.
func MenuOf(s *Subject) Menu {
	return Menu{
		Processes: s.Has(AccessFullProcessList), Tasks: s.Has(AccessFullTaskList), Cases: s.Has(AccessFullCaseList),
		TaskCustomFields: s.Has(TaskDisplayCustomFieldsAction), TaskWorkflowEvents: s.Has(TaskDisplayWorkflowEventAction),
		CaseDetails: s.Has(ShowCaseDetails), CaseCustomFields: s.Has(CaseDisplayCustomFieldsAction), AllCaseTasks: s.Has(ShowAllTasksOfCase),
		MoreNotes: s.Has(TaskCaseShowMoreNote), AddNotes: s.Has(TaskCaseAddNote),
		CreateExpressProcess: s.Has(ExpressCreateWorkflow), AddDashboardChart: s.Has(StatisticAddDashboardChart),
		OwnDashboards: s.Has(DashboardWriteOwn), PublicDashboards: s.Has(DashboardWritePublic), RoleManager: s.Has(RoleManagement),
		News: s.Has(NewsManagement), Absences: s.Has(UserReadOwnAbsences) || s.Has(UserReadAbsences),
		Substitutes: s.Has(UserCreateOwnSubstitute) || s.Has(UserCreateSubstitute),
	}
}

// NotesWindow applies TaskCaseShowMoreNote to a page of a task's or case's notes:
// without it a viewer reads the newest note only (the connection's totalCount and
// hasNextPage still say how many there are), and paging further is FORBIDDEN.
func NotesWindow(s *Subject, paging bool, first *int) (*int, error) {
	if s.Has(TaskCaseShowMoreNote) {
		return first, nil
	}
	if paging {
		return nil, apperr.Forbidden("to show more notes than the newest you need %s", TaskCaseShowMoreNote).
			WithExtension("permission", string(TaskCaseShowMoreNote))
	}
	one := 1
	if first != nil && *first < one {
		return first, nil
	}
	return &one, nil
}

// CustomFieldsShown says whether s reads the custom fields of tasks (or of cases):
// TaskDisplayCustomFieldsAction / CaseDisplayCustomFieldsAction. Without it the field is
// null, as a user's email is for others; the lists still filter on custom fields, since
// a filter reveals no more than the list's rows.
func CustomFieldsShown(s *Subject, ofCases bool) bool {
	if ofCases {
		return s.Has(CaseDisplayCustomFieldsAction)
	}
	return s.Has(TaskDisplayCustomFieldsAction)
}
