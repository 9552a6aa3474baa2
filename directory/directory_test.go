package directory_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

func demoConfig() portico.Config { return portico.Config{Demo: true} }

// roleView is a role as the tests read it back.
type roleView struct {
	ID          string
	Name        string
	DisplayName string
	Parent      *struct{ Name string }
	Members     []struct{ Name string }
}

func (r *roleView) parent() string {
	if r == nil || r.Parent == nil {
		return ""
	}
	return r.Parent.Name
}

func (r *roleView) members() []string {
	var out []string
	for _, m := range r.Members {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}

// getRole reads a role by name; nil when there is none.
func getRole(t *testing.T, c *servertest.Client, name string) *roleView {
	t.Helper()
	var out struct{ Role *roleView }
	c.MustDo(t, `query($n: String!) { role(name: $n) { id name displayName parent { name } members { name } } }`,
		map[string]any{"n": name}, &out)
	return out.Role
}

// roleID is the id of an existing role.
func roleID(t *testing.T, c *servertest.Client, name string) string {
	t.Helper()
	r := getRole(t, c, name)
	if r == nil {
		t.Fatalf("no role %q", name)
	}
	return r.ID
}

// userView is a user as the tests read it back.
type userView struct {
	ID       string
	Name     string
	FullName string
	Email    string
	Language string
	Disabled bool
	Roles    []struct{ Name string }
}

func (u *userView) roles() []string {
	var out []string
	for _, r := range u.Roles {
		out = append(out, r.Name)
	}
	slices.Sort(out)
	return out
}

// getUser reads a user by name; nil when there is none.
func getUser(t *testing.T, c *servertest.Client, name string) *userView {
	t.Helper()
	var out struct {
		Users struct{ Edges []struct{ Node userView } }
	}
	c.MustDo(t, `query($n: String!) { users(where: {name: $n}) { edges { node { id name fullName email language disabled roles { name } } } } }`,
		map[string]any{"n": name}, &out)
	switch len(out.Users.Edges) {
	case 0:
		return nil
	case 1:
		return &out.Users.Edges[0].Node
	}
	t.Fatalf("%d users named %q", len(out.Users.Edges), name)
	return nil
}

func userID(t *testing.T, c *servertest.Client, name string) string {
	t.Helper()
	u := getUser(t, c, name)
	if u == nil {
		t.Fatalf("no user %q", name)
	}
	return u.ID
}

// counts returns how many roles and users there are.
func counts(t *testing.T, c *servertest.Client) (roles, users int) {
	t.Helper()
	var out struct {
		Roles, Users struct{ TotalCount int }
	}
	c.MustDo(t, `{ roles { totalCount } users { totalCount } }`, nil, &out)
	return out.Roles.TotalCount, out.Users.TotalCount
}

// holds reports whether the user (by id) holds the permission, and fails the test when
// user(id).permissions and permissionDecision disagree.
func holds(t *testing.T, c *servertest.Client, perm policy.Permission, id string) bool {
	t.Helper()
	var out struct {
		User struct{ Permissions []string }
		D    struct{ Allowed bool }
	}
	c.MustDo(t, `query($u: ID!, $p: String!) { user(id: $u) { permissions } d: permissionDecision(permission: $p, userId: $u) { allowed } }`,
		map[string]any{"u": id, "p": string(perm)}, &out)
	if listed := slices.Contains(out.User.Permissions, string(perm)); listed != out.D.Allowed {
		t.Fatalf("user %s: permissions lists %s: %v, but permissionDecision says allowed %v", id, perm, listed, out.D.Allowed)
	}
	return out.D.Allowed
}

// wantCode fails unless the response failed with code.
func wantCode(t *testing.T, r *servertest.Response, code string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("code %q, want %q; errors %+v, data %s", r.Code(), code, r.Errors, r.Data)
	}
	if r.Errors[0].Message == "" {
		t.Fatal("error without a message")
	}
}

// mustOK fails when the response has errors.
func mustOK(t *testing.T, r *servertest.Response) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("failed: %+v", r.Errors)
	}
}

