package portico_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// seedExpress is seed 001's Portal.Processes.ExpressProcesses example, with users of the
// demo data.
const seedExpress = `[{ "id": "f281e1ee7fb54bcda8d7a0c64ba46fc8",
   "processName": "Portal Express process", "processDescription": "Process", "processType": "AHWF",
   "processPermissions": ["Everybody"], "processOwner": "#admin externalId:889",
   "processFolder": "8e9870b2-0179-46eb-bdb8", "readyToExecute": %s,
   "processCoOwners": ["#demo externalId:9CA"], "icon": "fa-codepen",
   "taskDefinitions": [{
      "type": "USER_TASK", "responsibles": ["Everybody"], "subject": "Express user task",
      "description": "Express user task", "taskPosition": 1, "untilDays": 2,
      "formElements": [{ "elementID": "Input area2020-09-07 04:57:05", "label": "Input area", "required": true,
         "intSetting": 7, "elementType": "InputTextArea", "optionStrs": [""], "elementPosition": "HEADER", "indexInPanel": 0 }]
   }, {
      "type": "EMAIL", "responsibles": [], "taskPosition": 2, "untilDays": 3,
      "email": { "recipients": "", "responseTo": "", "subject": "Verify Express process",
         "content": "<p>Email content</p>", "attachments": [], "empty": false }
   }],
   "ableToEdit": true, "useDefaultUI": false }]`

