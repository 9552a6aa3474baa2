package policy

import (
	"slices"

	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
)

// BusinessState is the state a task list shows and filters by.
type BusinessState string

// Task business states.
const (
	BusinessOpen       BusinessState = "OPEN"
	BusinessInProgress BusinessState = "IN_PROGRESS"
	BusinessDone       BusinessState = "DONE"
	BusinessDestroyed  BusinessState = "DESTROYED"
	BusinessDelayed    BusinessState = "DELAYED"
	BusinessError      BusinessState = "ERROR"
)

// businessStates groups the task states under each business state.
var businessStates = map[BusinessState][]task.State{
	BusinessOpen:       {task.StateSUSPENDED, task.StatePARKED},
	BusinessInProgress: {task.StateCREATED, task.StateRESUMED},
	BusinessDone:       {task.StateDONE, task.StateREADY_FOR_JOIN},
	BusinessDestroyed:  {task.StateDESTROYED},
	BusinessDelayed:    {task.StateDELAYED},
	BusinessError:      {task.StateFAILED},
}

// TaskBusinessState returns the business state of a task state.
func TaskBusinessState(s task.State) BusinessState {
	for b, states := range businessStates {
		for _, st := range states {
			if st == s {
				return b
			}
		}
	}
	return BusinessError
}

// TaskStatesOf returns the task states of a business state.
func TaskStatesOf(b BusinessState) []task.State { return businessStates[b] }

// caseBusinessStates groups the case states under the case business states OPEN, DONE
// and DESTROYED.
var caseBusinessStates = map[string][]businesscase.State{
	"OPEN":      {businesscase.StateCREATED, businesscase.StateRUNNING},
	"DONE":      {businesscase.StateDONE},
	"DESTROYED": {businesscase.StateDESTROYED},
}

// CaseStatesOf returns the case states of a case business state.
func CaseStatesOf(b string) []businesscase.State { return caseBusinessStates[b] }

// CaseBusinessState returns the case business state (OPEN, DONE, DESTROYED) of a case state.
func CaseBusinessState(s businesscase.State) string {
	for b, states := range caseBusinessStates {
		if slices.Contains(states, s) {
			return b
		}
	}
	return ""
}
