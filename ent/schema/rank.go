package schema

import "slices"

// Sort ranks. The task list sorts PRIORITY by urgency and STATE by the lifecycle, not by
// name: each is ordered by a small-int rank column (priority_rank, state_rank) that the
// hook of workflow.InstallHooks keeps in step with the enum on every write. The one home
// of both orders is the declaration order of the enum values (Priorities, TaskStates,
// CaseStates); changing that order needs a migration that recomputes the ranks.
//
//   - A state's rank is its position in its declaration, from 1: CREATED is 1, so
//     STATE ASC is the lifecycle from start to end.
//   - A priority's rank counts down from the most urgent, declared first: EXCEPTION is 4,
//     LOW 1, so PRIORITY DESC is most urgent first.
//
// Rank 0 means "not computed" (the column default); the hook never leaves it.

// TaskStateRank is the sort rank of a task state.
func TaskStateRank(s string) int16 { return position(TaskStates, s) }

// CaseStateRank is the sort rank of a case state.
func CaseStateRank(s string) int16 { return position(CaseStates, s) }

// PriorityRank is the sort rank of a priority: higher is more urgent.
func PriorityRank(p string) int16 {
	if i := position(Priorities, p); i > 0 {
		return int16(len(Priorities)) + 1 - i
	}
	return 0
}

func position(values []string, v string) int16 {
	return int16(slices.Index(values, v) + 1)
}
