package portico_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestPolicyFollowsAcrossServers runs three servers on one PostgreSQL database: a deny
// made through one server is enforced by the others within a second, and so is its revoke.
func TestPolicyFollowsAcrossServers(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	c := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	admin := a.Login(t, "admin", "admin")
	var demo struct{ Viewer struct{ ID string } }
	a.Login(t, "demo", "demo").MustDo(t, `{ viewer { id } }`, nil, &demo)
	readers := []*servertest.Client{b.Login(t, "demo", "demo"), c.Login(t, "demo", "demo")}
	rolesCode := func(cl *servertest.Client) string { return cl.Do(t, `{ roles(first: 1) { totalCount } }`, nil).Code() }
	for _, r := range readers {
		if code := rolesCode(r); code != "" { // prime the other servers' caches
			t.Fatalf("before the deny: %q", code)
		}
	}
	const bound = time.Second
	waitFor := func(what, want string) {
		for i, r := range readers {
			deadline := time.Now().Add(bound)
			for rolesCode(r) != want {
				if time.Now().After(deadline) {
					t.Fatalf("server %d still answers %q %s after %s", i+2, rolesCode(r), what, bound)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	start := time.Now()
	admin.MustDo(t, fmt.Sprintf(`mutation { denyPermission(input: {permission: "RoleReadAll", userId: "%s"}) { ok } }`, demo.Viewer.ID), nil, nil)
	waitFor("after the deny", "FORBIDDEN")
	t.Logf("deny enforced on the other servers after %s", time.Since(start))
	admin.MustDo(t, fmt.Sprintf(`mutation { revokePermission(input: {permission: "RoleReadAll", userId: "%s"}) { ok } }`, demo.Viewer.ID), nil, nil)
	waitFor("after the revoke", "")
}

// TestEventsReachEveryServer: a change made through one server reaches subscribers
// connected to every server, its own included, each once.
func TestEventsReachEveryServer(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	c := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	q := `subscription { taskUpdated { kind task { id name state } } }`
	// The writer's own server too: it hands its events to its subscribers in process and
	// drops their echo from the database, so each arrives there once.
	var subs []*wsClient
	for _, srv := range []*servertest.Server{a, b, c} {
		subs = append(subs, subscribe(t, srv, srv.Login(t, "alice", "alice").Token, q))
	}
	carol := a.Login(t, "carol", "carol")
	var out struct {
		Tasks struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	carol.MustDo(t, `{ tasks(where: {name: "Check remaining holidays"}) { edges { node { id } } } }`, nil, &out)
	id := out.Tasks.Edges[0].Node.ID
	states := map[string]string{}
	for _, action := range []string{"startTask", "resetTask"} {
		carol.MustDo(t, fmt.Sprintf(`mutation { %s(input: {id: "%s"}) { task { id } } }`, action, id), nil, nil)
		for i, s := range subs {
			m := s.next()
			e := m.Payload.Data.TaskUpdated
			if m.Type != "next" || e.Kind != "CHANGED" || e.Task.Name != "Check remaining holidays" {
				t.Fatalf("after %s, subscriber on server %d got %+v", action, i+1, m)
			}
			if prev, ok := states[action]; ok && prev != e.Task.State {
				t.Fatalf("after %s, subscriber on server %d got state %s, others %s", action, i+1, e.Task.State, prev)
			}
			states[action] = e.Task.State
		}
		time.Sleep(300 * time.Millisecond) // a duplicate would arrive by now, and be read next
	}
	if states["startTask"] == states["resetTask"] {
		t.Fatalf("both events show state %s: the second is a duplicate of the first", states["startTask"])
	}
}
