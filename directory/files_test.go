package directory_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

var formats = []string{"YAML", "XML"}

// fresh is the config of a server on an empty database without demo data: Everybody and
// admin only.
func freshConfig() portico.Config { return portico.Config{AdminPassword: "fresh-admin-pw"} }

// export returns exportRoles and exportUsers in the format.
func export(t *testing.T, c *servertest.Client, format string) (roles, users string) {
	t.Helper()
	var out struct{ ExportRoles, ExportUsers string }
	c.MustDo(t, `query($f: RoleFileFormat!) { exportRoles(format: $f) exportUsers(format: $f) }`, map[string]any{"f": format}, &out)
	if out.ExportRoles == "" || out.ExportUsers == "" {
		t.Fatalf("empty export: %+v", out)
	}
	return out.ExportRoles, out.ExportUsers
}

type importResult struct{ RolesCreated, RolesUpdated, UsersCreated, UsersUpdated int }

const importMutation = `mutation($f: RoleFileFormat!, $r: String, $u: String) {
	importRoles(input: {format: $f, roles: $r, users: $u}) { rolesCreated rolesUpdated usersCreated usersUpdated } }`

// importFiles imports roles and users ("" leaves a file out) and returns the response.
func importFiles(t *testing.T, c *servertest.Client, format, roles, users string) *servertest.Response {
	t.Helper()
	vars := map[string]any{"f": format, "r": nil, "u": nil}
	if roles != "" {
		vars["r"] = roles
	}
	if users != "" {
		vars["u"] = users
	}
	return c.Do(t, importMutation, vars)
}

func mustImport(t *testing.T, c *servertest.Client, format, roles, users string) importResult {
	t.Helper()
	r := importFiles(t, c, format, roles, users)
	var out struct{ ImportRoles importResult }
	mustOK(t, r)
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out.ImportRoles
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "rolefile", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExportImportRoundTrip exports a demo directory (with a few additions that use
// every field) in each format, imports it into a fresh server, and exports again: the
// text must be the same.
func TestExportImportRoundTrip(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		src := servertest.Start(t, dialect, demoConfig())
		admin := src.Login(t, "admin", "admin")
		createRole(t, admin, "Files Role", "Team B")
		admin.MustDo(t, `mutation($id: ID!, $m: ID!) {
			updateRole(input: {id: $id, displayName: "Files <Role> & \"Co\""}) { role { id } }
			addMemberRole(input: {roleId: $id, memberRoleId: $m}) { role { id } } }`,
			map[string]any{"id": roleID(t, admin, "Files Role"), "m": roleID(t, admin, "Second Level")}, nil)
		admin.MustDo(t, `mutation($r: [ID!]) { createUser(input: {name: "files-props", fullName: "Fränzi Ümläut", email: "f@example.com",
			password: "files-secret", language: "de", roleIds: $r,
			properties: [{key: "department", value: "R&D <core>"}, {key: "phone", value: "+1 555 0100"}]}) { user { id } } }`,
			map[string]any{"r": []string{roleID(t, admin, "Files Role"), roleID(t, admin, "Process M")}}, nil)
		roleCount, userCount := counts(t, admin)

		for _, format := range formats {
			t.Run(format, func(t *testing.T) {
				roles, users := export(t, admin, format)
				for _, want := range []string{"Files Role", "Second Level", "files-props", "department", "Fränzi Ümläut"} {
					if !strings.Contains(roles+users, want) {
						t.Errorf("the export does not mention %q", want)
					}
				}
				if strings.Contains(users, "files-secret") {
					t.Error("exportUsers contains a password")
				}

				dst := servertest.Start(t, dialect, freshConfig())
				dstAdmin := dst.Login(t, "admin", "fresh-admin-pw")
				res := mustImport(t, dstAdmin, format, roles, users)
				// Everybody and admin exist on a fresh server and are updated.
				if want := (importResult{roleCount - 1, 1, userCount - 1, 1}); res != want {
					t.Errorf("import result %+v, want %+v", res, want)
				}
				roles2, users2 := export(t, dstAdmin, format)
				if roles2 != roles {
					t.Errorf("roles export differs after import:\n--- source\n%s\n--- imported\n%s", roles, roles2)
				}
				if users2 != users {
					t.Errorf("users export differs after import:\n--- source\n%s\n--- imported\n%s", users, users2)
				}

				// The same files again change nothing.
				res = mustImport(t, dstAdmin, format, roles, users)
				if want := (importResult{0, roleCount, 0, userCount}); res != want {
					t.Errorf("second import result %+v, want %+v", res, want)
				}
				if roles3, users3 := export(t, dstAdmin, format); roles3 != roles || users3 != users {
					t.Error("export differs after importing the same files twice")
				}
				// The admin kept its password (exports have none).
				dst.Login(t, "admin", "fresh-admin-pw")
			})
		}
	})
}

