package workflow_test

import (
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestCaseHistory runs the demo process one step and checks the case history: newest
// first, events only for viewers with TaskDisplayWorkflowEventAction.
func TestCaseHistory(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		demo, admin := srv.Login(t, "demo", "demo"), srv.Login(t, "admin", "admin")
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		demo.MustDo(t, `{ processes { edges { node { id } } } }`, nil, &procs)
		var started struct {
			StartProcess struct {
				Case struct{ ID string }
				Task struct{ ID string }
			}
		}
		demo.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { case { id } task { id } } }`,
			procs.Processes.Edges[0].Node.ID), nil, &started)
		tid, cid := started.StartProcess.Task.ID, started.StartProcess.Case.ID
		demo.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, tid), nil, nil)
		demo.MustDo(t, fmt.Sprintf(`mutation { addTaskNote(input: {taskId: "%s", content: "on it"}) { note { id } } }`, tid), nil, nil)
		demo.MustDo(t, fmt.Sprintf(`mutation { completeTask(input: {id: "%s", data: {days: 2}}) { task { state } } }`, tid), nil, nil)

		history := fmt.Sprintf(`{ node(id: "%s") { ... on Case { history { __typename ... on WorkflowEvent { kind } ... on Note { content } ... on Task { name } } } } }`, cid)
		type item struct{ Typename, Kind, Content, Name string }
		read := func(c *servertest.Client) []item {
			var out struct {
				Node struct {
					History []struct {
						Typename string `json:"__typename"`
						Kind     string
						Content  string
						Name     string
					}
				}
			}
			c.MustDo(t, history, nil, &out)
			var items []item
			for _, h := range out.Node.History {
				items = append(items, item{h.Typename, h.Kind, h.Content, h.Name})
			}
			return items
		}
		count := func(items []item, typ string) int {
			n := 0
			for _, it := range items {
				if it.Typename == typ {
					n++
				}
			}
			return n
		}
		asDemo, asAdmin := read(demo), read(admin)
		if count(asDemo, "Task") != 2 || count(asDemo, "Note") != 1 || count(asDemo, "WorkflowEvent") != 0 {
			t.Fatalf("demo's history: %+v; want 2 tasks, 1 note, no events (no TaskDisplayWorkflowEventAction)", asDemo)
		}
		if count(asAdmin, "WorkflowEvent") < 4 { // created, started, note, completed, next created
			t.Fatalf("admin's history: %+v; want the workflow events", asAdmin)
		}
		if asDemo[0].Typename != "Task" || asDemo[0].Name != "Approve leave request" {
			t.Fatalf("newest entry %+v, want the task created last", asDemo[0])
		}
	})
}
