// Package policy owns authorization: the permission list, the action × state table, the
// Casbin model generated from the role graph, and the visibility predicates.
package policy

// Permission is a permission name exactly as the product documents spell it.
type Permission string

// Group is the permission group a permission belongs to in the documents.
type Group string

// Permission groups.
const (
	GroupTask    Group = "TASK"
	GroupCase    Group = "CASE"
	GroupGeneral Group = "GENERAL"
	GroupAbsence Group = "ABSENCE_SUBSTITUTE"
)

// Permissions of seed 002, plus ExpressCreateWorkflow and StatisticAddDashboardChart of seed 001,
// CreatePublicExternalLink, CreatePublicFilter and TaskWriteCustomFields / CaseWriteCustomFields.
const (
	TaskReadAll                    Permission = "TaskReadAll"
	SystemTaskReadAll              Permission = "SystemTaskReadAll"
	TaskReadOwnCaseTasks           Permission = "TaskReadOwnCaseTasks"
	TaskParkOwnWorkingTask         Permission = "TaskParkOwnWorkingTask"
	TaskResetOwnWorkingTask        Permission = "TaskResetOwnWorkingTask"
	TaskReset                      Permission = "TaskReset"
	TaskResetReadyForJoin          Permission = "TaskResetReadyForJoin"
	TaskDestroy                    Permission = "TaskDestroy"
	TaskWriteName                  Permission = "TaskWriteName"
	TaskWriteDescription           Permission = "TaskWriteDescription"
	TaskWriteOriginalPriority      Permission = "TaskWriteOriginalPriority"
	TaskWriteExpiryTimestamp       Permission = "TaskWriteExpiryTimestamp"
	TaskWriteActivator             Permission = "TaskWriteActivator"
	TaskWriteExpiryActivator       Permission = "TaskWriteExpiryActivator"
	TaskWriteDelayTimestamp        Permission = "TaskWriteDelayTimestamp"
	TaskWriteActivatorOwnTasks     Permission = "TaskWriteActivatorOwnTasks"
	TaskDisplayAdditionalOptions   Permission = "TaskDisplayAdditionalOptions"
	TaskDisplayResetAction         Permission = "TaskDisplayResetAction"
	TaskDisplayReserveAction       Permission = "TaskDisplayReserveAction"
	TaskDisplayDelegateAction      Permission = "TaskDisplayDelegateAction"
	TaskDisplayDestroyAction       Permission = "TaskDisplayDestroyAction"
	TaskDisplayWorkflowEventAction Permission = "TaskDisplayWorkflowEventAction"
	TaskDisplayCustomFieldsAction  Permission = "TaskDisplayCustomFieldsAction"
	// TaskWriteHidden and CaseWriteHidden set the seed's HIDE property (setTaskHidden,
	// setCaseHidden); the seed names no permission for it, so these follow its Write names.
	TaskWriteHidden Permission = "TaskWriteHidden"

	CaseReadAll                   Permission = "CaseReadAll"
	CaseDestroy                   Permission = "CaseDestroy"
	CaseOwnerTaskDelegate         Permission = "CaseOwnerTaskDelegate"
	CaseWriteName                 Permission = "CaseWriteName"
	CaseWriteDescription          Permission = "CaseWriteDescription"
	ShowAllTasksOfCase            Permission = "ShowAllTasksOfCase"
	ShowCaseDetails               Permission = "ShowCaseDetails"
	CaseDisplayCustomFieldsAction Permission = "CaseDisplayCustomFieldsAction"
	CaseWriteHidden               Permission = "CaseWriteHidden"

	AccessFullProcessList       Permission = "AccessFullProcessList"
	AccessFullTaskList          Permission = "AccessFullTaskList"
	AccessFullCaseList          Permission = "AccessFullCaseList"
	DashboardWriteOwn           Permission = "DashboardWriteOwn"
	DashboardWritePublic        Permission = "DashboardWritePublic"
	DashboardExportOwn          Permission = "DashboardExportOwn"
	DashboardExportPublic       Permission = "DashboardExportPublic"
	DashboardImportOwn          Permission = "DashboardImportOwn"
	DashboardImportPublic       Permission = "DashboardImportPublic"
	DocumentRead                Permission = "DocumentRead"
	DocumentWrite               Permission = "DocumentWrite"
	DocumentOfInvolvedCaseWrite Permission = "DocumentOfInvolvedCaseWrite"
	RoleReadAll                 Permission = "RoleReadAll"
	RoleManagement              Permission = "RoleManagement"
	RoleCreate                  Permission = "RoleCreate"
	RoleDelete                  Permission = "RoleDelete"
	RoleMove                    Permission = "RoleMove"
	TaskCaseAddNote             Permission = "TaskCaseAddNote"
	TaskCaseShowMoreNote        Permission = "TaskCaseShowMoreNote"
	NoteReadAllCaseTaskDetails  Permission = "NoteReadAllCaseTaskDetails"
	NewsManagement              Permission = "NewsManagement"
	PasswordValidation          Permission = "PasswordValidation"
	NotificationChannelsSetting Permission = "NotificationChannelsSetting"
	ExpressCreateWorkflow       Permission = "ExpressCreateWorkflow"
	StatisticAddDashboardChart  Permission = "StatisticAddDashboardChart"
	// CreatePublicExternalLink: seed 001's "create public external link, all other users
	// can see that link in full process list" (a private link needs no permission).
	CreatePublicExternalLink Permission = "CreatePublicExternalLink"
	// CreatePublicFilter: seed 001's PortalKit administrators "create public filters"
	// (saved task and case filters every user sees; a private one needs no permission).
	// The seed names no permission; this follows CreatePublicExternalLink, its sibling
	// in the same sentence style. Off by default.
	CreatePublicFilter Permission = "CreatePublicFilter"
	// TaskWriteCustomFields / CaseWriteCustomFields: set and clear the custom fields of a
	// task or case (setTaskCustomFields, setCaseCustomFields). The seeds name the display
	// permissions only; these follow their Task/CaseWrite… names. Off by default.
	TaskWriteCustomFields Permission = "TaskWriteCustomFields"
	CaseWriteCustomFields Permission = "CaseWriteCustomFields"

	UserReadOwnAbsences     Permission = "UserReadOwnAbsences"
	UserCreateOwnAbsence    Permission = "UserCreateOwnAbsence"
	UserDeleteOwnAbsence    Permission = "UserDeleteOwnAbsence"
	UserReadAbsences        Permission = "UserReadAbsences"
	UserCreateAbsence       Permission = "UserCreateAbsence"
	UserDeleteAbsence       Permission = "UserDeleteAbsence"
	UserCreateOwnSubstitute Permission = "UserCreateOwnSubstitute"
	UserCreateSubstitute    Permission = "UserCreateSubstitute"
	UserReadSubstitutes     Permission = "UserReadSubstitutes"
)