// createRole creates a role as c under parent (a name, "" for Everybody) and returns its id.
func createRole(t *testing.T, c *servertest.Client, name, parent string) string {
	t.Helper()
	vars := map[string]any{"n": name, "p": nil}
	if parent != "" {
		vars["p"] = roleID(t, c, parent)
	}
	var out struct {
		CreateRole struct{ Role struct{ ID string } }
	}
	c.MustDo(t, `mutation($n: String!, $p: ID) { createRole(input: {name: $n, parentId: $p}) { role { id } } }`, vars, &out)
	return out.CreateRole.Role.ID
}

// createUser creates a user with roles (names; none for Everybody) and returns its id.
func createUser(t *testing.T, c *servertest.Client, name string, roles ...string) string {
	t.Helper()
	var ids []string
	for _, r := range roles {
		ids = append(ids, roleID(t, c, r))
	}
	var out struct {
		CreateUser struct{ User struct{ ID string } }
	}
	c.MustDo(t, `mutation($n: String!, $r: [ID!]) { createUser(input: {name: $n, roleIds: $r}) { user { id } } }`,
		map[string]any{"n": name, "r": ids}, &out)
	return out.CreateUser.User.ID
}

// setGrants runs grantPermission/denyPermission/revokePermission for perms on the user
// (by id), all in one request.
func setGrants(t *testing.T, c *servertest.Client, mutation, userID string, perms ...policy.Permission) {
	t.Helper()
	if len(perms) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("mutation($u: ID!) {\n")
	for i, p := range perms {
		fmt.Fprintf(&b, "  g%d: %s(input: {permission: %q, userId: $u}) { ok }\n", i, mutation, p)
	}
	b.WriteString("}")
	c.MustDo(t, b.String(), map[string]any{"u": userID}, nil)
}

var rolePermissions = []policy.Permission{policy.RoleCreate, policy.RoleDelete, policy.RoleMove, policy.RoleManagement}

