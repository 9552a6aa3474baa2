package rolefile

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// exampleRoles is the tree described by testdata/roles.{xml,yaml}.
var exampleRoles = []Role{
	{Name: "Everybody", DisplayName: "Everybody"},
	{Name: "Support Group", DisplayName: "Support Group", Parent: "Everybody"},
	{Name: "First Level", DisplayName: "First Level Support", Parent: "Support Group"},
	{Name: "Second Level", DisplayName: "Second Level Support", Parent: "Support Group"},
	{Name: "Development", DisplayName: "Development", Parent: "Everybody"},
	{Name: "Team A", DisplayName: "Team A", Parent: "Development"},
	{Name: "Team B", DisplayName: "Team B", Parent: "Development"},
	{Name: "Application Permissions", DisplayName: "Application Permissions", Parent: "Everybody"},
	{Name: "Process M", DisplayName: "Process M", Parent: "Application Permissions", Members: []string{"First Level", "Team B"}},
	{Name: "Process N", DisplayName: "Process N", Parent: "Application Permissions", Members: []string{"Support Group"}},
}

// exampleUsers is the content of testdata/users.{xml,yaml}.
var exampleUsers = []User{
	{Name: "alice", Password: "secret-of-A-2026", FullName: "Alice Anderson", Email: "alice@example.com", Language: "en",
		Roles: []string{"Team A", "Process M"}, Properties: map[string]string{"department": "R&D", "phone": "+1 555 0100"}},
	{Name: "bob", Password: "secret-of-B-2026", FullName: "Bob Brown", Email: "bob@example.com", Roles: []string{"First Level"}},
	{Name: "carol", Password: "secret-of-C-2026", FullName: "Carol Clark", Email: "carol@example.com", Language: "de",
		Roles: []string{"Second Level", "Team B"}},
}

