package portico_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/servertest"
)

// liveEvent is one taskUpdated event as a socket got it.
type liveEvent struct{ kind, id string }

// drain reads a socket's task events until it has been quiet for quiet. A reader
// goroutine per socket feeds it: a read deadline that passes breaks a gorilla
// connection for good, so drain waits on the channel instead.
func drain(t *testing.T, c *wsClient, quiet time.Duration) []liveEvent {
	t.Helper()
	c.stream()
	var out []liveEvent
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatalf("the socket closed (%v) after %v", c.err, out)
			}
			switch m.Type {
			case "ping", "pong":
			case "next":
				out = append(out, liveEvent{m.Payload.Data.TaskUpdated.Kind, m.Payload.Data.TaskUpdated.ID})
			default:
				t.Fatalf("unexpected message %+v", m)
			}
		case <-time.After(quiet):
			return out
		}
	}
}

// nextEvent waits for the socket's next task event.
func nextEvent(t *testing.T, c *wsClient) liveEvent {
	t.Helper()
	c.stream()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatalf("the socket closed (%v)", c.err)
			}
			if m.Type == "next" {
				return liveEvent{m.Payload.Data.TaskUpdated.Kind, m.Payload.Data.TaskUpdated.ID}
			}
		case <-deadline:
			t.Fatal("no event within 10 s")
		}
	}
}

// stream starts the socket's reader goroutine (once), which answers the server's
// pings: a client that stays silent for a while is dropped.
func (c *wsClient) stream() {
	c.once.Do(func() {
		c.msgs = make(chan wsMessage, 1024)
		c.conn.SetReadDeadline(time.Time{}) // next's deadline would end the stream
		go func() {
			defer close(c.msgs)
			for {
				var m wsMessage
				if err := c.conn.ReadJSON(&m); err != nil {
					c.err = err
					return
				}
				if m.Type == "ping" {
					c.conn.WriteJSON(map[string]string{"type": "pong"})
					continue
				}
				c.msgs <- m
			}
		}()
	})
}

// taskIDs returns the ids of the demo tasks by name, as admin sees them.
func taskIDs(t *testing.T, admin *servertest.Client) map[string]string {
	var out struct {
		Tasks struct {
			Edges []struct{ Node struct{ ID, Name string } }
		}
	}
	admin.MustDo(t, `{ tasks(first: 1000) { edges { node { id name } } } }`, nil, &out)
	ids := map[string]string{}
	for _, e := range out.Tasks.Edges {
		ids[e.Node.Name] = e.Node.ID
	}
	return ids
}

// sees reports whether the client may see the task now (node returns null otherwise).
func sees(t *testing.T, c *servertest.Client, id string) bool {
	var out struct{ Node *struct{ ID string } }
	c.MustDo(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, &out)
	return out.Node != nil
}