// TestPermissionChecks runs every directory operation as demo, who has none of the role
// permissions but RoleReadAll (an Everybody default): each is refused with FORBIDDEN and
// changes nothing, also when demo holds the other role permissions, and works once the
// matching permission is granted to demo.
func TestPermissionChecks(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demoConfig())
		admin := srv.Login(t, "admin", "admin")
		demoUser := srv.Login(t, "demo", "demo")
		demoID := userID(t, admin, "demo")
		aliceID := userID(t, admin, "alice")

		for _, p := range rolePermissions {
			if holds(t, admin, p, demoID) {
				t.Fatalf("demo starts with %s", p)
			}
		}
		if !holds(t, admin, policy.RoleReadAll, demoID) {
			t.Fatal("demo lacks RoleReadAll, an Everybody default")
		}

		t.Run("anonymous", func(t *testing.T) {
			wantCode(t, srv.Client().Do(t, `mutation { createRole(input: {name: "Dir-anonymous"}) { role { id } } }`, nil), "UNAUTHENTICATED")
			wantCode(t, srv.Client().Do(t, `{ roles { totalCount } }`, nil), "UNAUTHENTICATED")
			if getRole(t, admin, "Dir-anonymous") != nil {
				t.Fatal("anonymous createRole created the role")
			}
		})

		roleIs := func(name string, ok func(*roleView) bool) func(t *testing.T) bool {
			return func(t *testing.T) bool { return ok(getRole(t, admin, name)) }
		}
		userIs := func(name string, ok func(*userView) bool) func(t *testing.T) bool {
			return func(t *testing.T) bool { return ok(getUser(t, admin, name)) }
		}
		exists := func(r *roleView) bool { return r != nil }
		tests := []struct {
			name  string
			perm  policy.Permission
			setup func(t *testing.T) map[string]any // as admin; returns the variables
			op    string
			// done reports whether the operation took effect; nil for reads.
			done func(t *testing.T) bool
		}{
			{"createRole", policy.RoleCreate,
				func(t *testing.T) map[string]any { return nil },
				`mutation { createRole(input: {name: "Dir-created"}) { role { name } } }`,
				roleIs("Dir-created", exists)},
			{"deleteRole", policy.RoleDelete,
				func(t *testing.T) map[string]any {
					return map[string]any{"id": createRole(t, admin, "Dir-delete-me", "")}
				},
				`mutation($id: ID!) { deleteRole(input: {id: $id}) { deletedCount } }`,
				roleIs("Dir-delete-me", func(r *roleView) bool { return r == nil })},
			{"moveRole", policy.RoleMove,
				func(t *testing.T) map[string]any {
					return map[string]any{"id": createRole(t, admin, "Dir-move-me", ""), "p": roleID(t, admin, "Support Group")}
				},
				`mutation($id: ID!, $p: ID!) { moveRole(input: {id: $id, parentId: $p}) { role { name } } }`,
				roleIs("Dir-move-me", func(r *roleView) bool { return r.parent() == "Support Group" })},
			{"updateRole", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					return map[string]any{"id": createRole(t, admin, "Dir-update-me", "")}
				},
				`mutation($id: ID!) { updateRole(input: {id: $id, displayName: "Renamed"}) { role { displayName } } }`,
				roleIs("Dir-update-me", func(r *roleView) bool { return r.DisplayName == "Renamed" })},
			{"addMemberRole", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					return map[string]any{"r": createRole(t, admin, "Dir-holder", ""), "m": createRole(t, admin, "Dir-member", "")}
				},
				`mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { name } } }`,
				roleIs("Dir-holder", func(r *roleView) bool { return slices.Equal(r.members(), []string{"Dir-member"}) })},
			{"removeMemberRole", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					vars := map[string]any{"r": createRole(t, admin, "Dir-holder-2", ""), "m": createRole(t, admin, "Dir-member-2", "")}
					admin.MustDo(t, `mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { name } } }`, vars, nil)
					return vars
				},
				`mutation($r: ID!, $m: ID!) { removeMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { name } } }`,
				roleIs("Dir-holder-2", func(r *roleView) bool { return len(r.Members) == 0 })},
			{"createUser", policy.RoleManagement,
				func(t *testing.T) map[string]any { return nil },
				`mutation { createUser(input: {name: "dir-created"}) { user { name } } }`,
				userIs("dir-created", func(u *userView) bool { return u != nil })},
			{"updateUser", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"id": createUser(t, admin, "dir-update-me")} },
				`mutation($id: ID!) { updateUser(input: {id: $id, fullName: "Changed"}) { user { fullName } } }`,
				userIs("dir-update-me", func(u *userView) bool { return u.FullName == "Changed" })},
			{"disableUser", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"id": createUser(t, admin, "dir-disable-me")} },
				`mutation($id: ID!) { disableUser(input: {id: $id}) { user { disabled } } }`,
				userIs("dir-disable-me", func(u *userView) bool { return u.Disabled })},
			{"enableUser", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					id := createUser(t, admin, "dir-enable-me")
					admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": id}, nil)
					return map[string]any{"id": id}
				},
				`mutation($id: ID!) { enableUser(input: {id: $id}) { user { disabled } } }`,
				userIs("dir-enable-me", func(u *userView) bool { return !u.Disabled })},
			{"setUserRoles", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					return map[string]any{"id": createUser(t, admin, "dir-roles"), "r": []string{roleID(t, admin, "Team B")}}
				},
				`mutation($id: ID!, $r: [ID!]!) { setUserRoles(input: {userId: $id, roleIds: $r}) { user { name } } }`,
				userIs("dir-roles", func(u *userView) bool { return slices.Equal(u.roles(), []string{"Team B"}) })},
			{"grantPermission", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"id": createUser(t, admin, "dir-grant")} },
				`mutation($id: ID!) { grantPermission(input: {permission: "TaskDestroy", userId: $id}) { ok } }`,
				func(t *testing.T) bool { return holds(t, admin, policy.TaskDestroy, userID(t, admin, "dir-grant")) }},
			{"denyPermission", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"id": createUser(t, admin, "dir-deny")} },
				`mutation($id: ID!) { denyPermission(input: {permission: "TaskReadOwnCaseTasks", userId: $id}) { ok } }`,
				func(t *testing.T) bool {
					return !holds(t, admin, policy.TaskReadOwnCaseTasks, userID(t, admin, "dir-deny"))
				}},
			{"revokePermission", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					id := createUser(t, admin, "dir-revoke")
					setGrants(t, admin, "grantPermission", id, policy.TaskDestroy)
					return map[string]any{"id": id}
				},
				`mutation($id: ID!) { revokePermission(input: {permission: "TaskDestroy", userId: $id}) { ok } }`,
				func(t *testing.T) bool { return !holds(t, admin, policy.TaskDestroy, userID(t, admin, "dir-revoke")) }},
			{"importRoles", policy.RoleManagement,
				func(t *testing.T) map[string]any {
					return map[string]any{"r": "Roles:\n  - Id: Everybody\n    Name: Everybody\n  - Id: Dir-imported\n"}
				},
				`mutation($r: String!) { importRoles(input: {format: YAML, roles: $r}) { rolesCreated } }`,
				roleIs("Dir-imported", exists)},
			{"exportUsers", policy.RoleManagement,
				func(t *testing.T) map[string]any { return nil },
				`{ exportUsers(format: YAML) }`, nil},
			{"permissionDecision of another user", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"u": aliceID} },
				`query($u: ID!) { permissionDecision(permission: "TaskReadAll", userId: $u) { allowed } }`, nil},
			{"permissions of another user", policy.RoleManagement,
				func(t *testing.T) map[string]any { return map[string]any{"u": aliceID} },
				`query($u: ID!) { user(id: $u) { permissions } }`, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				vars := tt.setup(t)
				var others []policy.Permission
				for _, p := range rolePermissions {
					if p != tt.perm {
						others = append(others, p)
					}
				}
				refused := func(what string) {
					t.Helper()
					r := demoUser.Do(t, tt.op, vars)
					if r.Code() != "FORBIDDEN" {
						t.Fatalf("%s: code %q, want FORBIDDEN; errors %+v, data %s", what, r.Code(), r.Errors, r.Data)
					}
					if !strings.Contains(r.Errors[0].Message, string(tt.perm)) {
						t.Errorf("%s: message %q does not name %s", what, r.Errors[0].Message, tt.perm)
					}
					if tt.done != nil && tt.done(t) {
						t.Fatalf("%s: refused, yet it took effect", what)
					}
				}
				var granted []policy.Permission
				defer func() { setGrants(t, admin, "revokePermission", demoID, granted...) }()
				refused("without role permissions")
				setGrants(t, admin, "grantPermission", demoID, others...)
				granted = others
				refused("with " + fmt.Sprint(others))
				setGrants(t, admin, "grantPermission", demoID, tt.perm)
				granted = rolePermissions
				mustOK(t, demoUser.Do(t, tt.op, vars))
				if tt.done != nil && !tt.done(t) {
					t.Fatalf("allowed with %s, but it did not take effect", tt.perm)
				}
			})
		}

		t.Run("own permissions need no role permission", func(t *testing.T) {
			var out struct {
				Viewer struct{ Permissions []string }
				D      struct{ Allowed bool }
			}
			demoUser.MustDo(t, `query($u: ID!) { viewer { permissions } d: permissionDecision(permission: "RoleReadAll", userId: $u) { allowed } }`,
				map[string]any{"u": demoID}, &out)
			if !out.D.Allowed || !slices.Contains(out.Viewer.Permissions, "RoleReadAll") || slices.Contains(out.Viewer.Permissions, "RoleManagement") {
				t.Errorf("demo's own view: %+v", out)
			}
		})

		t.Run("RoleReadAll", func(t *testing.T) {
			reads := []struct{ name, query string }{
				{"roles", `{ roles { totalCount } }`},
				{"role by name", `{ role(name: "Team A") { id } }`},
				{"exportRoles", `{ exportRoles(format: YAML) }`},
			}
			run := func(t *testing.T, code string) {
				for _, rd := range reads {
					t.Run(rd.name, func(t *testing.T) {
						r := demoUser.Do(t, rd.query, nil)
						if code == "" {
							mustOK(t, r)
							if string(r.Data) == "" || strings.Contains(string(r.Data), "null") {
								t.Fatalf("data %s", r.Data)
							}
							return
						}
						wantCode(t, r, code)
						if !strings.Contains(r.Errors[0].Message, "RoleReadAll") {
							t.Errorf("message %q does not name RoleReadAll", r.Errors[0].Message)
						}
					})
				}
			}
			t.Run("everybody default", func(t *testing.T) { run(t, "") })
			setGrants(t, admin, "denyPermission", demoID, policy.RoleReadAll)
			t.Run("denied to demo", func(t *testing.T) { run(t, "FORBIDDEN") })
			setGrants(t, admin, "revokePermission", demoID, policy.RoleReadAll)
			t.Run("deny revoked", func(t *testing.T) { run(t, "") })
		})
	})
}