// TestImportTestdata imports rolefile/testdata into a fresh server in each format and
// checks the roles, users and that an imported user logs in with the file's password.
func TestImportTestdata(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		for _, format := range formats {
			t.Run(format, func(t *testing.T) {
				ext := strings.ToLower(format)
				srv := servertest.Start(t, dialect, freshConfig())
				admin := srv.Login(t, "admin", "fresh-admin-pw")
				res := mustImport(t, admin, format, readTestdata(t, "roles."+ext), readTestdata(t, "users."+ext))
				if want := (importResult{9, 1, 3, 0}); res != want {
					t.Errorf("import result %+v, want %+v", res, want)
				}
				if r, u := counts(t, admin); r != 10 || u != 4 {
					t.Errorf("%d roles and %d users after the import, want 10 and 4", r, u)
				}
				roles := []struct {
					name, display, parent string
					members               []string
				}{
					{"Support Group", "Support Group", "Everybody", nil},
					{"First Level", "First Level Support", "Support Group", nil},
					{"Second Level", "Second Level Support", "Support Group", nil},
					{"Development", "Development", "Everybody", nil},
					{"Team A", "Team A", "Development", nil},
					{"Team B", "Team B", "Development", nil},
					{"Application Permissions", "Application Permissions", "Everybody", nil},
					{"Process M", "Process M", "Application Permissions", []string{"First Level", "Team B"}},
					{"Process N", "Process N", "Application Permissions", []string{"Support Group"}},
				}
				for _, want := range roles {
					r := getRole(t, admin, want.name)
					if r == nil || r.DisplayName != want.display || r.parent() != want.parent || !slices.Equal(r.members(), want.members) {
						t.Errorf("role %s = %+v, want %+v", want.name, r, want)
					}
				}
				users := []struct {
					name, full, email, lang string
					roles                   []string
				}{
					{"alice", "Alice Anderson", "alice@example.com", "en", []string{"Process M", "Team A"}},
					{"bob", "Bob Brown", "bob@example.com", "", []string{"First Level"}},
					{"carol", "Carol Clark", "carol@example.com", "de", []string{"Second Level", "Team B"}},
				}
				for _, want := range users {
					u := getUser(t, admin, want.name)
					if u == nil || u.FullName != want.full || u.Email != want.email || u.Language != want.lang || !slices.Equal(u.roles(), want.roles) {
						t.Errorf("user %s = %+v, want %+v", want.name, u, want)
					}
				}

				alice := srv.Login(t, "alice", "secret-of-A-2026")
				var out struct {
					Viewer struct {
						Name       string
						Properties []struct{ Key, Value string }
					}
				}
				alice.MustDo(t, `{ viewer { name properties { key value } } }`, nil, &out)
				want := []struct{ Key, Value string }{{"department", "R&D"}, {"phone", "+1 555 0100"}}
				if out.Viewer.Name != "alice" || !slices.Equal(out.Viewer.Properties, want) {
					t.Errorf("alice sees herself as %+v", out.Viewer)
				}
				if code := srv.Client().Do(t, `mutation { login(input: {username: "bob", password: "bob"}) { token } }`, nil).Code(); code != "UNAUTHENTICATED" {
					t.Errorf("bob logs in with a password not in the file: %q", code)
				}
			})
		}
	})
}

