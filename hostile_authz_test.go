package portico_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestHostileAnonymousNodes replays the review's anonymous reads: with no token,
// node(id:) and nodes(ids:) for a user, a role, a task and a case give null and
// UNAUTHENTICATED, never the user's name, email or roles.
func TestHostileAnonymousNodes(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		var ids struct {
			Users struct {
				Edges []struct{ Node struct{ ID string } }
			}
			Roles struct {
				Edges []struct{ Node struct{ ID string } }
			}
			Tasks struct {
				Edges []struct {
					Node struct {
						ID   string
						Case struct{ ID string }
					}
				}
			}
		}
		admin.MustDo(t, `{ users(first: 1, where: {name: "alice"}) { edges { node { id } } }
			roles(first: 1, where: {name: "Team A"}) { edges { node { id } } }
			tasks(first: 1) { edges { node { id case { id } } } } }`, nil, &ids)
		if len(ids.Users.Edges) != 1 || len(ids.Roles.Edges) != 1 || len(ids.Tasks.Edges) != 1 {
			t.Fatalf("demo data lacks a user, role or task: %+v", ids)
		}
		targets := map[string]string{
			"user": ids.Users.Edges[0].Node.ID, "role": ids.Roles.Edges[0].Node.ID,
			"task": ids.Tasks.Edges[0].Node.ID, "case": ids.Tasks.Edges[0].Node.Case.ID,
		}
		const fields = `id ... on User { name email roles { name } } ... on Role { name } ... on Task { name } ... on Case { name }`
		anon := srv.Client()
		var all []string
		for kind, id := range targets {
			all = append(all, id)
			r := anon.Do(t, `query($id: ID!) { node(id: $id) { `+fields+` } }`, map[string]any{"id": id})
			if string(r.Data) != `{"node":null}` || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("anonymous node(%s %s) = %s %+v, want null and UNAUTHENTICATED", kind, id, r.Data, r.Errors)
			}
		}
		r := anon.Do(t, `query($ids: [ID!]!) { nodes(ids: $ids) { `+fields+` } }`, map[string]any{"ids": all})
		if string(r.Data) != `{"nodes":[null,null,null,null]}` || r.Code() != "UNAUTHENTICATED" {
			t.Errorf("anonymous nodes = %s %+v, want four nulls and UNAUTHENTICATED", r.Data, r.Errors)
		}
		// Logged in, the same nodes are there (the admin sees everything).
		var got struct{ Nodes []*struct{ ID string } }
		admin.MustDo(t, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": all}, &got)
		for i, n := range got.Nodes {
			if n == nil || n.ID != all[i] {
				t.Errorf("admin nodes[%d] = %+v, want %s", i, n, all[i])
			}
		}
	})
}

// TestHostileUserDetails replays the review's read of another user's email and
// properties (salary=123456): name and full name are for every logged-in user; email
// and properties are null but for the user itself and holders of RoleManagement, on
// every path that returns a User.
func TestHostileUserDetails(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		var u struct {
			Users struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ users(first: 1, where: {name: "alice"}) { edges { node { id } } } }`, nil, &u)
		alice := u.Users.Edges[0].Node.ID
		admin.MustDo(t, `mutation($id: ID!) { updateUser(input: {id: $id, email: "alice@example.com",
			properties: [{key: "salary", value: "123456"}]}) { user { id } } }`, map[string]any{"id": alice}, nil)
		reads := map[string]string{
			"users":      `{ users(first: 50) { edges { node { name fullName email properties { key value } } } } }`,
			"user":       `query($id: ID!) { user(id: $id) { name email properties { key value } } }`,
			"node":       `query($id: ID!) { node(id: $id) { ... on User { name email properties { key value } } } }`,
			"nodes":      `query($id: ID!) { nodes(ids: [$id]) { ... on User { name email properties { key value } } } }`,
			"Role.users": `{ roles(first: 50) { edges { node { users(first: 50) { edges { node { name email properties { key value } } } } } } } }`,
		}
		vars := map[string]any{"id": alice}
		demo := srv.Login(t, "demo", "demo")
		for path, q := range reads {
			r := demo.Do(t, q, vars)
			if len(r.Errors) > 0 {
				t.Errorf("demo %s: %+v", path, r.Errors)
			}
			if body := string(r.Data); strings.Contains(body, "123456") || strings.Contains(body, "alice@example.com") {
				t.Errorf("demo read alice's details through %s: %s", path, body)
			}
			if !strings.Contains(string(r.Data), `"alice"`) {
				t.Errorf("demo %s does not show alice's name: %s", path, r.Data)
			}
		}
		// A filter on the email would read it a letter at a time.
		if r := demo.Do(t, `{ users(where: {emailHasPrefix: "a"}) { totalCount } }`, nil); r.Code() != "BAD_USER_INPUT" {
			t.Errorf("users(where: emailHasPrefix) = %s %+v, want BAD_USER_INPUT", r.Data, r.Errors)
		}
		for name, c := range map[string]*servertest.Client{"alice": srv.Login(t, "alice", "alice"), "admin": admin} {
			for _, path := range []string{"user", "node", "nodes"} {
				r := c.Do(t, reads[path], vars)
				body := string(r.Data)
				if len(r.Errors) > 0 || !strings.Contains(body, "123456") || !strings.Contains(body, "alice@example.com") {
					t.Errorf("%s reads alice's details through %s: %s %+v, want email and salary", name, path, body, r.Errors)
				}
			}
		}
	})
}
