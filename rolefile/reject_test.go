package rolefile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type rejectCase struct {
	name string
	in   string
	want []string // substrings of the error: where and why
}

func runRejects(t *testing.T, parse func(io.Reader) error, cases []rejectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("accepted")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// xmlRoles wraps child role elements in a valid Everybody root; the
// children start on line 3.
func xmlRoles(children string) string {
	return "<role>\n<identifier>Everybody</identifier>\n" + children + "</role>\n"
}

func TestRejectRolesXML(t *testing.T) {
	runRejects(t, func(r io.Reader) error { _, err := ParseRolesXML(r); return err }, []rejectCase{
		{"empty file", "", []string{"roles.xml: no <role> element"}},
		{"unclosed", "<role>\n<identifier>Everybody</identifier>\n", []string{"roles.xml:3:", "XML syntax error", "unexpected EOF"}},
		{"mismatched tag", xmlRoles("<role><identifier>A</identifier></rol>\n"),
			[]string{"roles.xml:3:", "XML syntax error", "</rol>"}},
		{"wrong root element", "<roles/>", []string{"roles.xml:1:1", "root element is <roles>, want <role>"}},
		{"root not Everybody", "<role>\n  <identifier>Admins</identifier>\n</role>",
			[]string{"roles.xml:2:3: role[Admins]/identifier: the root role must be Everybody, not \"Admins\""}},
		{"empty identifier", xmlRoles("<role>\n  <identifier></identifier>\n</role>\n"),
			[]string{"roles.xml:4:3: role[Everybody]/role/identifier: missing or empty role identifier"}},
		{"missing identifier", xmlRoles("<role>\n  <displayName>A</displayName>\n</role>\n"),
			[]string{"roles.xml:3:1: role[Everybody]/role: missing or empty role identifier"}},
		{"duplicate role", xmlRoles("<role><identifier>A</identifier></role>\n<role><identifier>B</identifier>\n<role><identifier>A</identifier></role></role>\n"),
			[]string{"roles.xml:5:7: role[Everybody]/role[B]/role[A]/identifier", `duplicate role "A" (first defined at line 3)`}},
		{"nested Everybody", xmlRoles("<role><identifier>Everybody</identifier></role>\n"),
			[]string{"roles.xml:3:7:", `duplicate role "Everybody"`}},
		{"identifier twice", xmlRoles("<role><identifier>A</identifier>\n<identifier>B</identifier></role>\n"),
			[]string{"roles.xml:4:1: role[Everybody]/role[A]/identifier: <identifier> given twice"}},
		{"leading space", xmlRoles("<role><identifier> Team A</identifier></role>\n"),
			[]string{"roles.xml:3:7:", `role identifier " Team A" has leading or trailing white space`}},
		{"control character", xmlRoles("<role><identifier>Team&#9;A</identifier></role>\n"),
			[]string{"roles.xml:3:7:", "contains the invalid character U+0009"}},
		{"control character in display name", xmlRoles("<role><identifier>A</identifier><displayName>x&#10;y</displayName></role>\n"),
			[]string{"roles.xml:3:33: role[Everybody]/role[A]/displayName", "U+000A"}},
		{"unknown element", xmlRoles("<role><identifier>A</identifier>\n<displayname>x</displayname></role>\n"),
			[]string{"roles.xml:4:1: role[Everybody]/role[A]/displayname: unknown element <displayname>"}},
		{"stray text", xmlRoles("<role><identifier>A</identifier> oops </role>\n"),
			[]string{"roles.xml:3:", "role[Everybody]/role[A]: unexpected text \"oops\""}},
		{"element in text", xmlRoles("<role><identifier>A<b/></identifier></role>\n"),
			[]string{"roles.xml:3:20:", "unexpected element <b> inside <identifier>"}},
		{"unknown element in roleMembers", xmlRoles("<role><identifier>A</identifier><roleMembers><member>B</member></roleMembers></role>\n"),
			[]string{"roles.xml:3:", "roleMembers/member: unknown element <member>"}},
		{"empty member", xmlRoles("<role><identifier>A</identifier>\n<roleMembers><role/></roleMembers></role>\n"),
			[]string{"roles.xml:4:14: role[Everybody]/role[A]/roleMembers/role: missing or empty member role"}},
		{"member twice", xmlRoles("<role><identifier>A</identifier><roleMembers>\n<role>B</role>\n<role>B</role></roleMembers></role>\n"),
			[]string{"roles.xml:5:1: role[Everybody]/role[A]/roleMembers/role:", `member role "B" listed twice`}},
		{"member of itself", xmlRoles("<role><identifier>A</identifier><roleMembers><role>A</role></roleMembers></role>\n"),
			[]string{"roles.xml:3:", `role "A" cannot be a member role of itself`}},
		{"second root", xmlRoles("") + "<role/>", []string{"roles.xml:4:1", "a second root element <role>"}},
		{"undeclared encoding", `<?xml version="1.0" encoding="EBCDIC"?><role/>`, []string{"roles.xml:1:", `unsupported encoding "EBCDIC"`}},
		{"too deep", strings.Repeat("<role><identifier>x</identifier>", MaxDepth+1),
			[]string{"roles.xml:1:", fmt.Sprintf("roles nested deeper than %d levels", MaxDepth)}},
	})
}

func TestRejectUsersXML(t *testing.T) {
	user := func(body string) string {
		return "<userConfig>\n<user>\n" + body + "</user>\n</userConfig>\n"
	}
	runRejects(t, func(r io.Reader) error { _, err := ParseUsersXML(r); return err }, []rejectCase{
		{"empty file", " \n", []string{"users.xml: no <userConfig> element"}},
		{"wrong root", "<users></users>", []string{"users.xml:1:1", "root element is <users>, want <userConfig>"}},
		{"unknown child", "<userConfig>\n<usr/></userConfig>", []string{"users.xml:2:1: userConfig/usr: unknown element <usr>; want <user>"}},
		{"missing user name", user("<password>x</password>\n<role>A</role>\n"),
			[]string{"users.xml:2:1: userConfig/user: missing or empty user name"}},
		{"no roles", user("<username>bob</username>\n"),
			[]string{"users.xml:2:1: userConfig/user[bob]", `user "bob" has no roles; every user needs at least one`}},
		{"empty role", user("<username>bob</username>\n<role></role>\n"),
			[]string{"users.xml:4:1: userConfig/user[bob]/role: missing or empty role"}},
		{"role twice", user("<username>bob</username>\n<role>A</role>\n<role>A</role>\n"),
			[]string{"users.xml:5:1: userConfig/user[bob]/role: role \"A\" listed twice"}},
		{"duplicate user", "<userConfig>\n<user><username>bob</username><role>A</role></user>\n<user><username>bob</username><role>A</role></user>\n</userConfig>",
			[]string{"users.xml:3:7: userConfig/user[bob]/username", `duplicate user "bob" (first defined at line 2)`}},
		{"padded user name", user("<username>bob </username><role>A</role>\n"),
			[]string{"users.xml:3:1: userConfig/user[bob ]/username", `user name "bob " has leading or trailing white space`}},
		{"control character in password", user("<username>bob</username><password>a&#13;b</password><role>A</role>\n"),
			[]string{"users.xml:3:25: userConfig/user[bob]/password", "U+000D"}},
		{"unknown element", user("<username>bob</username>\n<email>b@x</email>\n"),
			[]string{"users.xml:4:1: userConfig/user[bob]/email: unknown element <email>"}},
		{"property without name", user("<username>bob</username><role>A</role>\n<property>v</property>\n"),
			[]string{"users.xml:4:1: userConfig/user[bob]/property: <property> without a name attribute"}},
		{"property twice", user("<username>bob</username><role>A</role>\n<property name=\"k\">1</property>\n<property name=\"k\">2</property>\n"),
			[]string{"users.xml:5:1:", `property "k" given twice`}},
		{"empty property name", user("<username>bob</username><role>A</role>\n<property name=\"\">v</property>\n"),
			[]string{"users.xml:4:1: userConfig/user[bob]/property: missing or empty property name"}},
		{"username twice", user("<username>a</username><username>b</username>\n"),
			[]string{"users.xml:3:23:", "<username> given twice"}},
	})
}

func TestRejectRolesYAML(t *testing.T) {
	runRejects(t, func(r io.Reader) error { _, err := ParseRolesYAML(r); return err }, []rejectCase{
		{"empty file", "# nothing\n", []string{`roles.yaml: empty file; want a top-level "Roles" list`}},
		{"syntax", "Roles: [\n  {Id: Everybody}\n", []string{"roles.yaml:1:8:", "YAML syntax error"}},
		{"top-level typo", "Role:\n  - Id: Everybody\n", []string{`roles.yaml:1:1: Role: unknown top-level key "Role"; want "Roles"`}},
		{"extra top-level key", "Roles:\n  - Id: Everybody\nUsers: []\n", []string{`roles.yaml:3:1: Users: unknown top-level key "Users"`}},
		{"top level not a mapping", "- Id: Everybody\n", []string{"roles.yaml:1:1:", `the top level must be a mapping with the key "Roles"`}},
		{"Roles not a list", "Roles: Everybody\n", []string{"roles.yaml:1:8: Roles: must be a list, not a string"}},
		{"item not a mapping", "Roles:\n  - Everybody\n", []string{"roles.yaml:2:5: Roles[0]: must be a mapping, not a string"}},
		{"unknown key", "Roles:\n  - Id: Everybody\n  - Id: A\n    Parnet: Everybody\n",
			[]string{`roles.yaml:4:5: Roles[1].Parnet: unknown key "Parnet"; want Id, Name, Parent or Members`}},
		{"missing Id", "Roles:\n  - Id: Everybody\n  - Name: A\n",
			[]string{"roles.yaml:3:5: Roles[1]: missing or empty role identifier"}},
		{"empty Id", "Roles:\n  - Id: Everybody\n  - Id: ''\n",
			[]string{"roles.yaml:3:5: Roles[1].Id: missing or empty role identifier"}},
		{"null Id", "Roles:\n  - Id: Everybody\n  - Id:\n    Name: x\n",
			[]string{"roles.yaml:3:5: Roles[1].Id: missing or empty role identifier"}},
		{"duplicate Id", "Roles:\n  - Id: Everybody\n  - Id: A\n  - Id: A\n",
			[]string{`roles.yaml:4:5: Roles[2].Id: duplicate role "A" (first defined at line 3)`}},
		{"two Everybody", "Roles:\n  - Id: Everybody\n  - Id: Everybody\n",
			[]string{`roles.yaml:3:5: Roles[1].Id: duplicate role "Everybody"`}},
		{"no Everybody", "Roles:\n  - Id: A\n", []string{"roles.yaml: no Everybody role"}},
		{"Everybody with parent", "Roles:\n  - Id: Everybody\n    Parent: Root\n",
			[]string{"roles.yaml:3:5: Roles[0].Parent: Everybody is the root role and cannot have a parent"}},
		{"own parent", "Roles:\n  - Id: Everybody\n  - Id: A\n    Parent: A\n",
			[]string{`roles.yaml:4:5: Roles[1].Parent: role "A" is its own parent`}},
		{"cycle", "Roles:\n  - Id: Everybody\n  - Id: A\n    Parent: C\n  - Id: B\n    Parent: A\n  - Id: C\n    Parent: B\n  - Id: D\n    Parent: C\n",
			[]string{"roles.yaml:4:5: Roles[1].Parent: parent cycle: A -> C -> B -> A"}},
		{"cycle reached from below", "Roles:\n  - Id: Everybody\n  - Id: D\n    Parent: B\n  - Id: B\n    Parent: C\n  - Id: C\n    Parent: B\n",
			[]string{"roles.yaml:6:5: Roles[2].Parent: parent cycle: B -> C -> B"}},
		{"padded Id", "Roles:\n  - Id: Everybody\n  - Id: \"Team A \"\n",
			[]string{`roles.yaml:3:5: Roles[1].Id: role identifier "Team A " has leading or trailing white space`}},
		{"control character", "Roles:\n  - Id: Everybody\n    Name: \"a\\tb\"\n",
			[]string{"roles.yaml:3:5: Roles[0].Name: display name \"a\\tb\" contains the invalid character U+0009"}},
		{"Members not a list", "Roles:\n  - Id: Everybody\n  - Id: A\n    Members: B\n",
			[]string{"roles.yaml:4:5: Roles[1].Members: must be a list, not a string"}},
		{"member not a string", "Roles:\n  - Id: Everybody\n  - Id: A\n    Members:\n      - {Id: B}\n",
			[]string{"roles.yaml:5:9: Roles[1].Members[0]: must be a string, not a mapping"}},
		{"member twice", "Roles:\n  - Id: Everybody\n  - Id: A\n    Members: [B, B]\n",
			[]string{`roles.yaml:4:18: Roles[1].Members[1]: member role "B" listed twice`}},
		{"key twice", "Roles:\n  - Id: Everybody\n    Id: A\n", []string{"roles.yaml:3:5:", `mapping key "Id" already defined`}},
		{"alias", "Roles:\n  - Id: &e Everybody\n  - Id: A\n    Parent: *e\n", []string{"roles.yaml:2:5: Roles[0].Id: must be a string, not an anchor or alias (not supported)"}},
		{"tag", "Roles:\n  - Id: !!str Everybody\n", []string{"roles.yaml:2:5: Roles[0].Id: must be a string, not a tagged value"}},
		{"two documents", "Roles:\n  - Id: Everybody\n---\nRoles: []\n", []string{"roles.yaml:4:", "more than one YAML document"}},
		{"flow too deep", "Roles: " + strings.Repeat("[", 1000), []string{"roles.yaml:1:23: nested deeper than 16 levels"}},
		{"block too deep", "Roles:\n  " + strings.Repeat("- ", 1000) + "x\n", []string{"roles.yaml:2:33: nested deeper than 16 levels"}},
		{"tree too deep", rolesChain(MaxDepth + 1), []string{fmt.Sprintf("roles.yaml:%d:5: Roles[%d].Parent", 2*MaxDepth+2, MaxDepth),
			fmt.Sprintf(`role "r%d" is nested deeper than %d levels`, MaxDepth, MaxDepth)}},
	})
}

// rolesChain is a roles.yaml with Everybody and a chain of n-1 roles below it.
func rolesChain(n int) string {
	var b strings.Builder
	b.WriteString("Roles:\n  - Id: Everybody\n")
	parent := "Everybody"
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - Id: r%d\n    Parent: %s\n", i, parent)
		parent = fmt.Sprintf("r%d", i)
	}
	return b.String()
}