// TestRules checks the rules of the role graph and of users through GraphQL: each
// broken rule gives its error code and leaves the directory as it was.
func TestRules(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demoConfig())
		admin := srv.Login(t, "admin", "admin")
		id := func(name string) string { return roleID(t, admin, name) }
		parentIs := func(role, parent string) func(t *testing.T) {
			return func(t *testing.T) {
				if got := getRole(t, admin, role).parent(); got != parent {
					t.Errorf("%s is now under %q, want still under %q", role, got, parent)
				}
			}
		}
		membersAre := func(role string, members ...string) func(t *testing.T) {
			return func(t *testing.T) {
				if got := getRole(t, admin, role).members(); !slices.Equal(got, members) {
					t.Errorf("member roles of %s are now %v, want still %v", role, got, members)
				}
			}
		}
		noRole := func(name string) func(t *testing.T) {
			return func(t *testing.T) {
				if getRole(t, admin, name) != nil {
					t.Errorf("role %s exists", name)
				}
			}
		}
		noUser := func(name string) func(t *testing.T) {
			return func(t *testing.T) {
				if getUser(t, admin, name) != nil {
					t.Errorf("user %s exists", name)
				}
			}
		}

		tests := []struct {
			name      string
			op        string
			vars      func() map[string]any
			code      string
			msg       string // a part of the message
			unchanged func(t *testing.T)
		}{
			{"duplicate role name", `mutation($p: ID!) { createRole(input: {name: "Team A", parentId: $p}) { role { id } } }`,
				func() map[string]any { return map[string]any{"p": id("Support Group")} },
				"CONFLICT", "Team A", parentIs("Team A", "Development")},
			{"duplicate user name", `mutation { createUser(input: {name: "alice"}) { user { id } } }`,
				func() map[string]any { return nil }, "CONFLICT", "alice", nil},
			{"unknown parent", `mutation { createRole(input: {name: "Dir-orphan", parentId: "999999"}) { role { id } } }`,
				func() map[string]any { return nil }, "NOT_FOUND", "999999", noRole("Dir-orphan")},
			{"delete Everybody", `mutation($id: ID!) { deleteRole(input: {id: $id}) { deletedCount } }`,
				func() map[string]any { return map[string]any{"id": id("Everybody")} },
				"BAD_USER_INPUT", "Everybody", nil},
			{"move Everybody", `mutation($id: ID!, $p: ID!) { moveRole(input: {id: $id, parentId: $p}) { role { id } } }`,
				func() map[string]any { return map[string]any{"id": id("Everybody"), "p": id("Team A")} },
				"BAD_USER_INPUT", "Everybody", nil},
			{"move under own child", `mutation($id: ID!, $p: ID!) { moveRole(input: {id: $id, parentId: $p}) { role { id } } }`,
				func() map[string]any { return map[string]any{"id": id("Support Group"), "p": id("First Level")} },
				"BAD_USER_INPUT", "cycle", parentIs("Support Group", "Everybody")},
			{"move under itself", `mutation($id: ID!) { moveRole(input: {id: $id, parentId: $id}) { role { id } } }`,
				func() map[string]any { return map[string]any{"id": id("Development")} },
				"BAD_USER_INPUT", "Development", parentIs("Development", "Everybody")},
			{"move under a role that has it as member", `mutation($id: ID!, $p: ID!) { moveRole(input: {id: $id, parentId: $p}) { role { id } } }`,
				// First Level is a member role of Process M, so First Level inherits Process M.
				func() map[string]any { return map[string]any{"id": id("Process M"), "p": id("First Level")} },
				"BAD_USER_INPUT", "cycle", parentIs("Process M", "Application Permissions")},
			{"ancestor as member of its descendant", `mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { id } } }`,
				func() map[string]any { return map[string]any{"r": id("First Level"), "m": id("Support Group")} },
				"BAD_USER_INPUT", "cycle", membersAre("First Level")},
			{"member link back through a member link", `mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { id } } }`,
				func() map[string]any { return map[string]any{"r": id("First Level"), "m": id("Process M")} },
				"BAD_USER_INPUT", "cycle", membersAre("First Level")},
			{"role as its own member", `mutation($r: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $r}) { role { id } } }`,
				func() map[string]any { return map[string]any{"r": id("Team A")} },
				"BAD_USER_INPUT", "Team A", membersAre("Team A")},
			{"member link twice", `mutation($r: ID!, $m: ID!) { addMemberRole(input: {roleId: $r, memberRoleId: $m}) { role { id } } }`,
				func() map[string]any { return map[string]any{"r": id("Process M"), "m": id("Team B")} },
				"CONFLICT", "Team B", membersAre("Process M", "First Level", "Team B")},
			{"createUser with an unknown role", `mutation($r: ID!) { createUser(input: {name: "dir-half-user", roleIds: [$r, "999999"]}) { user { id } } }`,
				func() map[string]any { return map[string]any{"r": id("Team A")} },
				"BAD_USER_INPUT", "999999", noUser("dir-half-user")},
			{"setUserRoles with no roles", `mutation($u: ID!) { setUserRoles(input: {userId: $u, roleIds: []}) { user { id } } }`,
				func() map[string]any { return map[string]any{"u": userID(t, admin, "bob")} },
				"BAD_USER_INPUT", "roleIds", func(t *testing.T) {
					if got := getUser(t, admin, "bob").roles(); !slices.Equal(got, []string{"Team B"}) {
						t.Errorf("bob's roles are now %v", got)
					}
				}},
			{"a failing field rolls back the earlier ones", `mutation {
				a: createRole(input: {name: "Dir-half"}) { role { id } }
				b: createUser(input: {name: "dir-half"}) { user { id } }
				c: createRole(input: {name: "Dir-half-2", parentId: "999999"}) { role { id } } }`,
				func() map[string]any { return nil }, "NOT_FOUND", "999999", func(t *testing.T) {
					noRole("Dir-half")(t)
					noUser("dir-half")(t)
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				roles, users := counts(t, admin)
				r := admin.Do(t, tt.op, tt.vars())
				wantCode(t, r, tt.code)
				if !strings.Contains(r.Errors[0].Message, tt.msg) {
					t.Errorf("message %q does not contain %q", r.Errors[0].Message, tt.msg)
				}
				if tt.unchanged != nil {
					tt.unchanged(t)
				}
				if r2, u2 := counts(t, admin); r2 != roles || u2 != users {
					t.Errorf("roles/users %d/%d before, %d/%d after", roles, users, r2, u2)
				}
			})
		}

		t.Run("deleteRole deletes the subtree", func(t *testing.T) {
			createRole(t, admin, "Dir-tree", "Team A")
			createRole(t, admin, "Dir-tree-1", "Dir-tree")
			createRole(t, admin, "Dir-tree-11", "Dir-tree-1")
			u := createUser(t, admin, "dir-tree-user", "Dir-tree-11", "Team B")
			carol := userID(t, admin, "carol")
			// Member links both ways across the subtree's border: Dir-tree-1 is a member
			// role of Process N, and Second Level (carol's) a member role of Dir-tree-11.
			admin.MustDo(t, `mutation($r: ID!, $g: ID!, $n: ID!, $t11: ID!, $sl: ID!) {
				g: grantPermission(input: {permission: "TaskDestroy", roleId: $r}) { ok }
				n: grantPermission(input: {permission: "CaseDestroy", roleId: $n}) { ok }
				a: addMemberRole(input: {roleId: $n, memberRoleId: $g}) { role { id } }
				b: addMemberRole(input: {roleId: $t11, memberRoleId: $sl}) { role { id } } }`,
				map[string]any{"r": id("Dir-tree-1"), "g": id("Dir-tree-1"), "n": id("Process N"), "t11": id("Dir-tree-11"), "sl": id("Second Level")}, nil)
			defer admin.MustDo(t, `mutation($n: ID!) { revokePermission(input: {permission: "CaseDestroy", roleId: $n}) { ok } }`,
				map[string]any{"n": id("Process N")}, nil)
			if !holds(t, admin, policy.TaskDestroy, u) {
				t.Fatal("the grant on Dir-tree-1 does not reach the user of its child")
			}
			if !holds(t, admin, policy.CaseDestroy, u) {
				t.Fatal("the grant on Process N does not reach the user of Dir-tree-11 (Dir-tree-1 is its member role)")
			}
			if !holds(t, admin, policy.TaskDestroy, carol) {
				t.Fatal("the grant on Dir-tree-1 does not reach carol (Second Level is a member role of Dir-tree-11)")
			}
			roles, users := counts(t, admin)
			var out struct{ DeleteRole struct{ DeletedCount int } }
			admin.MustDo(t, `mutation($id: ID!) { deleteRole(input: {id: $id}) { deletedCount } }`, map[string]any{"id": id("Dir-tree")}, &out)
			if out.DeleteRole.DeletedCount != 3 {
				t.Errorf("deletedCount %d, want 3", out.DeleteRole.DeletedCount)
			}
			for _, n := range []string{"Dir-tree", "Dir-tree-1", "Dir-tree-11"} {
				noRole(n)(t)
			}
			if r2, u2 := counts(t, admin); r2 != roles-3 || u2 != users {
				t.Errorf("roles/users %d/%d before, %d/%d after; want 3 roles fewer", roles, users, r2, u2)
			}
			if getRole(t, admin, "Team A") == nil {
				t.Error("the parent of the deleted role went too")
			}
			if got := getUser(t, admin, "dir-tree-user").roles(); !slices.Equal(got, []string{"Team B"}) {
				t.Errorf("user's roles after the delete: %v, want [Team B]", got)
			}
			if holds(t, admin, policy.TaskDestroy, u) || holds(t, admin, policy.CaseDestroy, u) {
				t.Error("the user still holds permissions through a deleted role")
			}
			if holds(t, admin, policy.TaskDestroy, carol) {
				t.Error("carol still holds the permission of a deleted role through its member link")
			}
			if got := getRole(t, admin, "Process N").members(); !slices.Equal(got, []string{"Support Group"}) {
				t.Errorf("member roles of Process N after the delete: %v, want [Support Group]", got)
			}
			if getRole(t, admin, "Second Level") == nil {
				t.Error("a member role of a deleted role went too")
			}
		})

		t.Run("moving a role changes inherited permissions at once", func(t *testing.T) {
			alice, carol := userID(t, admin, "alice"), userID(t, admin, "carol")
			grant := map[string]any{"r": id("Support Group")}
			admin.MustDo(t, `mutation($r: ID!) { grantPermission(input: {permission: "TaskReadAll", roleId: $r}) { ok } }`, grant, nil)
			defer admin.MustDo(t, `mutation($r: ID!) { revokePermission(input: {permission: "TaskReadAll", roleId: $r}) { ok } }`, grant, nil)
			if !holds(t, admin, policy.TaskReadAll, alice) || !holds(t, admin, policy.TaskReadAll, carol) {
				t.Fatal("the grant on Support Group does not reach alice (First Level) and carol (Second Level)")
			}
			move := `mutation($id: ID!, $p: ID!) { moveRole(input: {id: $id, parentId: $p}) { role { parent { name } } } }`
			admin.MustDo(t, move, map[string]any{"id": id("First Level"), "p": id("Development")}, nil)
			if holds(t, admin, policy.TaskReadAll, alice) {
				t.Error("alice keeps TaskReadAll after First Level moved under Development")
			}
			if !holds(t, admin, policy.TaskReadAll, carol) {
				t.Error("carol lost TaskReadAll though Second Level did not move")
			}
			admin.MustDo(t, move, map[string]any{"id": id("First Level"), "p": id("Support Group")}, nil)
			if !holds(t, admin, policy.TaskReadAll, alice) {
				t.Error("alice does not get TaskReadAll back after First Level moved back")
			}
		})
	})
}

