package workflow_test

import (
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
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
