package workflow_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/mail/mailtest"
	"github.com/portico-dev/portico/servertest"
)

// TestManageExpressProcess: the owner and administrators change and delete an express
// process; others may not.
func TestManageExpressProcess(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		demo, bob, admin := srv.Login(t, "demo", "demo"), srv.Login(t, "bob", "bob"), srv.Login(t, "admin", "admin")
		def := func(name string) string {
			return fmt.Sprintf(`{processName: "%s", processPermissions: ["Everybody"], taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A"], subject: "Do it", taskPosition: 1}]}`, name)
		}
		var created struct {
			CreateExpressProcess struct{ Process struct{ ID string } }
		}
		demo.MustDo(t, `mutation { createExpressProcess(input: `+def("Mine")+`) { process { id } } }`, nil, &created)
		id := created.CreateExpressProcess.Process.ID
		update := func(name string) string {
			return fmt.Sprintf(`mutation { updateExpressProcess(input: {processId: "%s", definition: %s}) { process { name } } }`, id, def(name))
		}
		tests := []struct {
			name   string
			client *servertest.Client
			query  string
			code   string
		}{
			{"someone else may not change it", bob, update("Bob's"), "FORBIDDEN"},
			{"someone else may not delete it", bob, fmt.Sprintf(`mutation { deleteExpressProcess(input: {id: "%s"}) { ok } }`, id), "FORBIDDEN"},
			{"a broken definition", demo, fmt.Sprintf(`mutation { updateExpressProcess(input: {processId: "%s", definition: {processName: "x", taskDefinitions: []}}) { process { name } } }`, id), "BAD_USER_INPUT"},
			{"the owner changes it", demo, update("Renamed"), ""},
			{"an administrator changes it", admin, update("By admin"), ""},
			{"the owner deletes it", demo, fmt.Sprintf(`mutation { deleteExpressProcess(input: {id: "%s"}) { ok } }`, id), ""},
			{"gone", demo, fmt.Sprintf(`mutation { deleteExpressProcess(input: {id: "%s"}) { ok } }`, id), "NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if code := tt.client.Do(t, tt.query, nil).Code(); code != tt.code {
					t.Fatalf("code %q, want %q", code, tt.code)
				}
			})
		}
	})
}

// stepMails passes on the mails of EMAIL steps, leaving out the assignment mails
// (package notify) that the same server sends to the tasks' responsibles.
func stepMails(in <-chan string) <-chan string {
	out := make(chan string, 10)
	go func() {
		for m := range in {
			if !strings.Contains(m, "\r\nX-Portico-Notification:") {
				out <- m
			}
		}
	}()
	return out
}

// TestEmailStepSends runs the demo process through its EMAIL step with an SMTP server
// configured: the message goes out once the approval commits.
func TestEmailStepSends(t *testing.T) {
	addr, all := mailtest.Server(t)
	msgs := stepMails(all)
	srv := servertest.Start(t, "sqlite", portico.Config{Demo: true, SMTPURL: "smtp://" + addr + "?from=portal@example.com"})
	demo, carol := srv.Login(t, "demo", "demo"), srv.Login(t, "carol", "carol")
	var procs struct {
		Processes struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	demo.MustDo(t, `{ processes(where: {name: "Leave request"}) { edges { node { id } } } }`, nil, &procs)
	var started struct {
		StartProcess struct{ Task struct{ ID string } }
	}
	demo.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, procs.Processes.Edges[0].Node.ID), nil, &started)
	step := func(c *servertest.Client, id, data string) string {
		var out struct {
			CompleteTask struct {
				Case struct {
					Tasks struct {
						Edges []struct{ Node struct{ ID, State string } }
					}
				}
			}
		}
		c.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, id), nil, nil)
		c.MustDo(t, fmt.Sprintf(`mutation { completeTask(input: {id: "%s", data: %s}) { case { tasks { edges { node { id state } } } } } }`, id, data), nil, &out)
		for _, e := range out.CompleteTask.Case.Tasks.Edges {
			if e.Node.State == "SUSPENDED" {
				return e.Node.ID
			}
		}
		return ""
	}
	approval := step(demo, started.StartProcess.Task.ID, `{days: 3}`)
	select {
	case m := <-msgs:
		t.Fatalf("mail sent before the approval: %s", m)
	default:
	}
	step(carol, approval, `{approved: true}`)
	select {
	case m := <-msgs:
		if !strings.Contains(m, "To: hr@example.com") || !strings.Contains(m, "Leave approved") {
			t.Fatalf("unexpected mail:\n%s", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10 s of the approval")
	}
}
