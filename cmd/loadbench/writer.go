package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// writer sends cfg.Writes writes a second through the GraphQL API while the matrix
// measures: per round, reserveTask and resetTask of a task each non-admin viewer may
// reserve (as that viewer), then startProcess of an express process it creates at start
// (as the first viewer with All). A count check holds mu to pause it.
type writer struct {
	mu     sync.Mutex // held during each write
	cancel context.CancelFunc
	done   chan writerStats
}

type writerStats struct {
	done, failed int
	first        string
}

// A workerQueue is a viewer and the tasks it may reserve.
type workerQueue struct {
	v     *viewer
	tasks []string
}

const expressMutation = `mutation($in: ExpressProcessInput!) { createExpressProcess(input: $in) { process { id } } }`

// startWriter creates the express process as the admin, finds reservable tasks of the
// other viewers and starts the writes.
func startWriter(ctx context.Context, client *http.Client, cfg config, viewers []viewer, logf func(string, ...any)) (*writer, error) {
	var admin *viewer
	var queues []workerQueue
	for i := range viewers {
		v := &viewers[i]
		if v.All {
			if admin == nil {
				admin = v
			}
			continue
		}
		var out struct {
			Tasks struct {
				Edges []struct {
					Node struct {
						ID             string
						AllowedActions []string
					}
				}
			}
		}
		q := `query { tasks(first: 100, where: {state: SUSPENDED}, orderBy: {field: CREATED_AT, direction: DESC}) { edges { node { id allowedActions } } } }`
		if err := gql(ctx, client, cfg.URL, v.token, q, nil, &out); err != nil {
			return nil, fmt.Errorf("writer: tasks %s may reserve: %w", v.Name, err)
		}
		wq := workerQueue{v: v}
		for _, e := range out.Tasks.Edges {
			if slices.Contains(e.Node.AllowedActions, "RESERVE") && len(wq.tasks) < 20 {
				wq.tasks = append(wq.tasks, e.Node.ID)
			}
		}
		if len(wq.tasks) > 0 {
			queues = append(queues, wq)
		} else {
			logf("writer: %s may reserve none of its newest SUSPENDED tasks; it writes nothing", v.Name)
		}
	}
	if admin == nil {
		return nil, fmt.Errorf("writer: no viewer with :all to create and start the express process")
	}
	var out struct {
		CreateExpressProcess struct{ Process struct{ ID string } }
	}
	in := map[string]any{
		"processName":    fmt.Sprintf("loadbench writes %s", time.Now().UTC().Format(time.RFC3339)),
		"processType":    "loadbench",
		"readyToExecute": true,
		"taskDefinitions": []map[string]any{{
			"type": "USER_TASK", "responsibles": []string{cfg.WriteResponsible}, "subject": "Loadbench write",
			"description": "Created by loadbench -writes", "taskPosition": 1,
		}},
	}
	if err := gql(ctx, client, cfg.URL, admin.token, expressMutation, map[string]any{"in": in}, &out); err != nil {
		return nil, fmt.Errorf("writer: createExpressProcess as %s: %w", admin.Name, err)
	}
	processID := out.CreateExpressProcess.Process.ID
	logf("writer: %.0f writes/s; express process %s started as %s; reserve/reset as %d viewers", cfg.Writes, processID, admin.Name, len(queues))

	wctx, cancel := context.WithCancel(ctx)
	w := &writer{cancel: cancel, done: make(chan writerStats, 1)}
	type op struct {
		v            *viewer
		query, id    string
		vars         map[string]any
		undoReserved bool
	}
	// One round: reserve and reset per queue, one start per queue (at least one).
	var round []op
	startOp := op{v: admin, query: `mutation($id: ID!) { startProcess(input: {processId: $id}) { case { id } } }`, id: processID}
	for range max(1, len(queues)) {
		round = append(round, op{}) // placeholders for the queue's reserve and reset
		round = append(round, op{})
		round = append(round, startOp)
	}
	if len(queues) == 0 {
		round = []op{startOp}
	}
	go func() {
		var st writerStats
		tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Writes))
		defer tick.Stop()
		next := make([]int, len(queues))
		reserved := "" // a task reserved and not reset yet
		var reservedBy *viewer
		write := func(o op) {
			w.mu.Lock()
			defer w.mu.Unlock()
			err := gql(context.WithoutCancel(wctx), client, cfg.URL, o.v.token, o.query, map[string]any{"id": o.id}, nil)
			st.done++
			if err != nil {
				st.failed++
				if st.first == "" {
					st.first = err.Error()
				}
			}
		}
		for k := 0; ; k++ {
			select {
			case <-wctx.Done():
				if reserved != "" { // leave no task reserved
					write(op{v: reservedBy, query: `mutation($id: ID!) { resetTask(input: {id: $id}) { task { id } } }`, id: reserved})
				}
				w.done <- st
				return
			case <-tick.C:
			}
			i := k % len(round)
			o := round[i]
			if len(queues) > 0 && i%3 < 2 {
				q := &queues[(i/3)%len(queues)]
				if i%3 == 0 {
					reserved, reservedBy = q.tasks[next[(i/3)%len(queues)]%len(q.tasks)], q.v
					next[(i/3)%len(queues)]++
					o = op{v: q.v, query: `mutation($id: ID!) { reserveTask(input: {id: $id}) { task { id } } }`, id: reserved}
				} else {
					o = op{v: reservedBy, query: `mutation($id: ID!) { resetTask(input: {id: $id}) { task { id } } }`, id: reserved}
					reserved = ""
				}
			}
			write(o)
		}
	}()
	return w, nil
}

// stop ends the writes (resetting a task left reserved) and returns what was written.
func (w *writer) stop() writerStats {
	w.cancel()
	return <-w.done
}
