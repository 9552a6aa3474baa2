package policy_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// lit is s as a GraphQL string literal (JSON string syntax is valid GraphQL).
func lit(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// lits is a GraphQL list of string literals.
func lits(ss ...string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = lit(s)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// batch runs one operation (kind "mutation" or "query") made of the given fields, each
// named by its alias, and returns the data of each alias. Any error fails the test.
func batch(t *testing.T, c *servertest.Client, kind string, fields map[string]string) map[string]json.RawMessage {
	t.Helper()
	aliases := make([]string, 0, len(fields))
	for a := range fields {
		aliases = append(aliases, a)
	}
	slices.Sort(aliases)
	var b strings.Builder
	b.WriteString(kind + " {\n")
	for _, a := range aliases {
		fmt.Fprintf(&b, "  %s: %s\n", a, fields[a])
	}
	b.WriteString("}")
	out := map[string]json.RawMessage{}
	c.MustDo(t, b.String(), nil, &out)
	return out
}

// roleSpec is a role to create; parent is a role id, "" for Everybody.
type roleSpec struct{ name, parent string }

// createRoles creates roles in one request and returns their ids by name.
func createRoles(t *testing.T, c *servertest.Client, specs ...roleSpec) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for i, s := range specs {
		parent := ""
		if s.parent != "" {
			parent = ", parentId: " + lit(s.parent)
		}
		fields[fmt.Sprintf("r%d", i)] = fmt.Sprintf("createRole(input: {name: %s%s}) { role { id name parent { name } } }", lit(s.name), parent)
	}
	data := batch(t, c, "mutation", fields)
	ids := map[string]string{}
	for i, s := range specs {
		var out struct {
			Role struct {
				ID, Name string
				Parent   struct{ Name string }
			}
		}
		if err := json.Unmarshal(data[fmt.Sprintf("r%d", i)], &out); err != nil {
			t.Fatal(err)
		}
		if out.Role.Name != s.name || out.Role.ID == "" {
			t.Fatalf("createRole %s returned %+v", s.name, out.Role)
		}
		if s.parent == "" && out.Role.Parent.Name != policy.EverybodyName {
			t.Fatalf("createRole %s without parentId put it under %q, want Everybody", s.name, out.Role.Parent.Name)
		}
		ids[s.name] = out.Role.ID
	}
	return ids
}

// grantField is a grantPermission/denyPermission/revokePermission field for a role
// (kind "roleId") or a user (kind "userId").
func grantField(mutation, perm, kind, id string) string {
	return fmt.Sprintf("%s(input: {permission: %s, %s: %s}) { ok }", mutation, lit(perm), kind, lit(id))
}

// decision is what the API says about one user and one permission.
type decision struct {
	Held      bool // the permission is in user(id).permissions
	Allowed   bool
	Effect    *string
	Reason    string
	DecidedBy *struct {
		Typename string `json:"__typename"`
		Name     string
	}
}

// by renders the deciding subject like "Role Team A", "" when none.
func (d decision) by() string {
	if d.DecidedBy == nil {
		return ""
	}
	return d.DecidedBy.Typename + " " + d.DecidedBy.Name
}

func (d decision) effect() string {
	if d.Effect == nil {
		return ""
	}
	return *d.Effect
}

// decide asks, in one query, for the permissions and the decision on perm of each user
// (by id) and returns them by id.
func decide(t *testing.T, c *servertest.Client, perm string, userIDs ...string) map[string]decision {
	t.Helper()
	fields := map[string]string{}
	for i, id := range userIDs {
		fields[fmt.Sprintf("u%d", i)] = fmt.Sprintf("user(id: %s) { id permissions }", lit(id))
		fields[fmt.Sprintf("d%d", i)] = fmt.Sprintf("permissionDecision(permission: %s, userId: %s) { permission allowed effect reason decidedBy { __typename ... on Role { name } ... on User { name } } }", lit(perm), lit(id))
	}
	data := batch(t, c, "query", fields)
	out := map[string]decision{}
	for i, id := range userIDs {
		var u struct {
			ID          string
			Permissions []string
		}
		if err := json.Unmarshal(data[fmt.Sprintf("u%d", i)], &u); err != nil || u.ID != id {
			t.Fatalf("user(id: %s) = %s (%v)", id, data[fmt.Sprintf("u%d", i)], err)
		}
		var d struct {
			decision
			Permission string
		}
		if err := json.Unmarshal(data[fmt.Sprintf("d%d", i)], &d); err != nil || d.Permission != perm {
			t.Fatalf("permissionDecision(%s, %s) = %s (%v)", perm, id, data[fmt.Sprintf("d%d", i)], err)
		}
		d.Held = slices.Contains(u.Permissions, perm)
		out[id] = d.decision
	}
	return out
}

// expectation is one row of the matrix: what user must get for the permission.
type expectation struct {
	row     string
	user    string // key of the user
	allowed bool
	effect  string // ALLOW, DENY or "" (no grant applies)
	by      string // deciding subject, "Role <name>" / "User <name>", or ""
}

func checkRows(t *testing.T, got map[string]decision, userIDs map[string]string, rows []expectation) {
	t.Helper()
	for _, w := range rows {
		t.Run(w.row, func(t *testing.T) {
			d, ok := got[userIDs[w.user]]
			if !ok {
				t.Fatalf("no decision for user %s", w.user)
			}
			if d.Held != w.allowed {
				t.Errorf("user(id).permissions holds it: %v, want %v", d.Held, w.allowed)
			}
			if d.Allowed != w.allowed || d.effect() != w.effect || d.by() != w.by {
				t.Errorf("permissionDecision = allowed %v, effect %q, decidedBy %q; want %v, %q, %q (reason: %s)",
					d.Allowed, d.effect(), d.by(), w.allowed, w.effect, w.by, d.Reason)
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
			if d.DecidedBy != nil && !strings.Contains(d.Reason, d.DecidedBy.Name) {
				t.Errorf("reason %q does not name the deciding %s", d.Reason, d.by())
			}
		})
	}
}

// TestEveryPermissionEveryPath checks, for every permission of the list, each way a
// user can come to hold it or lose it, through GraphQL on a demo server.
func TestEveryPermissionEveryPath(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")

		t.Run("permission list", func(t *testing.T) {
			var out struct {
				Permissions []struct {
					Name             string
					Group            string
					EverybodyDefault bool
				}
			}
			admin.MustDo(t, `{ permissions { name group everybodyDefault } }`, nil, &out)
			if len(out.Permissions) != len(policy.All) {
				t.Fatalf("permissions lists %d, policy.All has %d", len(out.Permissions), len(policy.All))
			}
			for i, d := range policy.All {
				p := out.Permissions[i]
				if p.Name != string(d.Name) || p.Group != string(d.Group) || p.EverybodyDefault != d.EverybodyDefault {
					t.Errorf("permissions[%d] = %+v, want %+v", i, p, d)
				}
			}
		})

		for _, def := range policy.All {
			t.Run(string(def.Name), func(t *testing.T) { everyPath(t, admin, def) })
		}
	})
}

