package statistics

import (
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/settings"
)

// FromSeed maps a chart of Portal.StatisticCharts onto a Spec: its type chooses target,
// grouping and aggregation (domain.md, Statistics), its filter becomes predicates.
func FromSeed(chartType string, f settings.ChartFilter, now time.Time) (Spec, error) {
	var s Spec
	switch chartType {
	case "TASK_BY_PRIORITY":
		s = Spec{Target: Tasks, GroupBy: ByPriority}
	case "CASES_BY_STATE":
		s = Spec{Target: Cases, GroupBy: ByState}
	case "TASK_BY_EXPIRY":
		// Expiry matters for work still to do.
		open := append(policy.TaskStatesOf(policy.BusinessOpen), policy.TaskStatesOf(policy.BusinessInProgress)...)
		s = Spec{Target: Tasks, GroupBy: ByExpiry, TaskWhere: []predicate.Task{task.StateIn(open...)}}
	case "ELAPSED_TIME_BY_CASE_CATEGORY":
		s = Spec{Target: Cases, GroupBy: ByCategory, Aggregation: Avg, Field: BusinessRuntime,
			CaseWhere: []predicate.BusinessCase{businesscase.StateEQ(businesscase.StateDONE)}}
	case "CASES_BY_FINISHED_TASK":
		// Finished tasks over time: how much work the cases got done.
		s = Spec{Target: Tasks, GroupBy: ByEndedAt, Interval: periodInterval(f.TimePeriodSelection),
			TaskWhere: []predicate.Task{task.StateEQ(task.StateDONE)}}
	case "CASES_BY_FINISHED_TIME":
		s = Spec{Target: Cases, GroupBy: ByEndedAt, Interval: periodInterval(f.TimePeriodSelection),
			CaseWhere: []predicate.BusinessCase{businesscase.StateEQ(businesscase.StateDONE)}}
	case "CASES_BY_CATEGORY":
		s = Spec{Target: Cases, GroupBy: ByCategory}
	default:
		return Spec{}, apperr.BadInput("chart type %q is not one of %v", chartType, settings.ChartTypes)
	}
	if s.Aggregation == "" {
		s.Aggregation = Count
	}
	if err := s.applyFilter(f, now); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// WithFilter adds a seed filter's conditions to a custom chart.
func WithFilter(s Spec, f settings.ChartFilter, now time.Time) (Spec, error) {
	err := s.applyFilter(f, now)
	return s, err
}

// periodInterval picks the bars' width for a time period: days for a week or a month,
// months otherwise.
func periodInterval(p string) Interval {
	if p == "LAST_WEEK" || p == "LAST_MONTH" {
		return Day
	}
	return Month
}

// applyFilter adds the seed filter's conditions; on a task chart, case conditions apply
// to each task's case, and on a case chart, task conditions to some task of the case.
func (s *Spec) applyFilter(f settings.ChartFilter, now time.Time) error {
	var tp []predicate.Task
	var cp []predicate.BusinessCase
	from, to, err := period(f, now)
	if err != nil {
		return err
	}
	if !from.IsZero() {
		tp = append(tp, task.CreatedAtGTE(from))
		cp = append(cp, businesscase.CreatedAtGTE(from))
	}
	if !to.IsZero() {
		tp = append(tp, task.CreatedAtLT(to))
		cp = append(cp, businesscase.CreatedAtLT(to))
	}
	var caseOnly []predicate.BusinessCase
	var taskOnly []predicate.Task
	if len(f.SelectedCaseCategories) > 0 {
		caseOnly = append(caseOnly, businesscase.CategoryIn(f.SelectedCaseCategories...))
	}
	if !f.IsAllCaseStatesSelected && len(f.SelectedCaseStates) > 0 {
		states := make([]businesscase.State, len(f.SelectedCaseStates))
		for i, st := range f.SelectedCaseStates {
			states[i] = businesscase.State(st)
			if err := businesscase.StateValidator(states[i]); err != nil {
				return apperr.BadInput("filter.selectedCaseStates: %q is not a case state", st)
			}
		}
		caseOnly = append(caseOnly, businesscase.StateIn(states...))
	}
	if !f.IsAllTaskPrioritiesSelected && len(f.SelectedTaskPriorities) > 0 {
		prios := make([]task.Priority, len(f.SelectedTaskPriorities))
		for i, p := range f.SelectedTaskPriorities {
			prios[i] = task.Priority(p)
			if err := task.PriorityValidator(prios[i]); err != nil {
				return apperr.BadInput("filter.selectedTaskPriorities: %q is not a priority", p)
			}
		}
		taskOnly = append(taskOnly, task.PriorityIn(prios...))
	}
	if !f.IsAllRolesSelected && len(f.SelectedRoles) > 0 {
		taskOnly = append(taskOnly, task.HasResponsiblesWith(taskresponsible.Expiry(false),
			taskresponsible.HasRoleWith(role.NameIn(f.SelectedRoles...))))
	}
	custom, err := filter.CaseCustomFieldsAnyOf(f.CustomFieldFilters)
	if err != nil {
		return apperr.BadInput("filter.%v", err)
	}
	caseOnly = append(caseOnly, custom...)
	switch s.Target {
	case Tasks:
		tp = append(tp, taskOnly...)
		if len(caseOnly) > 0 {
			tp = append(tp, task.HasCaseWith(caseOnly...))
		}
		s.TaskWhere = append(s.TaskWhere, tp...)
	case Cases:
		cp = append(cp, caseOnly...)
		if len(taskOnly) > 0 {
			cp = append(cp, businesscase.HasTasksWith(taskOnly...))
		}
		s.CaseWhere = append(s.CaseWhere, cp...)
	}
	return nil
}

// period returns the creation-time range of a filter's time period (zero: open).
func period(f settings.ChartFilter, now time.Time) (from, to time.Time, err error) {
	switch f.TimePeriodSelection {
	case "LAST_WEEK":
		return now.AddDate(0, 0, -7), time.Time{}, nil
	case "LAST_MONTH":
		return now.AddDate(0, -1, 0), time.Time{}, nil
	case "LAST_6_MONTH":
		return now.AddDate(0, -6, 0), time.Time{}, nil
	case "CUSTOM":
		parse := func(name string, v *string) (time.Time, error) {
			if v == nil || *v == "" {
				return time.Time{}, nil
			}
			for _, layout := range []string{time.RFC3339, "2006-01-02"} {
				if t, err := time.Parse(layout, *v); err == nil {
					return t.UTC(), nil
				}
			}
			return time.Time{}, apperr.BadInput("filter.%s: %q is not a date (2006-01-02) or an RFC 3339 time", name, *v)
		}
		if from, err = parse("createdDateFrom", f.CreatedDateFrom); err != nil {
			return
		}
		if to, err = parse("createdDateTo", f.CreatedDateTo); err != nil {
			return
		}
		if !to.IsZero() && len(*f.CreatedDateTo) == len("2006-01-02") {
			to = to.AddDate(0, 0, 1) // a date as the end means the whole day
		}
		return from, to, nil
	}
	return time.Time{}, time.Time{}, nil
}