func TestRejectUsersYAML(t *testing.T) {
	runRejects(t, func(r io.Reader) error { _, err := ParseUsersYAML(r); return err }, []rejectCase{
		{"empty file", "", []string{`users.yaml: empty file; want a top-level "Users" list`}},
		{"syntax", "Users:\n  - Name: bob\n   Roles: [A]\n", []string{"users.yaml:", "YAML syntax error"}},
		{"top-level typo", "users: []\n", []string{`users.yaml:1:1: users: unknown top-level key "users"; want "Users"`}},
		{"unknown key", "Users:\n  - Name: bob\n    Email: b@x\n    Roles: [A]\n",
			[]string{`users.yaml:3:5: Users[0].Email: unknown key "Email"; want Name, Password, FullName, Mail, Roles, Language or Properties`}},
		{"missing name", "Users:\n  - Roles: [A]\n", []string{"users.yaml:2:5: Users[0]: missing or empty user name"}},
		{"no roles", "Users:\n  - Name: bob\n", []string{`users.yaml:2:5: Users[0]: user "bob" has no roles`}},
		{"empty roles", "Users:\n  - Name: bob\n    Roles: []\n", []string{`users.yaml:3:5: Users[0].Roles: user "bob" has no roles`}},
		{"role twice", "Users:\n  - Name: bob\n    Roles:\n      - A\n      - A\n", []string{`users.yaml:5:9: Users[0].Roles[1]: role "A" listed twice`}},
		{"duplicate user", "Users:\n  - Name: bob\n    Roles: [A]\n  - Name: bob\n    Roles: [A]\n",
			[]string{`users.yaml:4:5: Users[1].Name: duplicate user "bob" (first defined at line 2)`}},
		{"padded name", "Users:\n  - Name: ' bob'\n    Roles: [A]\n", []string{`users.yaml:2:5: Users[0].Name: user name " bob" has leading or trailing white space`}},
		{"multi-line password", "Users:\n  - Name: bob\n    Password: |\n      secret\n    Roles: [A]\n",
			[]string{"users.yaml:3:5: Users[0].Password: password \"secret\\n\" contains the invalid character U+000A"}},
		{"Properties not a mapping", "Users:\n  - Name: bob\n    Roles: [A]\n    Properties: [a, b]\n",
			[]string{"users.yaml:4:5: Users[0].Properties: must be a mapping, not a list"}},
		{"property not a string", "Users:\n  - Name: bob\n    Roles: [A]\n    Properties:\n      k: [1]\n",
			[]string{"users.yaml:5:7: Users[0].Properties.k: must be a string, not a list"}},
		{"padded property name", "Users:\n  - Name: bob\n    Roles: [A]\n    Properties:\n      'k ': v\n",
			[]string{`users.yaml:5:7: Users[0].Properties.k : property name "k " has leading or trailing white space`}},
		{"merge key", "Users:\n  - Name: bob\n    Roles: [A]\n    Properties:\n      <<: {a: b}\n",
			[]string{"users.yaml:5:7: Users[0].Properties: a key must be a string, not a merge key"}},
	})
}