// TestDistinctViewersGetTheirEvents: every demo user, with two sockets each, gets
// exactly the events of the tasks it may see at the moment of each change (asked of
// the server with node(id) right after it), in order, with the change's kind; a task
// leaving a viewer's sight arrives once as DELETED; nobody gets anyone else's.
func TestDistinctViewersGetTheirEvents(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		names := []string{"admin", "demo", "alice", "bob", "carol"}
		clients := map[string]*servertest.Client{}
		sockets := map[string][]*wsClient{}
		for _, n := range names {
			clients[n] = srv.Login(t, n, n)
			for range 2 {
				s := subscribe(t, srv, clients[n].Token, `subscription { taskUpdated { kind id } }`)
				s.stream()
				sockets[n] = append(sockets[n], s)
			}
		}
		admin := clients["admin"]
		ids := taskIDs(t, admin)
		var procs struct {
			Processes struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ processes { edges { node { id } } } }`, nil, &procs)
		bobID := viewerID(t, clients["bob"])

		// The audience is who may see the task when the hub dispatches the event: the
		// next change waits until an admin socket (admin sees every task) got this one.
		witness := subscribe(t, srv, admin.Token, `subscription { taskUpdated { kind id } }`)
		witness.stream()
		want := map[string][]liveEvent{}
		sent := map[string]map[string]bool{}
		expect := func(id, kind string) {
			t.Helper()
			if got := nextEvent(t, witness); got != (liveEvent{kind, id}) {
				t.Fatalf("the witness got %v, want %s %s", got, kind, id)
			}
			for _, n := range names {
				if sent[n] == nil {
					sent[n] = map[string]bool{}
				}
				switch {
				case sees(t, clients[n], id):
					want[n] = append(want[n], liveEvent{kind, id})
					sent[n][id] = true
				case sent[n][id]:
					want[n] = append(want[n], liveEvent{"DELETED", id})
					delete(sent[n], id)
				}
			}
		}
		act := func(c *servertest.Client, mutation, id string) {
			t.Helper()
			c.MustDo(t, fmt.Sprintf(`mutation { %s(input: {id: "%s"}) { task { id } } }`, mutation, id), nil, nil)
			expect(id, "CHANGED")
		}
		act(clients["carol"], "startTask", ids["Check remaining holidays"])
		act(clients["demo"], "startTask", ids["Plan handover"])
		act(clients["carol"], "resetTask", ids["Check remaining holidays"])
		var started struct {
			StartProcess struct{ Task struct{ ID string } }
		}
		clients["bob"].MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, procs.Processes.Edges[0].Node.ID), nil, &started)
		expect(started.StartProcess.Task.ID, "CREATED")
		// Delegated to bob alone: whoever saw it through a role is told DELETED.
		admin.MustDo(t, fmt.Sprintf(`mutation { delegateTask(input: {id: "%s", userIds: ["%s"]}) { task { id } } }`, ids["Check remaining holidays"], bobID), nil, nil)
		expect(ids["Check remaining holidays"], "CHANGED")

		for _, n := range names {
			if len(want[n]) == 0 && n != "demo" {
				t.Errorf("%s expects no event at all: the test proves little", n)
			}
			for i, s := range sockets[n] {
				if got := drain(t, s, 1500*time.Millisecond); !slices.Equal(got, want[n]) {
					t.Errorf("%s socket %d got %v, want %v", n, i, got, want[n])
				}
			}
		}
	})
}

// TestRoleChangeReachesOpenSockets: taking a role away from a user is felt by its open
// subscription at once: the task it saw through the role arrives as DELETED with no
// further change to the task, and later changes do not reach it; given the role back,
// it hears of the task's next change again.
func TestRoleChangeReachesOpenSockets(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, carol, alice := srv.Login(t, "admin", "admin"), srv.Login(t, "carol", "carol"), srv.Login(t, "alice", "alice")
		ids := taskIDs(t, admin)
		task := ids["Check remaining holidays"]
		var out struct {
			Alice struct {
				ID    string
				Roles []struct{ ID string }
			} `json:"alice"`
			Every struct{ ID string } `json:"every"`
		}
		alice.MustDo(t, `{ alice: viewer { id roles { id } } every: role(name: "Everybody") { id } }`, nil, &out)
		sock := subscribe(t, srv, alice.Token, `subscription { taskUpdated { kind id } }`)
		carol.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, task), nil, nil)
		if got := drain(t, sock, time.Second); !slices.Equal(got, []liveEvent{{"CHANGED", task}}) {
			t.Fatalf("before: %v", got)
		}
		setRoles := func(roles []string) {
			admin.MustDo(t, `mutation($u: ID!, $r: [ID!]!) { setUserRoles(input: {userId: $u, roleIds: $r}) { user { id } } }`,
				map[string]any{"u": out.Alice.ID, "r": roles}, nil)
		}
		setRoles([]string{out.Every.ID})
		if got := drain(t, sock, 1500*time.Millisecond); !slices.Equal(got, []liveEvent{{"DELETED", task}}) {
			t.Fatalf("after losing the role, with no change to the task: %v, want DELETED %s", got, task)
		}
		carol.MustDo(t, fmt.Sprintf(`mutation { resetTask(input: {id: "%s"}) { task { id } } }`, task), nil, nil)
		if got := drain(t, sock, time.Second); len(got) != 0 {
			t.Fatalf("a change alice may not see reached her: %v", got)
		}
		var roles []string
		for _, r := range out.Alice.Roles {
			roles = append(roles, r.ID)
		}
		setRoles(roles)
		time.Sleep(500 * time.Millisecond) // the policy follower applies it
		carol.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, task), nil, nil)
		if got := drain(t, sock, time.Second); !slices.Equal(got, []liveEvent{{"CHANGED", task}}) {
			t.Fatalf("with the role back: %v", got)
		}
	})
}

// TestHostileTaskFilters: taskUpdated filters are evaluated as filters, never as SQL
// text: a quoted injection matches nothing, an in-memory filter and one the database
// evaluates (the worker's name) each pass exactly their tasks, equal filters on many
// sockets share one evaluation and each socket gets the event; bad filters are refused
// before anything is subscribed.
func TestHostileTaskFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin, carol, demoUser := srv.Login(t, "admin", "admin"), srv.Login(t, "carol", "carol"), srv.Login(t, "demo", "demo")
		ids := taskIDs(t, admin)
		holidays, handover := ids["Check remaining holidays"], ids["Plan handover"]
		sub := func(where string) *wsClient {
			c := subscribe(t, srv, admin.Token, fmt.Sprintf(`subscription { taskUpdated(where: %s) { kind id } }`, where))
			c.stream()
			return c
		}
		injection := sub(`{name: "x' OR '1'='1", nameContains: "'; DROP TABLE tasks; --"}`)
		byName := []*wsClient{sub(`{name: "Check remaining holidays"}`), sub(`{name: "Check remaining holidays"}`)}
		byWorker := sub(`{hasWorkerWith: {name: "carol"}}`)
		notName := sub(`{not: {name: "Check remaining holidays"}}`)

		carol.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, holidays), nil, nil)
		demoUser.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: "%s"}) { task { id } } }`, handover), nil, nil)

		if got := drain(t, injection, time.Second); len(got) != 0 {
			t.Errorf("the injection filter got %v", got)
		}
		for i, s := range byName {
			if got := drain(t, s, time.Second); !slices.Equal(got, []liveEvent{{"CHANGED", holidays}}) {
				t.Errorf("name filter, socket %d: %v", i, got)
			}
		}
		if got := drain(t, byWorker, time.Second); !slices.Equal(got, []liveEvent{{"CHANGED", holidays}}) {
			t.Errorf("worker filter (the database's): %v", got)
		}
		if got := drain(t, notName, time.Second); !slices.Equal(got, []liveEvent{{"CHANGED", handover}}) {
			t.Errorf("not-name filter: %v", got)
		}

		for _, bad := range []string{
			`{customFields: [{name: "x') OR 1=1 --", equals: "1"}]}`,
			`{hasWorkerWith: {}}`,
		} {
			c := subscribe(t, srv, admin.Token, fmt.Sprintf(`subscription { taskUpdated(where: %s) { kind id } }`, bad))
			c.stream()
			var m wsMessage
			select {
			case m = <-c.msgs:
			case <-time.After(5 * time.Second):
				t.Fatalf("filter %s: no answer", bad)
			}
			if m.Type != "error" && (m.Type != "next" || len(m.Payload.Errors) == 0) {
				t.Errorf("filter %s: got %+v, want an error", bad, m)
			}
		}
	})
}

