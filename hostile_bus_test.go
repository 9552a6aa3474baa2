package portico_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// Reproductions of issue 11, items 2 (the event bus trusted any NOTIFY) and 9 (DELETED
// events carried the task's current fields).

// forge sends payload on the servers' NOTIFY channel from a session of its own, as any
// role that may connect to the database can.
func forge(t *testing.T, url, payload string) {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`SELECT pg_notify('portico_events', $1)`, payload); err != nil {
		t.Fatal(err)
	}
}

func permissionsOf(t *testing.T, c *servertest.Client) []string {
	t.Helper()
	var out struct {
		Viewer struct{ Permissions []string }
	}
	c.MustDo(t, `{ viewer { permissions } }`, nil, &out)
	return out.Viewer.Permissions
}

// waitPermission waits until c's viewer holds (or lacks) perm.
func waitPermission(t *testing.T, c *servertest.Client, perm string, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for slices.Contains(permissionsOf(t, c), perm) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s held: %v after 5 s, want %v", perm, !want, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostileForgedPolicyNotify: the reviewer's pg_notify, from a raw SQL session, in
// the old wire format and with any origin, changes no user's permissions on any server;
// a real grant made through server a still reaches server b. NOTIFY delivers in commit
// order, so once the real grant (sent after the forgeries) is seen, the forgeries have
// been received too.
func TestHostileForgedPolicyNotify(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	var ids struct {
		Demo  struct{ ID string } `json:"demo"`
		Alice struct{ ID string } `json:"alice"`
		Admin struct{ ID string } `json:"admin"`
		Every struct{ ID string } `json:"every"`
	}
	admin := a.Login(t, "admin", "admin")
	admin.MustDo(t, `{ admin: viewer { id } every: role(name: "Everybody") { id } }`, nil, &ids)
	a.Login(t, "demo", "demo").MustDo(t, `{ demo: viewer { id } }`, nil, &ids)
	a.Login(t, "alice", "alice").MustDo(t, `{ alice: viewer { id } }`, nil, &ids)
	demos := []*servertest.Client{a.Login(t, "demo", "demo"), b.Login(t, "demo", "demo")}
	before := make([][]string, len(demos))
	for i, c := range demos {
		if before[i] = permissionsOf(t, c); slices.Contains(before[i], "RoleManagement") {
			t.Fatalf("server %d: demo holds RoleManagement before the attack", i)
		}
	}
	// Subjects are "u:<id>" / "r:<id>" with the database ids.
	sub := "u:" + ids.Demo.ID
	for _, p := range []string{
		fmt.Sprintf(`{"o":"x","k":"policy","p":[{"op":"add_grant","sub":%q,"perm":"RoleManagement","eft":"allow"}]}`, sub),
		// demo inherits Administrator's grants through a link; Everybody loses its defaults.
		fmt.Sprintf(`{"o":"x","k":"policy","p":[{"op":"add_link","sub":%q,"obj":"u:%s"},{"op":"remove_subject","sub":"r:%s"}]}`, sub, ids.Admin.ID, ids.Every.ID),
		fmt.Sprintf(`{"o":"x","k":"policy","p":[{"op":"add_grant","sub":"r:%s","perm":"RoleManagement","eft":"allow"}]}`, ids.Every.ID),
	} {
		forge(t, url, p)
	}
	admin.MustDo(t, fmt.Sprintf(`mutation { grantPermission(input: {permission: "TaskReadAll", userId: "%s"}) { ok } }`, ids.Alice.ID), nil, nil)
	waitPermission(t, b.Login(t, "alice", "alice"), "TaskReadAll", true)
	for i, c := range demos {
		if after := permissionsOf(t, c); !slices.Equal(after, before[i]) {
			t.Errorf("server %d: demo's permissions changed by forged notifications:\nbefore %v\nafter  %v", i, before[i], after)
		}
	}
	// And a real revoke through b reaches a.
	b.Login(t, "admin", "admin").MustDo(t, fmt.Sprintf(`mutation { revokePermission(input: {permission: "TaskReadAll", userId: "%s"}) { ok } }`, ids.Alice.ID), nil, nil)
	waitPermission(t, a.Login(t, "alice", "alice"), "TaskReadAll", false)
}

// TestHostileForgedSettingsNotify: a forged settings notification carrying a value
// changes neither the variable nor what announcementChanged subscribers are sent; the
// next real change reaches them as the first message.
func TestHostileForgedSettingsNotify(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	ann := subscribe(t, b, b.Login(t, "bob", "bob").Token, `subscription { announcementChanged { enabled value } }`)
	bob := b.Login(t, "bob", "bob")
	announcement := func() string {
		var out struct{ Announcement struct{ Value string } }
		bob.MustDo(t, `{ announcement { value } }`, nil, &out)
		return out.Announcement.Value
	}
	was := announcement()
	forged := `{"enabled":true,"contents":[{"language":"en","value":"Forged: log in at evil.example"}]}`
	b2, _ := json.Marshal(map[string]any{"o": "x", "k": "settings", "v": []string{"Portal.Announcement"},
		"vv": map[string]string{"Portal.Announcement": forged}})
	forge(t, url, string(b2))
	a.Login(t, "admin", "admin").MustDo(t, `mutation { setAnnouncement(input: {contents: [{language: "en", value: "real"}], enabled: true}) { announcement { value } } }`, nil, nil)
	if m := ann.next(); m.Payload.Data.AnnouncementChanged == nil || m.Payload.Data.AnnouncementChanged.Value != "real" {
		t.Fatalf("announcementChanged on b sent %+v first, want the real change", m)
	}
	if strings.Contains(was, "Forged") {
		t.Fatalf("announcement before: %q", was)
	}
	if v := announcement(); v != "real" {
		t.Fatalf("b serves the announcement %q, want the real one", v)
	}
	var vars struct{ Variables []variableOut }
	b.Login(t, "admin", "admin").MustDo(t, `{ variables { name value } }`, nil, &vars)
	for _, v := range vars.Variables {
		if strings.Contains(v.Value, "Forged") {
			t.Fatalf("variable %s holds the forged value", v.Name)
		}
	}
}

// TestHostileForgedResyncAndAssignment: a forged resync does not end every
// subscription with EVENTS_LOST, and a forged assignment kind is not shown to
// notification subscribers: after both, the next message each subscriber gets is the
// real event that follows.
func TestHostileForgedResyncAndAssignment(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	alice, admin := b.Login(t, "alice", "alice"), a.Login(t, "admin", "admin")
	var out struct {
		Tasks struct {
			Edges []struct{ Node struct{ ID string } }
		}
		Viewer struct{ ID string }
	}
	alice.MustDo(t, `{ viewer { id } tasks(where: {name: "Check remaining holidays"}) { edges { node { id } } } }`, nil, &out)
	taskID := out.Tasks.Edges[0].Node.ID
	tasks := subscribe(t, b, alice.Token, `subscription { taskUpdated { kind task { id name state } } }`)
	notes := subscribe(t, b, alice.Token, `subscription { notifications { kind task { id } } }`)
	forge(t, url, `{"o":"x","k":"resync"}`)
	forge(t, url, fmt.Sprintf(`{"o":"x","k":"work","a":[%s],"as":"Your account is locked: call 555-0100"}`, taskID))
	admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%s", userIds: ["%s"]}) { task { id } } }`, taskID, out.Viewer.ID), nil, nil)
	if m := tasks.next(); m.Type != "next" || m.Payload.Data.TaskUpdated.Kind != "CHANGED" || m.Payload.Data.TaskUpdated.Task.ID != taskID {
		t.Fatalf("taskUpdated got %+v first, want the real CHANGED", m)
	}
	var n struct {
		Type    string
		Payload struct {
			Data struct {
				Notifications struct{ Kind string }
			}
			Errors []any
		}
	}
	notes.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := notes.conn.ReadJSON(&n); err != nil {
		t.Fatal(err)
	}
	if n.Type != "next" || n.Payload.Data.Notifications.Kind != "DELEGATED" {
		t.Fatalf("notifications got %+v first, want the real DELEGATED", n)
	}
}

// TestHostileDeletedEventCarriesIDOnly: alice sees a task, gets its events, then it is
// delegated away from her. The DELETED event she gets has the id and nothing else: the
// task is null, so neither its name, description nor new responsibles reach her.
func TestHostileDeletedEventCarriesIDOnly(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, alice, carol := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "carol", "carol")
		var out struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
			Bob struct{ ID string } `json:"bob"`
		}
		alice.MustDo(t, `{ tasks(where: {name: "Check remaining holidays"}) { edges { node { id } } } }`, nil, &out)
		srv.Login(t, "bob", "bob").MustDo(t, `{ bob: viewer { id } }`, nil, &out)
		taskID := out.Tasks.Edges[0].Node.ID
		sub := subscribe(t, srv, alice.Token, `subscription { taskUpdated { kind id task { id name description state responsibles { ... on User { name } ... on Role { name } } case { id name } } } }`)
		cases := subscribe(t, srv, alice.Token, `subscription { caseUpdated { kind id case { id name description } } }`)
		carol.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, taskID), nil, nil)
		if kind, name := sub.event(); kind != "CHANGED" || name != "Check remaining holidays" {
			t.Fatalf("alice got %s %s, want CHANGED of her task", kind, name)
		}
		carol.MustDo(t, fmt.Sprintf(`mutation { resetTask(input: {id: "%s"}) { task { id } } }`, taskID), nil, nil)
		if kind, _ := sub.event(); kind != "CHANGED" {
			t.Fatalf("alice got %s, want CHANGED", kind)
		}
		admin.MustDo(t, fmt.Sprintf(`mutation { updateTask(input: {id: "%s", name: "Secret new name", description: "secret description"}) { task { id } } }`, taskID), nil, nil)
		if kind, name := sub.event(); kind != "CHANGED" || name != "Secret new name" {
			t.Fatalf("alice got %s %s, want the renamed task", kind, name)
		}
		admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%s", userIds: ["%s"]}) { task { id } } }`, taskID, out.Bob.ID), nil, nil)
		sub.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, raw, err := sub.conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Type    string
			Payload struct {
				Data struct {
					TaskUpdated struct {
						Kind string
						ID   string
						Task json.RawMessage
					}
				}
				Errors []any
			}
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		ev := m.Payload.Data.TaskUpdated
		if m.Type != "next" || len(m.Payload.Errors) > 0 || ev.Kind != "DELETED" || ev.ID != taskID {
			t.Fatalf("after the delegation alice got %s, want DELETED with id %s", raw, taskID)
		}
		if string(ev.Task) != "null" {
			t.Errorf("the DELETED event carries the task %s, want null", ev.Task)
		}
		for _, secret := range []string{"Secret new name", "secret description", "bob", "Leave request"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("the DELETED event shows %q: %s", secret, raw)
			}
		}

		// The case: alice saw it through that task alone. She got its events for the 3
		// actions above (CREATED: the case itself never changed); the delegation's
		// event is a DELETED with the id alone.
		var caseID string
		for i := 0; ; i++ {
			cases.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, raw, err := cases.conn.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				Type    string
				Payload struct {
					Data struct {
						CaseUpdated struct {
							Kind, ID string
							Case     *struct{ ID, Name string }
						}
					}
				}
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			ev := c.Payload.Data.CaseUpdated
			if c.Type != "next" || i > 3 {
				t.Fatalf("caseUpdated message %d: %s", i, raw)
			}
			if ev.Kind != "DELETED" && ev.Case != nil && ev.Case.ID == ev.ID {
				caseID = ev.ID
				continue
			}
			if ev.Kind != "DELETED" || ev.ID != caseID || ev.Case != nil || i != 3 || strings.Contains(string(raw), "Leave request") {
				t.Fatalf("caseUpdated message %d: %s, want the DELETED of case %s with the id alone", i, raw, caseID)
			}
			break
		}
	})
}
