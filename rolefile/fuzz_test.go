package rolefile

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// The fuzzers check that parsing never panics, fails only with *Error,
// and that whatever parses survives a write and a parse in both formats.
// Seeds are in testdata/fuzz/<name>/.

func FuzzParseRolesXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		roles, err := ParseRolesXML(bytes.NewReader(data))
		if checkParseError(t, err) {
			rolesSurvive(t, roles)
		}
	})
}

func FuzzParseRolesYAML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		roles, err := ParseRolesYAML(bytes.NewReader(data))
		if checkParseError(t, err) {
			rolesSurvive(t, roles)
		}
	})
}

func FuzzParseUsersXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsersXML(bytes.NewReader(data))
		if checkParseError(t, err) {
			usersSurvive(t, users)
		}
	})
}

func FuzzParseUsersYAML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsersYAML(bytes.NewReader(data))
		if checkParseError(t, err) {
			usersSurvive(t, users)
		}
	})
}

// checkParseError reports whether parsing succeeded, failing the test if
// the error is not an *Error.
func checkParseError(t *testing.T, err error) bool {
	var e *Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error: %v", err, err)
	}
	return err == nil
}

func rolesSurvive(t *testing.T, roles []Role) {
	defined := map[string]bool{}
	for _, r := range roles {
		defined[r.Name] = true
	}
	wholeTree := true
	for _, r := range roles {
		wholeTree = wholeTree && (r.Parent == "" || defined[r.Parent])
	}
	for _, f := range roleFormats {
		var b bytes.Buffer
		if err := f.write(&b, roles); err != nil {
			// XML holds the whole tree, so it refuses parents defined elsewhere.
			if f.name == "xml" && !wholeTree {
				continue
			}
			t.Fatalf("%s: write: %v", f.name, err)
		}
		got, err := f.parse(&b)
		if err != nil {
			t.Fatalf("%s: parse what was written: %v\n%s", f.name, err, b.String())
		}
		if !reflect.DeepEqual(got, roles) {
			t.Fatalf("%s: got %q\nwant %q\n%s", f.name, got, roles, b.String())
		}
	}
}

func usersSurvive(t *testing.T, users []User) {
	for _, f := range userFormats {
		var b bytes.Buffer
		if err := f.write(&b, users); err != nil {
			t.Fatalf("%s: write: %v", f.name, err)
		}
		got, err := f.parse(&b)
		if err != nil {
			t.Fatalf("%s: parse what was written: %v\n%s", f.name, err, b.String())
		}
		if len(got) == 0 && len(users) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, users) {
			t.Fatalf("%s: got %q\nwant %q\n%s", f.name, got, users, b.String())
		}
	}
}