func TestLimits(t *testing.T) {
	// One byte over MaxBytes, made of spaces after a valid start so that only
	// the size can be the problem.
	big := func(prefix string) io.Reader {
		return io.MultiReader(strings.NewReader(prefix), io.LimitReader(spaces{}, MaxBytes+1-int64(len(prefix))))
	}
	if _, err := ParseRolesXML(big("<role>")); err == nil || !strings.Contains(err.Error(), "file is larger than") {
		t.Errorf("roles.xml: %v", err)
	}
	if _, err := ParseUsersYAML(big("Users:")); err == nil || !strings.Contains(err.Error(), "file is larger than") {
		t.Errorf("users.yaml: %v", err)
	}

	_, err := ParseRolesYAML(strings.NewReader("Roles: [" + strings.Repeat("a,", maxYAMLMarks) + "]"))
	if err == nil || !strings.Contains(err.Error(), "roles.yaml: file too large: 2000003 line breaks and YAML indicators, at most 2000000; split it") {
		t.Errorf("roles.yaml: %v", err)
	}

	var b strings.Builder
	b.WriteString("<role><identifier>Everybody</identifier>")
	for i := 0; i < MaxEntries; i++ {
		fmt.Fprintf(&b, "<role><identifier>%d</identifier></role>\n", i)
	}
	b.WriteString("</role>")
	_, err = ParseRolesXML(strings.NewReader(b.String()))
	if want := fmt.Sprintf("roles.xml:%d:1: role[Everybody]/role: more than %d roles", MaxEntries, MaxEntries); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	b.Reset()
	b.WriteString("Users:\n")
	for i := 0; i <= MaxEntries; i++ {
		b.WriteString("- x\n")
	}
	_, err = ParseUsersYAML(strings.NewReader(b.String()))
	if want := fmt.Sprintf("users.yaml: more than %d users", MaxEntries); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestRejectWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"roles xml no Everybody", WriteRolesXML(io.Discard, []Role{{Name: "A", Parent: "B"}}), "no Everybody role"},
		{"roles yaml duplicate", WriteRolesYAML(io.Discard, []Role{{Name: "Everybody"}, {Name: "A", Parent: "Everybody"}, {Name: "A", Parent: "Everybody"}}),
			`roles[2].Name: duplicate role "A" (first at roles[1])`},
		{"roles missing parent", WriteRolesYAML(io.Discard, []Role{{Name: "Everybody"}, {Name: "A"}}), `roles[1].Parent: role "A" has no parent`},
		{"users no roles", WriteUsersYAML(io.Discard, []User{{Name: "bob"}}), `users[0].Roles: user "bob" has no roles`},
		{"users control character", WriteUsersXML(io.Discard, []User{{Name: "bob", Roles: []string{"A"}, Properties: map[string]string{"k": "a\x00"}}}),
			`users[0].Properties[k]: property value "a\x00" contains the invalid character U+0000`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s", tc.name, tc.err, tc.want)
		}
	}
}
