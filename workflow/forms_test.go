package workflow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestFormsRenderAndCheck: a UI reads a process's steps and a task's form; completeTask
// checks each value against its element's type, required fields and unknown keys; an
// APPROVAL decision with its comment lands in the case history.
func TestFormsRenderAndCheck(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		demo, admin := srv.Login(t, "demo", "demo"), srv.Login(t, "admin", "admin")
		var procs struct {
			Processes struct {
				Edges []struct {
					Node struct {
						ID    string
						Steps []struct {
							Type         string
							Subject      string
							Responsibles []string
							FormElements []struct {
								ElementID, Label, ElementType string
								Required                      bool
								OptionStrs                    []string
							}
						}
					}
				}
			}
		}
		demo.MustDo(t, `{ processes { edges { node { id steps { type subject responsibles formElements { elementID label elementType required optionStrs } } } } } }`, nil, &procs)
		p := procs.Processes.Edges[0].Node
		if len(p.Steps) != 4 || p.Steps[0].Type != "USER_TASK" || p.Steps[1].Type != "APPROVAL" || len(p.Steps[0].FormElements) != 2 {
			t.Fatalf("the demo process's steps: %+v", p.Steps)
		}
		if fe := p.Steps[0].FormElements[0]; fe.ElementID != "days" || fe.ElementType != "InputNumber" || !fe.Required || fe.OptionStrs == nil {
			t.Errorf("the first element: %+v", fe)
		}
		var started struct {
			StartProcess struct {
				Case struct{ ID string }
				Task struct {
					ID   string
					Form struct {
						Subject      string
						FormElements []struct{ ElementID string }
					}
				}
			}
		}
		demo.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { case { id } task { id form { subject formElements { elementID } } } } }`, p.ID), nil, &started)
		tid, cid := started.StartProcess.Task.ID, started.StartProcess.Case.ID
		if f := started.StartProcess.Task.Form; f.Subject != "Fill in the leave request" || len(f.FormElements) != 2 {
			t.Errorf("the task's form: %+v", f)
		}
		demo.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, tid), nil, nil)
		complete := func(c *servertest.Client, id string, data map[string]any) *servertest.Response {
			return c.Do(t, `mutation($id: ID!, $d: Map) { completeTask(input: {id: $id, data: $d}) { task { state } } }`, map[string]any{"id": id, "d": data})
		}
		for _, bad := range []map[string]any{
			{"days": "three"}, {"days": true}, {"days": "1e999"}, {}, {"reason": "no days"},
			{"days": 2, "salary": `") OR 1=1`}, {"days": 2, "reason": 7}, {"days": 2, "approved": true},
		} {
			r := complete(demo, tid, bad)
			if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "data.") {
				t.Errorf("completing with %v: %+v, want BAD_USER_INPUT naming the field", bad, r.Errors)
			}
		}
		if r := complete(demo, tid, map[string]any{"days": "2.5", "reason": "family"}); r.Code() != "" {
			t.Fatalf("a valid form: %+v", r.Errors)
		}
		// The approval, by carol of Development.
		carol := srv.Login(t, "carol", "carol")
		var tasks struct {
			Node struct {
				Tasks struct {
					Edges []struct{ Node struct{ ID, State string } }
				}
			}
		}
		admin.MustDo(t, fmt.Sprintf(`{ node(id: "%s") { ... on Case { tasks { edges { node { id state } } } } } }`, cid), nil, &tasks)
		var approval string
		for _, e := range tasks.Node.Tasks.Edges {
			if e.Node.State == "SUSPENDED" {
				approval = e.Node.ID
			}
		}
		carol.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, approval), nil, nil)
		if r := complete(carol, approval, map[string]any{"approved": "yes"}); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("approved as text: %q", r.Code())
		}
		if r := complete(carol, approval, map[string]any{"approved": false, "comment": "not in December"}); r.Code() != "" {
			t.Fatalf("a rejection: %+v", r.Errors)
		}
		var hist struct {
			Node struct {
				State   string
				History []struct {
					Typename string `json:"__typename"`
					Kind     string
					Content  string
				}
			}
		}
		admin.MustDo(t, fmt.Sprintf(`{ node(id: "%s") { ... on Case { state history { __typename ... on WorkflowEvent { kind } ... on Note { content } } } } }`, cid), nil, &hist)
		var rejected, note bool
		for _, h := range hist.Node.History {
			rejected = rejected || h.Kind == "REJECTED"
			note = note || (h.Typename == "Note" && h.Content == "Rejected. not in December")
		}
		if !rejected || !note || hist.Node.State != "DONE" {
			t.Errorf("after a rejection the case is %s; REJECTED event %t, note %t: %+v", hist.Node.State, rejected, note, hist.Node.History)
		}
	})
}
