package workflow

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/policy"
)

// History returns a case's tasks, notes (its own and its tasks') and events, newest
// first, at most limit of them. Each query runs under the viewer's visibility filters.
func (e *Engine) History(ctx context.Context, caseID, limit int) ([]ent.Noder, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	tasks, err := e.client.Task.Query().Where(task.CaseID(caseID)).Order(ent.Desc(task.FieldCreatedAt)).Limit(limit).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("history tasks of case %d: %w", caseID, err)
	}
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	noteLimit, err := policy.NotesWindow(a.sub, false, &limit) // the newest note only, without TaskCaseShowMoreNote
	if err != nil {
		return nil, err
	}
	notes, err := e.client.Note.Query().Where(note.CaseID(caseID)).Order(ent.Desc(note.FieldCreatedAt)).Limit(*noteLimit).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("history notes of case %d: %w", caseID, err)
	}
	events, err := e.client.WorkflowEvent.Query().Where(workflowevent.CaseID(caseID)).Order(ent.Desc(workflowevent.FieldCreatedAt)).Limit(limit).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("history events of case %d: %w", caseID, err)
	}
	type entry struct {
		at   time.Time
		node ent.Noder
	}
	all := make([]entry, 0, len(tasks)+len(notes)+len(events))
	for _, t := range tasks {
		all = append(all, entry{t.CreatedAt, t})
	}
	for _, n := range notes {
		all = append(all, entry{n.CreatedAt, n})
	}
	for _, ev := range events {
		all = append(all, entry{ev.CreatedAt, ev})
	}
	slices.SortStableFunc(all, func(a, b entry) int { return b.at.Compare(a.at) })
	out := make([]ent.Noder, 0, min(limit, len(all)))
	for _, x := range all[:min(limit, len(all))] {
		out = append(out, x.node)
	}
	return out, nil
}
