package filter_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
)

// FuzzValidateName checks the name check against NamePattern and an independent
// byte-by-byte reading of it, and that an accepted name has nothing that means anything
// in SQL or a JSON path.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"costCenter", "_x", "a1", "", "1a", "a') OR 1=1 OR ('", `a"b`, "a.b", "$", "a b",
		"café", strings.Repeat("a", 64), strings.Repeat("a", 65), "a\n", "a\x00", "a-b", "ÿ"} {
		f.Add(s)
	}
	re := regexp.MustCompile(filter.NamePattern)
	f.Fuzz(func(t *testing.T, name string) {
		err := filter.ValidateName(name)
		if ok := validByHand(name); ok != (err == nil) || ok != re.MatchString(name) {
			t.Fatalf("name %q: ValidateName says %v, by hand %v, pattern %v", name, err, ok, re.MatchString(name))
		}
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.CodeBadUserInput || !strings.Contains(ae.Message, filter.NamePattern) {
				t.Fatalf("name %q: refusal %v is not BAD_USER_INPUT naming the pattern", name, err)
			}
			return
		}
		if strings.ContainsAny(name, "'\"\\.$[]()*-;: \t\n\x00") {
			t.Fatalf("accepted %q, which holds SQL or JSON path syntax", name)
		}
	})
}

// validByHand is NamePattern written out: [A-Za-z_] then up to 63 of [A-Za-z0-9_].
func validByHand(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// openFuzzDB opens a SQLite database with tasks holding a variety of custom fields
// (strings, numbers, booleans, JSON null; no objects, whose JSON text json_extract would
// compare), once per fuzzing process.
func openFuzzDB(f *testing.F) (*ent.Client, []*ent.Task) {
	db, err := database.Open(context.Background(), "file:"+filepath.Join(f.TempDir(), "fuzz.db"), database.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	ctx := policy.SystemContext(context.Background())
	c := db.Client
	cs := c.BusinessCase.Create().SetName("case").SetCustomFields(map[string]any{"region": "north"}).SaveX(ctx)
	fields := []map[string]any{
		nil, {}, {"costCenter": "CC-7"}, {"costCenter": "cc-7"}, {"costCenter": "a') OR 1=1 OR ('"},
		{"costCenter": ""}, {"note": `"`}, {"note": `\`}, {"note": "') OR 1=1"}, {"n": 5}, {"n": 5.5},
		{"n": "5"}, {"b": true}, {"z": nil}, {"a b": "x"}, {"a": "x", "costCenter": "CC-7"}, {"x": "ü"},
	}
	for i, cf := range fields {
		tc := c.Task.Create().SetName("task " + string(rune('a'+i))).SetCaseID(cs.ID)
		if cf != nil {
			tc.SetCustomFields(cf)
		}
		tc.ExecX(ctx)
	}
	return c, c.Task.Query().AllX(ctx)
}

// FuzzCompile decodes arbitrary where JSON as the export does, compiles it and runs it on
// SQLite: the only refusals are BAD_USER_INPUT, the statement never fails. Then it adds a
// customFields condition with an arbitrary name and value: a name the check refuses never
// reaches SQL, and an accepted one returns exactly the rows of the where whose custom
// field is that JSON string, evaluated in Go.
func FuzzCompile(f *testing.F) {
	for _, s := range []struct{ where, name, value string }{
		{`{}`, "costCenter", "CC-7"},
		{``, "a') OR 1=1 OR ('", "z"},
		{`{"or":[{"name":"task a"},{"customFields":[{"name":"costCenter","equals":"CC-7"}]}]}`, "note", `"`},
		{`{"not":{"customFields":[{"name":"x') OR 1=1 --","equals":"z"}]}}`, "n", "5"},
		{`{"hasCaseWith":[{"hasTasksWith":[{"text":"%_"}]}]}`, "costCenter", "') OR 1=1"},
		{`{"idGT":-9223372036854775808,"priority":"HIGH"}`, "b", "1"},
		{`{"businessState":["OPEN"],"responsibleRoleIds":["1"],"createdAtLT":"2999-01-01T00:00:00Z"}`, "_", ""},
		{`{"and":[{}]}`, "costCenter", ""},
		{`{"stateIn":"NOPE"}`, "a b", "x"},
		{`{"customFields":{"name":"costCenter"}}`, "z", "null"},
	} {
		f.Add(s.where, s.name, s.value)
	}
	c, tasks := openFuzzDB(f)
	ctx := policy.SystemContext(context.Background())
	f.Fuzz(func(t *testing.T, where, name, value string) {
		w, _, err := filter.DecodeTaskList(where, "")
		if err != nil {
			badInput(t, "decode "+where, err)
			return
		}
		if w == nil {
			w = &ent.TaskWhereInput{}
		}
		base, err := w.Filter(c.Task.Query())
		if err != nil {
			if !errors.Is(err, ent.ErrEmptyTaskWhereInput) {
				t.Fatalf("where %s: filter: %v", where, err)
			}
			return
		}
		ids, err := base.IDs(ctx)
		if err != nil {
			t.Fatalf("where %s: the statement failed: %v", where, err)
		}
		var cf ent.TaskWhereInput
		if err := filter.AddTaskCustomFields(&cf, []*filter.CustomField{{Name: name, Equals: &value}}); err != nil {
			badInput(t, "name "+name, err)
			if filter.ValidateName(name) == nil {
				t.Fatalf("name %q is valid but refused: %v", name, err)
			}
			return
		}
		if filter.ValidateName(name) != nil {
			t.Fatalf("name %q is not valid but was compiled", name)
		}
		and := &cf
		if _, err := w.P(); err == nil {
			and = &ent.TaskWhereInput{And: []*ent.TaskWhereInput{w, &cf}}
		}
		q, err := and.Filter(c.Task.Query())
		if err != nil {
			t.Fatalf("where %s with %q: %v", where, name, err)
		}
		got, err := q.IDs(ctx)
		if err != nil {
			t.Fatalf("where %s with %q = %q: the statement failed: %v", where, name, value, err)
		}
		var want []int
		for _, tk := range tasks {
			if s, ok := tk.CustomFields[name].(string); ok && s == value && slices.Contains(ids, tk.ID) {
				want = append(want, tk.ID)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("where %s, %q = %q: rows %v, in Go %v", where, name, value, got, want)
		}
	})
}

func badInput(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.CodeBadUserInput {
		t.Fatalf("%s: refused with %v, not BAD_USER_INPUT", what, err)
	}
}