// TestBrokenImportChangesNothing imports broken files into a demo server: each is
// refused with BAD_USER_INPUT naming where the file is broken, and nothing changes.
func TestBrokenImportChangesNothing(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demoConfig())
		admin := srv.Login(t, "admin", "admin")
		demoID := userID(t, admin, "demo")
		aliceID := userID(t, admin, "alice")

		const everybodyYAML = "Roles:\n  - Id: Everybody\n    Name: Everybody\n"
		tests := []struct {
			name, format, roles, users string
			where                      []string // parts of the message: the location and the problem
			line                       int      // extensions.line, 0 when the error is not in the syntax
		}{
			{"YAML roles with a typo key", "YAML",
				everybodyYAML + "  - Id: Files-Typo\n    Parnet: Everybody\n", "",
				[]string{"roles.yaml:5:", "Roles[1]", `unknown key "Parnet"`}, 5},
			{"YAML users with a typo key", "YAML", "",
				"Users:\n  - Name: files-typo\n    Roles: [Team A]\n    Pasword: x\n",
				[]string{"users.yaml:4:", "Users[0]", `unknown key "Pasword"`}, 4},
			{"XML roles with a duplicate role", "XML",
				"<role>\n  <identifier>Everybody</identifier>\n  <role><identifier>Files-Dup</identifier></role>\n  <role><identifier>Files-Dup</identifier></role>\n</role>\n", "",
				[]string{"roles.xml:4:", "Files-Dup", "duplicate role", "first defined at line 3"}, 4},
			{"XML users with a duplicate user", "XML", "",
				"<userConfig>\n  <user><username>files-x</username><role>Team A</role></user>\n  <user><username>files-x</username><role>Team B</role></user>\n</userConfig>\n",
				[]string{"users.xml:3:", "files-x", "duplicate user"}, 3},
			{"YAML users naming an unknown role", "YAML",
				everybodyYAML + "  - Id: Files-New\n    Parent: Team A\n",
				"Users:\n  - Name: files-ok\n    Roles: [Files-New]\n  - Name: files-bad\n    Roles: [Files-New, No Such Role]\n",
				[]string{`user "files-bad"`, `"No Such Role"`}, 0},
			{"XML users naming an unknown role", "XML",
				"<role>\n  <identifier>Everybody</identifier>\n  <displayName>Everybody</displayName>\n  <role><identifier>Files-New</identifier></role>\n</role>\n",
				"<userConfig>\n  <user><username>alice</username><password>changed-pw</password><role>Files-New</role></user>\n  <user><username>files-bad</username><role>No Such Role</role></user>\n</userConfig>\n",
				[]string{`user "files-bad"`, `"No Such Role"`}, 0},
			{"YAML roles with an unknown parent", "YAML",
				everybodyYAML + "  - Id: Files-Child\n    Parent: No Such Role\n", "",
				[]string{`role "Files-Child"`, `"No Such Role"`}, 0},
			{"YAML roles with an unknown member role", "YAML",
				everybodyYAML + "  - Id: Files-Holder\n    Members: [No Such Role]\n", "",
				[]string{`role "Files-Holder"`, `"No Such Role"`}, 0},
			{"YAML roles making a parent cycle with the database", "YAML",
				// First Level is under Support Group in the database.
				everybodyYAML + "  - Id: Support Group\n    Name: Moved\n    Parent: First Level\n", "",
				[]string{"cycle|inherit itself", "Support Group|First Level"}, 0},
			{"XML roles making a member cycle with the database", "XML",
				// Support Group is a member role of Process N in the database.
				"<role>\n  <identifier>Everybody</identifier>\n  <displayName>Everybody</displayName>\n  <role>\n    <identifier>Support Group</identifier>\n    <displayName>Support Group</displayName>\n    <roleMembers><role>Process N</role></roleMembers>\n  </role>\n</role>\n", "",
				[]string{"cycle|inherit itself", "Support Group|Process N"}, 0},
		}
		permissionsOf := func(id string) []string {
			var out struct {
				User struct{ Permissions []string }
			}
			admin.MustDo(t, `query($u: ID!) { user(id: $u) { permissions } }`, map[string]any{"u": id}, &out)
			return out.User.Permissions
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				roleCount, userCount := counts(t, admin)
				roles, users := export(t, admin, "YAML")
				demoPerms, alicePerms := permissionsOf(demoID), permissionsOf(aliceID)

				r := importFiles(t, admin, tt.format, tt.roles, tt.users)
				wantCode(t, r, "BAD_USER_INPUT")
				msg := r.Errors[0].Message
				for _, w := range tt.where {
					if !containsAny(msg, strings.Split(w, "|")) {
						t.Errorf("message %q does not contain %q", msg, w)
					}
				}
				if tt.line != 0 {
					if line, _ := r.Errors[0].Extensions["line"].(float64); int(line) != tt.line {
						t.Errorf("extensions.line = %v, want %d", r.Errors[0].Extensions["line"], tt.line)
					}
				}

				if r, u := counts(t, admin); r != roleCount || u != userCount {
					t.Errorf("roles/users %d/%d before, %d/%d after", roleCount, userCount, r, u)
				}
				if roles2, users2 := export(t, admin, "YAML"); roles2 != roles || users2 != users {
					t.Errorf("the directory changed:\n--- roles before\n%s\n--- after\n%s\n--- users before\n%s\n--- after\n%s", roles, roles2, users, users2)
				}
				if p := permissionsOf(demoID); !slices.Equal(p, demoPerms) {
					t.Errorf("demo's permissions changed: %v -> %v", demoPerms, p)
				}
				if p := permissionsOf(aliceID); !slices.Equal(p, alicePerms) {
					t.Errorf("alice's permissions changed: %v -> %v", alicePerms, p)
				}
			})
		}
		// alice kept her password through the refused import that would change it.
		srv.Login(t, "alice", "alice")
	})
}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