// Definition describes one permission: its group and whether a fresh install grants it
// to Everybody.
type Definition struct {
	Name             Permission
	Group            Group
	EverybodyDefault bool
}

// All is the one list of permissions, in the documents' order. Where seeds 001 and 002
// disagree on a default (ShowCaseDetails, TaskWriteActivator), 002 wins.
var All = []Definition{
	{TaskReadAll, GroupTask, false},
	{SystemTaskReadAll, GroupTask, false},
	{TaskReadOwnCaseTasks, GroupTask, true},
	{TaskParkOwnWorkingTask, GroupTask, true},
	{TaskResetOwnWorkingTask, GroupTask, true},
	{TaskReset, GroupTask, false},
	{TaskResetReadyForJoin, GroupTask, false},
	{TaskDestroy, GroupTask, false},
	{TaskWriteName, GroupTask, false},
	{TaskWriteDescription, GroupTask, false},
	{TaskWriteOriginalPriority, GroupTask, false},
	{TaskWriteExpiryTimestamp, GroupTask, false},
	{TaskWriteActivator, GroupTask, true},
	{TaskWriteExpiryActivator, GroupTask, false},
	{TaskWriteDelayTimestamp, GroupTask, false},
	{TaskWriteActivatorOwnTasks, GroupTask, false},
	{TaskDisplayAdditionalOptions, GroupTask, true},
	{TaskDisplayResetAction, GroupTask, true},
	{TaskDisplayReserveAction, GroupTask, true},
	{TaskDisplayDelegateAction, GroupTask, true},
	{TaskDisplayDestroyAction, GroupTask, false},
	{TaskDisplayWorkflowEventAction, GroupTask, false},
	{TaskDisplayCustomFieldsAction, GroupTask, false},
	{TaskWriteHidden, GroupTask, false},
	{TaskWriteCustomFields, GroupTask, false},

	{CaseReadAll, GroupCase, false},
	{CaseDestroy, GroupCase, false},
	{CaseOwnerTaskDelegate, GroupCase, false},
	{CaseWriteName, GroupCase, false},
	{CaseWriteDescription, GroupCase, false},
	{ShowAllTasksOfCase, GroupCase, false},
	{ShowCaseDetails, GroupCase, true},
	{CaseDisplayCustomFieldsAction, GroupCase, false},
	{CaseWriteHidden, GroupCase, false},
	{CaseWriteCustomFields, GroupCase, false},

	{AccessFullProcessList, GroupGeneral, true},
	{AccessFullTaskList, GroupGeneral, true},
	{AccessFullCaseList, GroupGeneral, true},
	{DashboardWriteOwn, GroupGeneral, true},
	{DashboardWritePublic, GroupGeneral, false},
	{DashboardExportOwn, GroupGeneral, false},
	{DashboardExportPublic, GroupGeneral, false},
	{DashboardImportOwn, GroupGeneral, false},
	{DashboardImportPublic, GroupGeneral, false},
	{DocumentRead, GroupGeneral, false},
	{DocumentWrite, GroupGeneral, false},
	{DocumentOfInvolvedCaseWrite, GroupGeneral, true},
	{RoleReadAll, GroupGeneral, true},
	{RoleManagement, GroupGeneral, false},
	{RoleCreate, GroupGeneral, false},
	{RoleDelete, GroupGeneral, false},
	{RoleMove, GroupGeneral, false},
	{TaskCaseAddNote, GroupGeneral, true},
	{TaskCaseShowMoreNote, GroupGeneral, true},
	{NoteReadAllCaseTaskDetails, GroupGeneral, false},
	{NewsManagement, GroupGeneral, false},
	{PasswordValidation, GroupGeneral, false},
	{NotificationChannelsSetting, GroupGeneral, true},
	{ExpressCreateWorkflow, GroupGeneral, true},
	{StatisticAddDashboardChart, GroupGeneral, true},
	{CreatePublicExternalLink, GroupGeneral, false},
	{CreatePublicFilter, GroupGeneral, false},

	{UserReadOwnAbsences, GroupAbsence, true},
	{UserCreateOwnAbsence, GroupAbsence, true},
	{UserDeleteOwnAbsence, GroupAbsence, true},
	{UserReadAbsences, GroupAbsence, false},
	{UserCreateAbsence, GroupAbsence, false},
	{UserDeleteAbsence, GroupAbsence, false},
	{UserCreateOwnSubstitute, GroupAbsence, true},
	{UserCreateSubstitute, GroupAbsence, false},
	{UserReadSubstitutes, GroupAbsence, false},
}

var byName = func() map[Permission]Definition {
	m := make(map[Permission]Definition, len(All))
	for _, d := range All {
		m[d.Name] = d
	}
	return m
}()

// Lookup returns the definition of a permission name and whether it exists.
func Lookup(name string) (Definition, bool) {
	d, ok := byName[Permission(name)]
	return d, ok
}