// TestSharedRenderingsKeepFieldRules: an event goes out as one rendering for every
// viewer only where the rendering asks nothing of the viewer. A user's email is its
// own and RoleManagement's to read: alice and bob, both responsible for a task, each get
// their own email and not the other's on every socket; a selection without such fields
// gives both the same bytes.
func TestSharedRenderingsKeepFieldRules(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		const detailed = `subscription { taskUpdated { kind id task { id name responsibles { ... on User { name email } } } } }`
		const plain = `subscription { taskUpdated { kind id task { id name } } }`
		users := []string{"alice", "bob"}
		ids := map[string]string{}
		sockets := map[string][]*wsClient{}
		plains := map[string]*wsClient{}
		for _, u := range users {
			c := srv.Login(t, u, u)
			ids[u] = viewerID(t, c)
			for range 2 {
				sockets[u] = append(sockets[u], subscribe(t, srv, c.Token, detailed))
			}
			plains[u] = subscribe(t, srv, c.Token, plain)
		}
		task := taskIDs(t, admin)["Check remaining holidays"]
		admin.MustDo(t, `mutation($id: ID!, $u: [ID!]!) { delegateTask(input: {id: $id, userIds: $u}) { task { id } } }`,
			map[string]any{"id": task, "u": []string{ids["alice"], ids["bob"]}}, nil)

		type responsible struct{ Name, Email *string }
		for _, u := range users {
			for i, s := range sockets[u] {
				var m struct {
					Type    string
					Payload struct {
						Data struct {
							TaskUpdated struct {
								ID   string
								Task struct{ Responsibles []responsible }
							}
						}
					}
				}
				raw := nextRaw(t, s)
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, r := range m.Payload.Data.TaskUpdated.Task.Responsibles {
					if r.Name != nil {
						got[*r.Name] = fmt.Sprint(r.Email != nil && *r.Email != "")
					}
				}
				want := map[string]string{"alice": fmt.Sprint(u == "alice"), "bob": fmt.Sprint(u == "bob")}
				if m.Payload.Data.TaskUpdated.ID != task || !maps.Equal(got, want) {
					t.Errorf("%s socket %d: %s; want the task with only its own email", u, i, raw)
				}
			}
		}
		a, b := nextRaw(t, plains["alice"]), nextRaw(t, plains["bob"])
		if !bytes.Equal(a, b) || !bytes.Contains(a, []byte(task)) {
			t.Errorf("the plain selection differs between viewers: %s and %s", a, b)
		}
	})
}

// nextRaw returns the socket's next "next" message as it came.
func nextRaw(t *testing.T, c *wsClient) []byte {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch {
		case bytes.Contains(b, []byte(`"type":"ping"`)):
			c.write(map[string]string{"type": "pong"})
		case bytes.Contains(b, []byte(`"type":"next"`)):
			return b
		case !bytes.Contains(b, []byte(`"type":"pong"`)):
			t.Fatalf("unexpected message %s", b)
		}
	}
}