func everyPath(t *testing.T, admin *servertest.Client, def policy.Definition) {
	perm := string(def.Name)
	role := func(s string) string { return "P-" + perm + "-" + s }
	userName := func(s string) string { return "p-" + strings.ToLower(perm) + "-" + s }

	// Every role of this permission lives under one container role (no grants of its
	// own), so that deleting it at the end keeps the policy small for the next one.
	box := createRoles(t, admin, roleSpec{role("box"), ""})[role("box")]
	var tops []roleSpec
	for _, s := range []string{"a", "b-top", "c-holder", "c-member", "e-top", "f", "g", "h-top", "i", "j-allow", "j-deny"} {
		tops = append(tops, roleSpec{role(s), box})
	}
	r := createRoles(t, admin, tops...)
	for name, id := range createRoles(t, admin,
		roleSpec{role("b-leaf"), r[role("b-top")]},
		roleSpec{role("e-leaf"), r[role("e-top")]},
		roleSpec{role("h-leaf"), r[role("h-top")]},
	) {
		r[name] = id
	}

	// Users, by key, with their roles at creation (nil: none, so Everybody only). ub
	// starts in role a and uj in j-allow alone; setUserRoles moves them below.
	userRoles := []struct {
		key   string
		roles []string
	}{
		{"a", []string{"a"}}, {"b", []string{"a"}}, {"c", []string{"c-member"}}, {"d", nil},
		{"e", []string{"e-leaf"}}, {"f", []string{"f"}}, {"g", []string{"g"}}, {"h", []string{"h-leaf"}},
		{"i", []string{"i"}}, {"j", []string{"j-allow"}}, {"fresh", nil},
	}
	fields := map[string]string{
		"link": fmt.Sprintf("addMemberRole(input: {roleId: %s, memberRoleId: %s}) { role { name members { name } } }",
			lit(r[role("c-holder")]), lit(r[role("c-member")])),
	}
	for i, u := range userRoles {
		ids := ""
		if u.roles != nil {
			var rids []string
			for _, rn := range u.roles {
				rids = append(rids, r[role(rn)])
			}
			ids = ", roleIds: " + lits(rids...)
		}
		fields[fmt.Sprintf("u%d", i)] = fmt.Sprintf("createUser(input: {name: %s%s}) { user { id name roles { name } } }", lit(userName(u.key)), ids)
	}
	data := batch(t, admin, "mutation", fields)
	var link struct {
		Role struct {
			Name    string
			Members []struct{ Name string }
		}
	}
	json.Unmarshal(data["link"], &link)
	if len(link.Role.Members) != 1 || link.Role.Members[0].Name != role("c-member") {
		t.Fatalf("addMemberRole returned %+v", link.Role)
	}
	users := map[string]string{}
	for i, u := range userRoles {
		var out struct {
			User struct {
				ID, Name string
				Roles    []struct{ Name string }
			}
		}
		json.Unmarshal(data[fmt.Sprintf("u%d", i)], &out)
		want := u.roles
		if want == nil {
			want = []string{policy.EverybodyName}
		} else {
			want = slices.Clone(want)
			for k := range want {
				want[k] = role(want[k])
			}
		}
		var got []string
		for _, ro := range out.User.Roles {
			got = append(got, ro.Name)
		}
		if out.User.Name != userName(u.key) || !slices.Equal(got, want) {
			t.Fatalf("createUser %s returned %+v, want roles %v", userName(u.key), out.User, want)
		}
		users[u.key] = out.User.ID
	}

	// The grants, and the role changes of ub and uj, in one request: none depends on
	// another.
	g := map[string]string{
		"ub": fmt.Sprintf("setUserRoles(input: {userId: %s, roleIds: %s}) { user { roles { name } } }", lit(users["b"]), lits(r[role("b-leaf")])),
		"uj": fmt.Sprintf("setUserRoles(input: {userId: %s, roleIds: %s}) { user { roles { name } } }", lit(users["j"]), lits(r[role("j-allow")], r[role("j-deny")])),
	}
	for i, gr := range []struct{ mutation, kind, id string }{
		{"grantPermission", "roleId", r[role("a")]},
		{"grantPermission", "roleId", r[role("b-top")]},
		{"grantPermission", "roleId", r[role("c-holder")]},
		{"grantPermission", "userId", users["d"]},
		{"grantPermission", "roleId", r[role("e-top")]},
		{"denyPermission", "roleId", r[role("e-leaf")]},
		{"grantPermission", "roleId", r[role("f")]},
		{"denyPermission", "userId", users["f"]},
		{"denyPermission", "roleId", r[role("g")]},
		{"grantPermission", "userId", users["g"]},
		{"denyPermission", "roleId", r[role("h-top")]},
		{"grantPermission", "roleId", r[role("h-leaf")]},
		{"denyPermission", "roleId", r[role("i")]},
		{"grantPermission", "roleId", r[role("j-allow")]},
		{"denyPermission", "roleId", r[role("j-deny")]},
	} {
		g[fmt.Sprintf("g%02d", i)] = grantField(gr.mutation, perm, gr.kind, gr.id)
	}
	data = batch(t, admin, "mutation", g)
	for _, k := range []string{"ub", "uj"} {
		var out struct {
			User struct{ Roles []struct{ Name string } }
		}
		json.Unmarshal(data[k], &out)
		want := map[string]int{"ub": 1, "uj": 2}[k]
		if len(out.User.Roles) != want {
			t.Fatalf("setUserRoles %s returned %+v", k, out.User.Roles)
		}
	}

	all := make([]string, 0, len(users))
	for _, id := range users {
		all = append(all, id)
	}
	rolePrefix := "Role " + role("")
	userPrefix := "User " + userName("")
	everybody := expectation{allowed: false}
	if def.EverybodyDefault {
		everybody = expectation{allowed: true, effect: "ALLOW", by: "Role " + policy.EverybodyName}
	}
	withUser := func(e expectation, row, user string) expectation { e.row, e.user = row, user; return e }

	checkRows(t, decide(t, admin, perm, all...), users, []expectation{
		{"a through a direct role", "a", true, "ALLOW", rolePrefix + "a"},
		{"b through an ancestor role", "b", true, "ALLOW", rolePrefix + "b-top"},
		{"c through a member role link", "c", true, "ALLOW", rolePrefix + "c-holder"},
		{"d through a user grant", "d", true, "ALLOW", userPrefix + "d"},
		{"e deny on own role beats allow on ancestor", "e", false, "DENY", rolePrefix + "e-leaf"},
		{"f user deny beats role allow", "f", false, "DENY", userPrefix + "f"},
		{"g user allow beats role deny", "g", true, "ALLOW", userPrefix + "g"},
		{"h allow on specific role beats deny on ancestor", "h", true, "ALLOW", rolePrefix + "h-leaf"},
		{"i deny on a role of the user", "i", false, "DENY", rolePrefix + "i"},
		withUser(everybody, "i user without the denied role", "fresh"),
		{"j deny wins among unrelated roles", "j", false, "DENY", rolePrefix + "j-deny"},
	})

	// Revocations take effect on the very next query.
	batch(t, admin, "mutation", map[string]string{
		"f": grantField("revokePermission", perm, "userId", users["f"]),
		"a": grantField("revokePermission", perm, "roleId", r[role("a")]),
		"i": grantField("revokePermission", perm, "roleId", r[role("i")]),
	})
	checkRows(t, decide(t, admin, perm, users["f"], users["a"], users["i"]), users, []expectation{
		{"revoked user deny: the role allow decides", "f", true, "ALLOW", rolePrefix + "f"},
		withUser(everybody, "revoked role allow", "a"),
		withUser(everybody, "revoked role deny", "i"),
	})

	// Clean up: the box with all 15 roles (and their grants) goes, and the user grants.
	data = batch(t, admin, "mutation", map[string]string{
		"box": fmt.Sprintf("deleteRole(input: {id: %s}) { deletedCount }", lit(box)),
		"d":   grantField("revokePermission", perm, "userId", users["d"]),
		"g":   grantField("revokePermission", perm, "userId", users["g"]),
	})
	var del struct{ DeletedCount int }
	json.Unmarshal(data["box"], &del)
	if del.DeletedCount != 15 {
		t.Errorf("deleteRole of the box deleted %d roles, want 15", del.DeletedCount)
	}
	checkRows(t, decide(t, admin, perm, users["b"], users["h"], users["d"]), users, []expectation{
		withUser(everybody, "role deleted: its grant is gone", "b"),
		withUser(everybody, "role deleted: its grant is gone for the leaf", "h"),
		withUser(everybody, "user grant revoked", "d"),
	})
}