func TestExamples(t *testing.T) {
	for _, tc := range []struct {
		file  string
		parse func(*os.File) (any, error)
		want  any
	}{
		{"roles.xml", func(f *os.File) (any, error) { return ParseRolesXML(f) }, exampleRoles},
		{"roles.yaml", func(f *os.File) (any, error) { return ParseRolesYAML(f) }, exampleRoles},
		{"users.xml", func(f *os.File) (any, error) { return ParseUsersXML(f) }, exampleUsers},
		{"users.yaml", func(f *os.File) (any, error) { return ParseUsersYAML(f) }, exampleUsers},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := tc.parse(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// roleFormats and userFormats pair each writer with its parser.
var roleFormats = []struct {
	name  string
	write func(*bytes.Buffer, []Role) error
	parse func(*bytes.Buffer) ([]Role, error)
}{
	{"xml", func(b *bytes.Buffer, r []Role) error { return WriteRolesXML(b, r) }, func(b *bytes.Buffer) ([]Role, error) { return ParseRolesXML(b) }},
	{"yaml", func(b *bytes.Buffer, r []Role) error { return WriteRolesYAML(b, r) }, func(b *bytes.Buffer) ([]Role, error) { return ParseRolesYAML(b) }},
}

var userFormats = []struct {
	name  string
	write func(*bytes.Buffer, []User) error
	parse func(*bytes.Buffer) ([]User, error)
}{
	{"xml", func(b *bytes.Buffer, u []User) error { return WriteUsersXML(b, u) }, func(b *bytes.Buffer) ([]User, error) { return ParseUsersXML(b) }},
	{"yaml", func(b *bytes.Buffer, u []User) error { return WriteUsersYAML(b, u) }, func(b *bytes.Buffer) ([]User, error) { return ParseUsersYAML(b) }},
}

// awkward holds values that need quoting or escaping in one format or the other.
var awkward = []string{
	"null", "~", "true", "no", "007", "0x1F", "1e3", ".inf", "- item", "a: b", "#hash", "x #y",
	"'single'", `"double"`, `back\slash`, "<tag>", "R&D", "]]>", "[list]", "{map}", "*alias", "&anchor",
	"!tag", "%directive", "@at", "`tick", "|", ">", "?", ",", "Grüße 日本", "emoji 🙂", "nbsp\u00a0inside",
	"---", "...", "=", "<<", "line\u2028separator", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen",
	"\U0001F600", "tag\U000E0001", "private\ue000", "last\U0010FFFD", "\ufffd",
}

func TestRoundTripRoles(t *testing.T) {
	cases := map[string][]Role{
		"example":       exampleRoles,
		"only everyone": {{Name: "Everybody"}},
		"padded display names": {
			{Name: "Everybody", DisplayName: "  all  "},
			{Name: "a", DisplayName: " ", Parent: "Everybody"},
		},
	}
	tricky := []Role{{Name: "Everybody"}}
	for i, s := range awkward {
		parent := "Everybody"
		if i > 0 {
			parent = awkward[i-1] // a deep chain of awkward names
		}
		tricky = append(tricky, Role{Name: s, DisplayName: s, Parent: parent, Members: []string{"Everybody", s + "x"}})
	}
	cases["awkward"] = tricky
	for name, roles := range cases {
		for _, f := range roleFormats {
			t.Run(name+"/"+f.name, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.write(&b, roles); err != nil {
					t.Fatal(err)
				}
				got, err := f.parse(&b)
				if err != nil {
					t.Fatalf("%v\n%s", err, b.String())
				}
				if !reflect.DeepEqual(got, roles) {
					t.Errorf("got  %q\nwant %q", got, roles)
				}
			})
		}
	}
}

func TestRoundTripUsers(t *testing.T) {
	cases := map[string][]User{
		"example": exampleUsers,
		"none":    nil,
		"minimal": {{Name: "u", Roles: []string{"r"}}},
		"padded":  {{Name: "u", Password: "  secret ", FullName: " x", Roles: []string{"r"}, Properties: map[string]string{"k": " "}}},
	}
	var tricky []User
	for _, s := range awkward {
		tricky = append(tricky, User{Name: s, Password: s, FullName: s, Email: s, Language: s,
			Roles: []string{s, "r"}, Properties: map[string]string{s: s, "k": s}})
	}
	cases["awkward"] = tricky
	for name, users := range cases {
		for _, f := range userFormats {
			t.Run(name+"/"+f.name, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.write(&b, users); err != nil {
					t.Fatal(err)
				}
				got, err := f.parse(&b)
				if err != nil {
					t.Fatalf("%v\n%s", err, b.String())
				}
				if len(users) == 0 && len(got) == 0 {
					return
				}
				if !reflect.DeepEqual(got, users) {
					t.Errorf("got  %q\nwant %q", got, users)
				}
			})
		}
	}
}

// TestConvert converts the XML examples to YAML and back and expects the
// same data and the same XML.
func TestConvert(t *testing.T) {
	src, err := os.ReadFile("testdata/roles.xml")
	if err != nil {
		t.Fatal(err)
	}
	roles, err := ParseRolesXML(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var xml1, yml, xml2 bytes.Buffer
	must(t, WriteRolesXML(&xml1, roles))
	must(t, WriteRolesYAML(&yml, roles))
	fromYAML, err := ParseRolesYAML(&yml)
	must(t, err)
	must(t, WriteRolesXML(&xml2, fromYAML))
	if xml1.String() != xml2.String() {
		t.Errorf("roles XML changed through YAML:\n%s\n---\n%s", xml1.String(), xml2.String())
	}
	if !reflect.DeepEqual(fromYAML, roles) {
		t.Errorf("roles changed through YAML: %v", fromYAML)
	}

	src, err = os.ReadFile("testdata/users.xml")
	must(t, err)
	users, err := ParseUsersXML(bytes.NewReader(src))
	must(t, err)
	xml1.Reset()
	xml2.Reset()
	yml.Reset()
	must(t, WriteUsersXML(&xml1, users))
	must(t, WriteUsersYAML(&yml, users))
	usersFromYAML, err := ParseUsersYAML(&yml)
	must(t, err)
	must(t, WriteUsersXML(&xml2, usersFromYAML))
	if xml1.String() != xml2.String() {
		t.Errorf("users XML changed through YAML:\n%s\n---\n%s", xml1.String(), xml2.String())
	}
	if !reflect.DeepEqual(usersFromYAML, users) {
		t.Errorf("users changed through YAML: %v", usersFromYAML)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestYAMLOrder checks that parents come out before children whatever the
// file order, and that parents outside the file are accepted.
func TestYAMLOrder(t *testing.T) {
	in := `Roles:
  - {Id: Team A, Parent: Development}
  - {Id: Extra, Parent: Defined Elsewhere}
  - {Id: Development}
  - {Id: Everybody}
  - {Id: Sub, Parent: Extra}
`
	roles, err := ParseRolesYAML(strings.NewReader(in))
	must(t, err)
	var got []string
	for _, r := range roles {
		got = append(got, r.Name+"<"+r.Parent)
	}
	want := []string{"Everybody<", "Development<Everybody", "Team A<Development", "Extra<Defined Elsewhere", "Sub<Extra"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// XML holds the whole tree, so the outside parent cannot be written.
	err = WriteRolesXML(new(bytes.Buffer), roles)
	if err == nil || !strings.Contains(err.Error(), `roles[3].Parent: parent role "Defined Elsewhere" is not in the list`) {
		t.Errorf("WriteRolesXML: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "roles.xml", Line: 12, Column: 5, Path: "role[Everybody]/role[Team A]/identifier", Msg: "empty role identifier"}
	if got, want := e.Error(), "roles.xml:12:5: role[Everybody]/role[Team A]/identifier: empty role identifier"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &Error{File: "users.yaml", Msg: "empty file"}
	if got, want := e.Error(), "users.yaml: empty file"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseErrorsAreTyped(t *testing.T) {
	_, err := ParseRolesXML(strings.NewReader("<role>"))
	var e *Error
	if !errors.As(err, &e) || e.File != "roles.xml" || e.Line != 1 {
		t.Errorf("got %#v", err)
	}
}
