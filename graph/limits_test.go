package graph

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/portico-dev/portico/filter"
)

func testSchema(t *testing.T) graphql.ExecutableSchema {
	t.Helper()
	return NewExecutableSchema(Config{Resolvers: &Resolver{}})
}

// Every ent where input's empty-predicate error is mapped to BAD_USER_INPUT; a new
// entity with a where input fails here until it is added to emptyWhereInputs.
func TestEmptyWhereInputsComplete(t *testing.T) {
	src, err := os.ReadFile("../ent/gql_where_input.go")
	if err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`(?m)^var ErrEmpty(\w+WhereInput) = `).FindAllSubmatch(src, -1)
	if len(found) == 0 {
		t.Fatal("no ErrEmpty…WhereInput in ent/gql_where_input.go: has entgql changed its output?")
	}
	for _, m := range found {
		name := string(m[1])
		sentinel, ok := emptyWhereInputs[name]
		if !ok {
			t.Errorf("ent.ErrEmpty%s is missing from emptyWhereInputs", name)
			continue
		}
		if !strings.HasSuffix(sentinel.Error(), name) {
			t.Errorf("emptyWhereInputs[%s] is %v", name, sentinel)
		}
	}
}

func TestPricesNameFields(t *testing.T) {
	s := testSchema(t).Schema()
	for key := range Prices {
		typ, field, _ := strings.Cut(key, ".")
		if def := s.Types[typ]; def == nil || def.Fields.ForName(field) == nil {
			t.Errorf("Prices has %s, which the schema lacks", key)
		}
	}
}

func TestDocumentLimit(t *testing.T) {
	d := documentLimit{Limits: Limits{MaxTokens: 100, MaxFields: 10, MaxRootFields: 3}}
	for _, tc := range []struct {
		query, err string
	}{
		{`{ viewer { name } }`, ""},
		{`{ a: viewer { name } b: viewer { name } c: viewer { name } }`, ""},
		{`{ a: viewer { name } b: viewer { name } c: viewer { name } d: viewer { name } }`, "4 root fields"},
		// Root fields through fragments; a fragment spread twice merges.
		{`{ ...Q ...Q } fragment Q on Query { a: viewer { id } b: viewer { id } }`, ""},
		{`{ ...Q x: viewer { id } y: viewer { id } } fragment Q on Query { a: viewer { id } b: viewer { id } }`, "4 root fields"},
		// Fields count where a fragment is spread.
		{`{ viewer { ...U ...U } } fragment U on User { a: name b: name c: name d: name e: name }`, "more than 10 fields"},
		// Unused fragments are validated, so they count.
		{`{ viewer { id } } fragment U on User { a: name b: name c: name d: name e: name f: name g: name h: name i: name j: name }`, "more than 10 fields"},
		// Cycles (validation refuses them) end the count.
		{`{ viewer { ...U } } fragment U on User { name roles { users { edges { node { ...U } } } } }`, ""},
		{`{ viewer { ` + strings.Repeat("name ", 101) + `} }`, "more than 100 tokens"},
		{`{ viewer { `, ""}, // a syntax error is gqlgen's to report
	} {
		err := d.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: tc.query})
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.query, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Message, tc.err)):
			t.Errorf("%s: %v, want %q", tc.query, err, tc.err)
		case err != nil && err.Extensions["code"] != "BAD_USER_INPUT":
			t.Errorf("%s: code %v", tc.query, err.Extensions["code"])
		}
	}
}

// The page default goes into a copy of the operation: the cached document, shared by
// concurrent requests, stays as parsed.
func TestPageDefaultCopiesTheDocument(t *testing.T) {
	s := testSchema(t).Schema()
	query := `query($b: Cursor) {
		tasks { edges { node { id notes { totalCount } } } }
		search(text: "x") { totalCount }
		back: cases(before: $b) { totalCount }
		...R
	}
	fragment R on Query { roles(first: 3) { edges { node { users { totalCount } } } } }`
	doc, errs := gqlparser.LoadQuery(s, query)
	if errs != nil {
		t.Fatal(errs)
	}
	before := format(doc)
	oc := &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: map[string]any{"b": "gaFpzwAAAAYAAAAE"}}
	if err := (pageLimit{DefaultLimits}).MutateOperationContext(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	if format(doc) != before {
		t.Errorf("the cached document changed:\n%s", format(doc))
	}
	got := format(oc.Doc)
	for _, want := range []string{
		`tasks(first: 50)`, `notes(first: 50)`, `search(text: "x")`, `back: cases(before: $b, last: 50)`,
		`roles(first: 3)`, `users(first: 50)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten operation lacks %s:\n%s", want, got)
		}
	}
	if oc.Operation != oc.Doc.Operations[0] {
		t.Error("the operation is not the document's")
	}
}

func format(doc *ast.QueryDocument) string {
	var b strings.Builder
	formatter.NewFormatter(&b).FormatQueryDocument(doc)
	return b.String()
}

func TestPricedComplexity(t *testing.T) {
	es := Priced(testSchema(t), DefaultLimits)
	for _, tc := range []struct {
		typ, field string
		child      int
		args       map[string]any
		want       int
	}{
		{"Query", "tasks", 3, map[string]any{"first": int64(10)}, 1 + 10*3},
		{"Query", "tasks", 3, map[string]any{}, 1 + 50*3},
		{"Query", "tasks", 3, map[string]any{"last": int64(7)}, 1 + 7*3},
		{"Query", "tasks", 3, map[string]any{"first": int64(1 << 40)}, 1 + 1001*3}, // refused by the page limit
		{"Query", "nodes", 2, map[string]any{"ids": []any{"1", "2", "3"}}, 1 + 3*2},
		{"Query", "search", 2, map[string]any{"first": int64(20)}, 1 + 1000 + 20*2},
		{"Query", "statisticChart", 1, nil, 1 + 2000 + 1},
		{"Query", "tasks", 1 << 60, map[string]any{"first": int64(1000)}, 1<<63 - 1},
	} {
		got, ok := es.Complexity(context.Background(), tc.typ, tc.field, tc.child, tc.args)
		if !ok || got != tc.want {
			t.Errorf("%s.%s(%v) child %d: %d, %v; want %d", tc.typ, tc.field, tc.args, tc.child, got, ok, tc.want)
		}
	}
}

func TestClientError(t *testing.T) {
	for _, tc := range []struct {
		where string
		want  string
	}{
		{`{not: {}}`, "empty TaskWhereInput ({}) at not,"},
		{`{and: [{nameContains: "a"}, {or: [{not: {}}]}]}`, "empty TaskWhereInput ({}) at and.or.not,"},
		{`{hasCaseWith: [{not: {}}]}`, "empty CaseWhereInput ({}) at hasCaseWith.not,"},
	} {
		w, _, err := filter.DecodeTaskList(jsonOf(tc.where), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.P()
		ce := clientError(err)
		if ce == nil || !strings.Contains(ce.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.where, ce, tc.want)
		}
	}
	if clientError(os.ErrNotExist) != nil {
		t.Error("clientError took an unrelated error")
	}
}

// jsonOf quotes the keys of a GraphQL input literal (no strings with colons in them).
func jsonOf(literal string) string {
	return regexp.MustCompile(`(\w+):`).ReplaceAllString(literal, `"$1":`)
}
