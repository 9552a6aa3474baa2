package portico_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/graph"
	"github.com/portico-dev/portico/live"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// wsClient is a minimal graphql-transport-ws client.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	once sync.Once
	msgs chan wsMessage // see drain
	err  error          // why msgs closed
}

func subscribe(t *testing.T, srv *servertest.Server, token, query string) *wsClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn}
	c.write(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}})
	if m := c.next(); m.Type != "connection_ack" {
		t.Fatalf("init: %+v", m)
	}
	c.write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}})
	// The protocol does not acknowledge a subscribe; give the server a moment to register
	// it before the test makes the changes it should see.
	time.Sleep(200 * time.Millisecond)
	return c
}

type wsMessage struct {
	ID      string
	Type    string
	Payload struct {
		Data struct {
			TaskUpdated struct {
				Kind string
				ID   string
				Task struct{ ID, Name, State string }
			}
			CaseUpdated struct {
				Kind string
				ID   string
				Case *struct{ ID, Name string }
			}
			AnnouncementChanged *struct {
				Enabled bool
				Value   string
			}
			StatisticUpdated *chartOut
		}
		Errors []any
	}
}

func (c *wsClient) write(v any) {
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) next() wsMessage {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m wsMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m
		}
	}
}

// event returns the next task event, failing on anything else.
func (c *wsClient) event() (kind, name string) {
	c.t.Helper()
	m := c.next()
	if m.Type != "next" || len(m.Payload.Errors) > 0 {
		c.t.Fatalf("want a task event, got %+v", m)
	}
	return m.Payload.Data.TaskUpdated.Kind, m.Payload.Data.TaskUpdated.Task.Name
}

// TestTaskSubscriptions: subscribers get events for the tasks they may see at that
// moment only; losing a role ends the events (after one DELETED).
func TestTaskSubscriptions(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, carol := srv.Login(t, "admin", "admin"), srv.Login(t, "carol", "carol")
		alice := srv.Login(t, "alice", "alice")
		ids := map[string]string{}
		var out struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID, Name string } }
			}
			Alice struct{ ID string } `json:"alice"`
			Every struct{ ID string } `json:"every"`
		}
		admin.MustDo(t, `{ tasks { edges { node { id name } } } }`, nil, &out)
		for _, e := range out.Tasks.Edges {
			ids[e.Node.Name] = e.Node.ID
		}
		alice.MustDo(t, `{ alice: viewer { id } every: role(name: "Everybody") { id } }`, nil, &out)
		q := `subscription { taskUpdated { kind task { id name state } } }`
		sub := subscribe(t, srv, alice.Token, q)
		act := func(c *servertest.Client, mutation, task string) {
			c.MustDo(t, fmt.Sprintf(`mutation { %s(input: {id: "%s"}) { task { id } } }`, mutation, ids[task]), nil, nil)
		}
		// carol (Second Level) starts the Support Group task alice also sees.
		act(carol, "startTask", "Check remaining holidays")
		if kind, name := sub.event(); kind != "CHANGED" || name != "Check remaining holidays" {
			t.Fatalf("alice got %s %s", kind, name)
		}
		// A task alice cannot see: nothing; her own new note-free change below comes first.
		demoUser := srv.Login(t, "demo", "demo")
		act(demoUser, "startTask", "Plan handover")
		act(carol, "resetTask", "Check remaining holidays")
		if kind, name := sub.event(); kind != "CHANGED" || name != "Check remaining holidays" {
			t.Fatalf("alice got %s %s; the Plan handover event must not reach her", kind, name)
		}
		// alice loses First Level: the next change of the task tells her it is gone, and
		// nothing after that.
		admin.MustDo(t, fmt.Sprintf(`mutation { setUserRoles(input: {userId: "%s", roleIds: ["%s"]}) { user { id } } }`, out.Alice.ID, out.Every.ID), nil, nil)
		act(carol, "startTask", "Check remaining holidays")
		if kind, _ := sub.event(); kind != "DELETED" {
			t.Fatalf("after losing the role alice got %s, want DELETED", kind)
		}
		act(carol, "resetTask", "Check remaining holidays")
		sub.conn.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		var m wsMessage
		if err := sub.conn.ReadJSON(&m); err == nil && m.Type == "next" {
			t.Fatalf("a revoked subscriber still receives %+v", m)
		}
	})
}