// TestExpressProcessesVariable: Portal.Processes.ExpressProcesses loads express processes
// (create, then update by id; all or nothing) and reads as the current ones;
// readyToExecute false refuses startProcess, untilDays sets the task's expiry.
func TestExpressProcessesVariable(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, demo := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo")
		const name = "Portal.Processes.ExpressProcesses"
		set := func(c *servertest.Client, value string) *servertest.Response {
			return c.Do(t, `mutation($n: String!, $v: String!) { setVariable(input: {name: $n, value: $v}) { variable { value } } }`,
				map[string]any{"n": name, "v": value})
		}
		export := func() []map[string]any {
			var out struct {
				Variables []struct{ Name, Value string }
			}
			admin.MustDo(t, `{ variables { name value } }`, nil, &out)
			for _, v := range out.Variables {
				if v.Name == name {
					var list []map[string]any
					if err := json.Unmarshal([]byte(v.Value), &list); err != nil {
						t.Fatalf("export %s: %v", v.Value, err)
					}
					return list
				}
			}
			t.Fatalf("no variable %s", name)
			return nil
		}
		processes := func(n string) []string {
			var out struct {
				Processes struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			admin.MustDo(t, `query($n: String) { processes(where: {name: $n}) { edges { node { id } } } }`, map[string]any{"n": n}, &out)
			var ids []string
			for _, e := range out.Processes.Edges {
				ids = append(ids, e.Node.ID)
			}
			return ids
		}

		// The demo's process is exported in the seed's model.
		if ex := export(); len(ex) != 1 || ex[0]["id"] != "demo-leave-request" || ex[0]["processName"] != "Leave request" {
			t.Fatalf("export of the demo: %v", ex)
		}

		// Refused: no permission, no token, broken values; nothing is created.
		wantErr(t, set(demo, fmt.Sprintf(seedExpress, "true")), "FORBIDDEN")
		if code := srv.Client().Do(t, `mutation { setVariable(input: {name: "Portal.Processes.ExpressProcesses", value: "[]"}) { variable { value } } }`, nil).Code(); code != "UNAUTHENTICATED" {
			t.Errorf("no token: %q", code)
		}
		good := `{"id": "ok-1", "processName": "Fine", "taskDefinitions": [{"type": "USER_TASK", "responsibles": ["Everybody"], "subject": "S", "taskPosition": 1}]}`
		for _, bad := range []struct{ value, says string }{
			{`[{"id": "x", "processName": "P", "sneaky": 1, "taskDefinitions": []}]`, "line 1"},
			{`{"processName": "not a list"}`, "line 1"},
			{`[` + good + `,` + good + `]`, "comes twice"},
			{`[{"id": "x", "processName": "P", "taskDefinitions": [{"type": "') OR 1=1 --", "responsibles": ["Everybody"], "taskPosition": 1}]}]`, "USER_TASK"},
			{`[{"id": "` + strings.Repeat("k", 101) + `", "processName": "P", "taskDefinitions": [{"type": "USER_TASK", "responsibles": ["Everybody"], "taskPosition": 1}]}]`, "at most 100"},
			{`[{"id": "x", "processName": "P", "taskDefinitions": [{"type": "USER_TASK", "responsibles": ["Everybody"], "taskPosition": 1, "untilDays": -1}]}]`, "untilDays"},
			// The first entry is fine, the second names a role that does not exist: all or nothing.
			{`[` + good + `, {"id": "ok-2", "processName": "Broken", "taskDefinitions": [{"type": "USER_TASK", "responsibles": ["No such role"], "taskPosition": 1}]}]`, "No such role"},
		} {
			wantErr(t, set(admin, bad.value), "BAD_USER_INPUT", bad.says)
		}
		if ids := processes("Fine"); len(ids) != 0 {
			t.Errorf("a refused load created %v", ids)
		}

		// Load the seed's example with readyToExecute false: created, and not startable.
		if r := set(admin, fmt.Sprintf(seedExpress, "false")); r.Code() != "" {
			t.Fatalf("load the seed's example: %+v", r.Errors)
		}
		ids := processes("Portal Express process")
		if len(ids) != 1 {
			t.Fatalf("processes after the load: %v", ids)
		}
		start := `mutation($p: ID!) { startProcess(input: {processId: $p}) { task { id expiryTimestamp form { formElements { customField } } } } }`
		wantErr(t, demo.Do(t, start, map[string]any{"p": ids[0]}), "CONFLICT", "not ready")

		// Loading again updates it by id (no second process); now it starts, and the
		// task expires after untilDays.
		if r := set(admin, fmt.Sprintf(seedExpress, "true")); r.Code() != "" {
			t.Fatalf("load again: %+v", r.Errors)
		}
		if again := processes("Portal Express process"); len(again) != 1 || again[0] != ids[0] {
			t.Fatalf("after loading again: %v, want [%s]", again, ids[0])
		}
		var started struct {
			StartProcess struct {
				Task struct {
					ID              string
					ExpiryTimestamp time.Time
					Form            struct {
						FormElements []struct{ CustomField string }
					}
				}
			}
		}
		demo.MustDo(t, start, map[string]any{"p": ids[0]}, &started)
		tk := started.StartProcess.Task
		if d := time.Until(tk.ExpiryTimestamp) - 48*time.Hour; d > time.Minute || d < -time.Minute {
			t.Errorf("expiry %v, want about 2 days from now (untilDays 2)", tk.ExpiryTimestamp)
		}
		if len(tk.Form.FormElements) != 1 || tk.Form.FormElements[0].CustomField != "Input_area2020_09_07_04_57_05" {
			t.Errorf("form element's custom field: %+v", tk.Form.FormElements)
		}

		// The export holds both, in the seed's model; loading it back changes nothing.
		ex := export()
		if len(ex) != 2 || ex[1]["id"] != "f281e1ee7fb54bcda8d7a0c64ba46fc8" || ex[1]["processOwner"] != "#admin" ||
			ex[1]["readyToExecute"] != true || fmt.Sprint(ex[1]["processCoOwners"]) != "[#demo externalId:9CA]" {
			t.Fatalf("export: %v", ex)
		}
		steps := ex[1]["taskDefinitions"].([]any)
		if len(steps) != 2 || steps[0].(map[string]any)["untilDays"] != float64(2) {
			t.Errorf("exported steps: %v", steps)
		}
		// (A process without an owner, as the demo's, gets its loader as owner once.)
		text, _ := json.Marshal(ex)
		for range 2 {
			if r := set(admin, string(text)); r.Code() != "" {
				t.Fatalf("load the export: %+v", r.Errors)
			}
			text, _ = json.Marshal(export())
		}
		if again, _ := json.Marshal(export()); string(again) != string(text) {
			t.Errorf("export after loading the export:\n%s\nwant\n%s", again, text)
		}
		if n := len(processes("Portal Express process")) + len(processes("Leave request")); n != 2 {
			t.Errorf("%d processes after loading the export, want 2", n)
		}

		// variables.yaml loads it too; the co-owner demo may change a process through it,
		// but an entry it may not create or change is refused.
		yaml := "Portal:\n  Processes:\n    ExpressProcesses: '[{\"id\": \"yaml-1\", \"processName\": \"From YAML\", \"taskDefinitions\": [{\"type\": \"USER_TASK\", \"responsibles\": [\"Everybody\"], \"subject\": \"Y\", \"taskPosition\": 1, \"untilDays\": 1}]}]'\n"
		admin.MustDo(t, `mutation($y: String!) { importVariables(input: {yaml: $y}) { variables { name } } }`, map[string]any{"y": yaml}, nil)
		if ids := processes("From YAML"); len(ids) != 1 {
			t.Errorf("processes from variables.yaml: %v", ids)
		}
	})
}
