package wstransport

import (
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

var shapeSchema = gqlparser.MustLoadSchema(&ast.Source{Input: `
type Query { x: Int }
input F { name: String }
type Ev { a(lang: String): String }
type Subscription { ev(where: F, tag: String): Ev }
`})

func shapeOf(t *testing.T, query string, vars map[string]any) string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(shapeSchema, query)
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	shape, _ := renderShape(&graphql.OperationContext{RawQuery: query, Variables: vars, Doc: doc, Operation: doc.Operations[0]})
	return shape
}

// TestRenderShape: subscriptions that differ only in variables their subscription
// field's arguments use share a shape (one rendering per event); a variable the
// rendering reads, directly, in a directive or through a fragment, keeps them apart.
func TestRenderShape(t *testing.T) {
	const filtered = `subscription($w: F) { ev(where: $w) { a } }`
	for _, c := range []struct {
		name  string
		q1    string
		v1    map[string]any
		q2    string
		v2    map[string]any
		equal bool
	}{
		{"different filters", filtered, map[string]any{"w": map[string]any{"name": "x"}},
			filtered, map[string]any{"w": map[string]any{"name": "') OR 1=1"}}, true},
		{"a filter and none", filtered, map[string]any{"w": map[string]any{"name": "x"}}, filtered, map[string]any{"w": nil}, true},
		{"a field argument", `subscription($w: F, $l: String) { ev(where: $w) { a(lang: $l) } }`, map[string]any{"l": "en"},
			`subscription($w: F, $l: String) { ev(where: $w) { a(lang: $l) } }`, map[string]any{"l": "de"}, false},
		{"a variable used by both", `subscription($t: String) { ev(tag: $t) { a(lang: $t) } }`, map[string]any{"t": "en"},
			`subscription($t: String) { ev(tag: $t) { a(lang: $t) } }`, map[string]any{"t": "de"}, false},
		{"a directive", `subscription($w: F, $i: Boolean!) { ev(where: $w) { a @include(if: $i) } }`, map[string]any{"i": true},
			`subscription($w: F, $i: Boolean!) { ev(where: $w) { a @include(if: $i) } }`, map[string]any{"i": false}, false},
		{"a fragment", `subscription($w: F, $l: String) { ev(where: $w) { ...A } } fragment A on Ev { a(lang: $l) }`, map[string]any{"l": "en"},
			`subscription($w: F, $l: String) { ev(where: $w) { ...A } } fragment A on Ev { a(lang: $l) }`, map[string]any{"l": "de"}, false},
		{"different selections", filtered, nil, `subscription($w: F) { ev(where: $w) { b: a } }`, nil, false},
		{"inline filters", `subscription { ev(where: {name: "x"}) { a } }`, nil, `subscription { ev(where: {name: "y"}) { a } }`, nil, false},
	} {
		s1, s2 := shapeOf(t, c.q1, c.v1), shapeOf(t, c.q2, c.v2)
		if (s1 == s2) != c.equal {
			t.Errorf("%s: shapes equal = %v, want %v (%q, %q)", c.name, s1 == s2, c.equal, s1, s2)
		}
	}
}

// TestRenderingVariables: what a subscription keeps of its variables once its field has
// resolved is what its rendering reads, never a variable its field's arguments alone use.
func TestRenderingVariables(t *testing.T) {
	q := `subscription($w: F, $t: String, $l: String) { ev(where: $w, tag: $t) { a(lang: $l) b: a(lang: $t) } }`
	doc, errs := gqlparser.LoadQuery(shapeSchema, q)
	if errs != nil {
		t.Fatal(errs)
	}
	vars := map[string]any{"w": map[string]any{"name": "x"}, "t": "de", "l": "en"}
	_, kept := renderShape(&graphql.OperationContext{RawQuery: q, Variables: vars, Doc: doc, Operation: doc.Operations[0]})
	if want := (map[string]any{"t": "de", "l": "en"}); !reflect.DeepEqual(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
}