// TestChangeKinds: the kind of a change is the one the write made, carried by the event:
// a started process's task and case arrive CREATED, a note on a case that already
// existed arrives CHANGED (it once arrived CREATED, guessed from its timestamps), and
// so does starting the new task.
func TestChangeKinds(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "bob", "bob")
		tasks := subscribe(t, srv, admin.Token, `subscription { taskUpdated { kind id task { id name } } }`)
		cases := subscribe(t, srv, admin.Token, `subscription { caseUpdated { kind id case { id name } } }`)
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ processes { edges { node { id } } } }`, nil, &procs)
		var started struct {
			StartProcess struct {
				Case struct{ ID string }
				Task struct{ ID string }
			}
		}
		bob.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { case { id } task { id } } }`, procs.Processes.Edges[0].Node.ID), nil, &started)
		taskEvent := func() (string, string) {
			t.Helper()
			m := tasks.next()
			if m.Type != "next" || len(m.Payload.Errors) > 0 {
				t.Fatalf("want a task event, got %+v", m)
			}
			return m.Payload.Data.TaskUpdated.Kind, m.Payload.Data.TaskUpdated.ID
		}
		caseEvent := func() (string, string) {
			t.Helper()
			m := cases.next()
			if m.Type != "next" || len(m.Payload.Errors) > 0 {
				t.Fatalf("want a case event, got %+v", m)
			}
			return m.Payload.Data.CaseUpdated.Kind, m.Payload.Data.CaseUpdated.ID
		}
		if k, id := taskEvent(); k != "CREATED" || id != started.StartProcess.Task.ID {
			t.Fatalf("new task: got %s %s, want CREATED %s", k, id, started.StartProcess.Task.ID)
		}
		if k, id := caseEvent(); k != "CREATED" || id != started.StartProcess.Case.ID {
			t.Fatalf("new case: got %s %s, want CREATED %s", k, id, started.StartProcess.Case.ID)
		}
		// A note right away: the case is milliseconds old, and still CHANGED.
		admin.MustDo(t, fmt.Sprintf(`mutation { addCaseNote(input: {caseId: "%s", content: "a note"}) { note { id } } }`, started.StartProcess.Case.ID), nil, nil)
		if k, id := caseEvent(); k != "CHANGED" || id != started.StartProcess.Case.ID {
			t.Fatalf("note on the case: got %s %s, want CHANGED", k, id)
		}
		bob.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, started.StartProcess.Task.ID), nil, nil)
		if k, id := taskEvent(); k != "CHANGED" || id != started.StartProcess.Task.ID {
			t.Fatalf("started task: got %s %s, want CHANGED", k, id)
		}
	})
}

// TestSubscriptionLimitPerConnection: one websocket may hold at most
// graph.MaxSubscriptionsPerConnection subscriptions; the next one is refused with a
// message saying what to do, and a completed one frees its place.
func TestSubscriptionLimitPerConnection(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	c := subscribe(t, srv, srv.Login(t, "alice", "alice").Token, `subscription { caseUpdated { kind } }`)
	send := func(id string) {
		c.write(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": `subscription { caseUpdated { kind } }`}})
	}
	refused := func(id string) {
		t.Helper()
		m := c.next()
		if m.ID == "1" && m.Type == "complete" { // the server's answer to the client's complete
			m = c.next()
		}
		if m.ID != id || len(m.Payload.Errors) != 1 || !strings.Contains(fmt.Sprint(m.Payload.Errors[0]), "BAD_USER_INPUT") ||
			!strings.Contains(fmt.Sprint(m.Payload.Errors[0]), "open another connection") {
			t.Fatalf("subscription %s: got %+v, want a BAD_USER_INPUT error", id, m)
		}
		if m := c.next(); m.ID != id || m.Type != "complete" {
			t.Fatalf("subscription %s: got %+v after the error, want complete", id, m)
		}
	}
	for i := 2; i <= graph.MaxSubscriptionsPerConnection+1; i++ {
		send(fmt.Sprint(i))
	}
	refused(fmt.Sprint(graph.MaxSubscriptionsPerConnection + 1))
	c.write(map[string]any{"id": "1", "type": "complete"})
	send("again") // takes the place of 1
	send("over")
	refused("over")
}

// TestNotifications: a delegation to alice and a new task for Everybody reach her as
// notifications; bob hears only of what is assigned to him or his roles.
func TestNotifications(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		q := `subscription { notifications { kind task { name } } }`
		forAlice, forBob := subscribe(t, srv, alice.Token, q), subscribe(t, srv, bob.Token, q)
		var ids struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
			Alice struct{ ID string } `json:"alice"`
			Procs struct {
				Edges []struct{ Node struct{ ID string } }
			} `json:"procs"`
		}
		admin.MustDo(t, `{ tasks(where: {name: "Plan handover"}) { edges { node { id } } } procs: processes { edges { node { id } } } }`, nil, &ids)
		alice.MustDo(t, `{ alice: viewer { id } }`, nil, &ids)
		admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%s", userIds: ["%s"]}) { task { id } } }`, ids.Tasks.Edges[0].Node.ID, ids.Alice.ID), nil, nil)
		bob.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, ids.Procs.Edges[0].Node.ID), nil, nil)
		type note struct {
			Notifications struct {
				Kind string
				Task struct{ Name string }
			}
		}
		read := func(c *wsClient) (string, string) {
			t.Helper()
			c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				var m struct {
					Type    string
					Payload struct{ Data note }
				}
				if err := c.conn.ReadJSON(&m); err != nil {
					t.Fatal(err)
				}
				if m.Type == "next" {
					return m.Payload.Data.Notifications.Kind, m.Payload.Data.Notifications.Task.Name
				}
			}
		}
		if k, n := read(forAlice); k != "DELEGATED" || n != "Plan handover" {
			t.Fatalf("alice first got %s %q", k, n)
		}
		if k, n := read(forAlice); k != "ASSIGNED" || n != "Fill in the leave request" {
			t.Fatalf("alice then got %s %q", k, n)
		}
		// bob's first notification is his own process's task, not alice's delegation.
		if k, n := read(forBob); k != "ASSIGNED" || n != "Fill in the leave request" {
			t.Fatalf("bob first got %s %q", k, n)
		}
	})
}