// TestOneRequestSeesItsOwnChanges sends several mutations in one request, which share
// one transaction: the policy must end up as the data says, in the order the fields ran,
// and the cycle checks must see the changes of the earlier fields.
func TestOneRequestSeesItsOwnChanges(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demoConfig())
		admin := srv.Login(t, "admin", "admin")

		t.Run("grant then revoke", func(t *testing.T) {
			u := createUser(t, admin, "one-grant-revoke")
			admin.MustDo(t, `mutation($u: ID!) {
				a: grantPermission(input: {permission: "TaskDestroy", userId: $u}) { ok }
				b: revokePermission(input: {permission: "TaskDestroy", userId: $u}) { ok } }`, map[string]any{"u": u}, nil)
			if holds(t, admin, policy.TaskDestroy, u) {
				t.Error("the user holds TaskDestroy, granted and then revoked in one request")
			}
		})
		t.Run("deny then allow", func(t *testing.T) {
			u := createUser(t, admin, "one-deny-allow")
			admin.MustDo(t, `mutation($u: ID!) {
				a: denyPermission(input: {permission: "TaskDestroy", userId: $u}) { ok }
				b: grantPermission(input: {permission: "TaskDestroy", userId: $u}) { ok } }`, map[string]any{"u": u}, nil)
			if !holds(t, admin, policy.TaskDestroy, u) {
				t.Error("the user lacks TaskDestroy, denied and then allowed in one request")
			}
		})
		t.Run("two moves making a cycle", func(t *testing.T) {
			a, b := createRole(t, admin, "One-A", ""), createRole(t, admin, "One-B", "")
			r := admin.Do(t, `mutation($a: ID!, $b: ID!) {
				x: moveRole(input: {id: $a, parentId: $b}) { role { id } }
				y: moveRole(input: {id: $b, parentId: $a}) { role { id } } }`, map[string]any{"a": a, "b": b})
			wantCode(t, r, "BAD_USER_INPUT")
			for _, n := range []string{"One-A", "One-B"} {
				if p := getRole(t, admin, n).parent(); p != "Everybody" {
					t.Errorf("%s is under %q, want still under Everybody", n, p)
				}
			}
		})
		t.Run("two member links making a cycle", func(t *testing.T) {
			a, b := createRole(t, admin, "One-C", ""), createRole(t, admin, "One-D", "")
			r := admin.Do(t, `mutation($a: ID!, $b: ID!) {
				x: addMemberRole(input: {roleId: $a, memberRoleId: $b}) { role { id } }
				y: addMemberRole(input: {roleId: $b, memberRoleId: $a}) { role { id } } }`, map[string]any{"a": a, "b": b})
			wantCode(t, r, "BAD_USER_INPUT")
			for _, n := range []string{"One-C", "One-D"} {
				if m := getRole(t, admin, n).members(); len(m) != 0 {
					t.Errorf("%s has member roles %v, want none", n, m)
				}
			}
		})
	})
}
