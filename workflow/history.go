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
	"github.com/portico-dev/portico/paging"
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

// The kinds of history entries, in the order they come at the same instant.
const (
	historyTask = iota
	historyNote
	historyEvent
)

// historyKey places an entry in a history, newest first: (-time, kind, -id).
func historyKey(at time.Time, kind, id int) paging.Key {
	return paging.Key{-at.UnixNano(), int64(kind), -int64(id)}
}

// HistoryWidth is the number of parts of a history cursor's key.
const HistoryWidth = 3

// historyEntry is the id and time of one entry of a history.
type historyEntry struct {
	ID        int       `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	kind      int
}

func (x historyEntry) key() paging.Key { return historyKey(x.CreatedAt, x.kind, x.ID) }

// HistoryPage pages a case's history (its tasks, notes and events, newest first) under
// the viewer's read rules. It reads the ids and times of all entries the viewer may
// read (so TotalCount is exact), then the rows of the page alone. Without
// TaskCaseShowMoreNote the history holds the newest note only, as History does.
func (e *Engine) HistoryPage(ctx context.Context, caseID int, args paging.Args) (*paging.Page[ent.Noder], error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	var tasks, notes, events []historyEntry
	if err := e.client.Task.Query().Where(task.CaseID(caseID)).Select(task.FieldID, task.FieldCreatedAt).Scan(ctx, &tasks); err != nil {
		return nil, fmt.Errorf("history tasks of case %d: %w", caseID, err)
	}
	nq := e.client.Note.Query().Where(note.CaseID(caseID)).Order(ent.Desc(note.FieldCreatedAt), ent.Desc(note.FieldID))
	if w, err := policy.NotesWindow(a.sub, false, nil); err != nil {
		return nil, err
	} else if w != nil {
		nq.Limit(*w)
	}
	if err := nq.Select(note.FieldID, note.FieldCreatedAt).Scan(ctx, &notes); err != nil {
		return nil, fmt.Errorf("history notes of case %d: %w", caseID, err)
	}
	if err := e.client.WorkflowEvent.Query().Where(workflowevent.CaseID(caseID)).
		Select(workflowevent.FieldID, workflowevent.FieldCreatedAt).Scan(ctx, &events); err != nil {
		return nil, fmt.Errorf("history events of case %d: %w", caseID, err)
	}
	all := make([]historyEntry, 0, len(tasks)+len(notes)+len(events))
	for kind, list := range [][]historyEntry{historyTask: tasks, historyNote: notes, historyEvent: events} {
		for _, x := range list {
			x.kind = kind
			all = append(all, x)
		}
	}
	paging.Sort(all, historyEntry.key)
	page, err := paging.Slice(all, historyEntry.key, HistoryWidth, args)
	if err != nil {
		return nil, err
	}
	return e.loadHistory(ctx, page)
}

// loadHistory reads the rows of a page of history entries, in the page's order; an
// entry deleted meanwhile is left out.
func (e *Engine) loadHistory(ctx context.Context, page *paging.Page[historyEntry]) (*paging.Page[ent.Noder], error) {
	ids := [3][]int{}
	for _, x := range page.Items {
		ids[x.kind] = append(ids[x.kind], x.ID)
	}
	rows := map[[2]int]ent.Noder{}
	if len(ids[historyTask]) > 0 {
		ts, err := e.client.Task.Query().Where(task.IDIn(ids[historyTask]...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("history tasks: %w", err)
		}
		for _, t := range ts {
			rows[[2]int{historyTask, t.ID}] = t
		}
	}
	if len(ids[historyNote]) > 0 {
		ns, err := e.client.Note.Query().Where(note.IDIn(ids[historyNote]...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("history notes: %w", err)
		}
		for _, n := range ns {
			rows[[2]int{historyNote, n.ID}] = n
		}
	}
	if len(ids[historyEvent]) > 0 {
		evs, err := e.client.WorkflowEvent.Query().Where(workflowevent.IDIn(ids[historyEvent]...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("history events: %w", err)
		}
		for _, ev := range evs {
			rows[[2]int{historyEvent, ev.ID}] = ev
		}
	}
	out := &paging.Page[ent.Noder]{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage, TotalCount: page.TotalCount}
	for i, x := range page.Items {
		if n, ok := rows[[2]int{x.kind, x.ID}]; ok {
			out.Items = append(out.Items, n)
			out.Keys = append(out.Keys, page.Keys[i])
		}
	}
	return out, nil
}