// TestExpiringNotification: a task of alice's role that expires within the hour is
// announced to her once.
func TestExpiringNotification(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	ctx := policy.SystemContext(context.Background())
	c := srv.DB.Client
	first := c.Role.Query().Where(role.Name("First Level")).OnlyIDX(ctx)
	cs := c.BusinessCase.Query().FirstX(ctx)
	soon := c.Task.Create().SetName("Due soon").SetCaseID(cs.ID).SetExpiryTimestamp(time.Now().Add(30 * time.Minute)).SaveX(ctx)
	c.TaskResponsible.Create().SetTaskID(soon.ID).SetRoleID(first).ExecX(ctx)
	later := c.Task.Create().SetName("Due later").SetCaseID(cs.ID).SetExpiryTimestamp(time.Now().Add(5 * time.Hour)).SaveX(ctx)
	c.TaskResponsible.Create().SetTaskID(later.ID).SetRoleID(first).ExecX(ctx)
	marker := c.Task.Create().SetName("Marker").SetCaseID(cs.ID).SaveX(ctx)
	c.TaskResponsible.Create().SetTaskID(marker.ID).SetRoleID(first).ExecX(ctx)

	alice, admin := srv.Login(t, "alice", "alice"), srv.Login(t, "admin", "admin")
	sub := subscribe(t, srv, alice.Token, `subscription { notifications { kind task { name } } }`)
	var aliceID struct{ Viewer struct{ ID string } }
	alice.MustDo(t, `{ viewer { id } }`, nil, &aliceID)
	delegate := func(id int) {
		admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%d", userIds: ["%s"]}) { task { id } } }`, id, aliceID.Viewer.ID), nil, nil)
	}
	next := func() string {
		sub.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var m struct {
			Payload struct {
				Data struct {
					Notifications struct {
						Kind string
						Task struct{ Name string }
					}
				}
			}
		}
		if err := sub.conn.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		n := m.Payload.Data.Notifications
		return n.Kind + " " + n.Task.Name
	}
	delegate(later.ID) // once this arrives, the subscription is live
	got := []string{next()}
	for range 2 { // the second round must not warn again
		if _, err := srv.Work.FireDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	delegate(later.ID) // to the responsible it has already: no second notification
	delegate(marker.ID)
	got = append(got, next(), next())
	if strings.Join(got, ", ") != "DELEGATED Due later, EXPIRING Due soon, DELEGATED Marker" {
		t.Fatalf("alice got %v", got)
	}
}

// TestOneEventPerWrite: a write's tasks, cases and assignments travel as one event on
// the bus (each server's hub syncs its index once for it), not as one event for the
// assignment and another for the rest.
func TestOneEventPerWrite(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "bob", "bob")
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ processes { edges { node { id } } } }`, nil, &procs)
		events, stop := srv.Bus.Subscribe()
		defer stop()
		bob.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, procs.Processes.Edges[0].Node.ID), nil, nil)
		var work []live.Event
		quiet := time.After(time.Second)
	collect:
		for {
			select {
			case e := <-events:
				if e.Kind == live.KindWork {
					work = append(work, e)
				}
			case <-quiet:
				break collect
			}
		}
		if len(work) != 1 {
			t.Fatalf("startProcess published %d work events, want 1: %+v", len(work), work)
		}
		e := work[0]
		if len(e.Tasks) == 0 || len(e.Cases) == 0 || len(e.Created) < 2 {
			t.Fatalf("the event names tasks %v, cases %v, created %v: want the new task and case", e.Tasks, e.Cases, e.Created)
		}
		if e.Assignment != "ASSIGNED" || len(e.Assigned) != 1 || !slices.Contains(e.Tasks, e.Assigned[0]) {
			t.Fatalf("the event assigns %v as %q, want the new task as ASSIGNED", e.Assigned, e.Assignment)
		}
	})
}
