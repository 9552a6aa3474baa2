package portico_test

// The review's requests against the request limits (issue 11, items 5, 6, 11 and 13),
// replayed through the real server on both databases.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/graph"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// refusedFast fails unless the request is refused with BAD_USER_INPUT mentioning says,
// well within a bound no loaded machine misses (measured: about 5–50 ms each, where the
// same requests took seconds of CPU before the limits).
func refusedFast(t *testing.T, c *servertest.Client, query string, says string) {
	t.Helper()
	start := time.Now()
	r := c.Do(t, query, nil)
	took := time.Since(start)
	wantErr(t, r, "BAD_USER_INPUT", says)
	if took > 2*time.Second {
		t.Errorf("refused after %v; the limits should answer before validation", took)
	}
}

// aliases repeats field n times under distinct aliases: "a0: field a1: field …".
func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// TestHostileValidationCPU (item 5): without a token, repeated fields cost validation
// seconds of CPU (quadratic in the overlapping-fields rule); the token and field limits
// refuse such documents before validation.
func TestHostileValidationCPU(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		anon := srv.Client()
		lim := graph.DefaultLimits
		for _, n := range []int{8000, 30000} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				refusedFast(t, anon, "{"+strings.Repeat("viewer{name} ", n)+"}", fmt.Sprintf("more than %d tokens", lim.MaxTokens))
			})
		}
		// Under the token limit, one selection set of 2,400 equal fields (about 4 s of
		// validation before): the field limit.
		refusedFast(t, anon, "{viewer{"+strings.Repeat("name ", 2400)+"}}", fmt.Sprintf("more than %d fields", lim.MaxFields))
		// Fragments count where they are spread: 2^12 fields from a few lines.
		var frag strings.Builder
		frag.WriteString("{viewer{...F0}} fragment F12 on User { name }")
		for i := range 12 {
			fmt.Fprintf(&frag, " fragment F%d on User { a: roles { users { edges { node { ...F%d } } } } b: roles { users { edges { node { ...F%[2]d } } } } }", i, i+1)
		}
		refusedFast(t, anon, frag.String(), "fields")
		// What a client sends still works: the playground's introspection query.
		var out struct {
			Schema struct{ Types []struct{ Name string } } `json:"__schema"`
		}
		anon.MustDo(t, introspectionQuery, nil, &out)
		if len(out.Schema.Types) < 50 {
			t.Errorf("introspection returned %d types", len(out.Schema.Types))
		}
	})
}

// TestHostileAliasAmplification (item 6): aliases multiplied the expensive fields (2,400
// searches took 11.8 s); root fields are capped and search, charts and pages are priced.
func TestHostileAliasAmplification(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		search := `search(text: "a") { totalCount }`
		chart := `statisticChart(input: {target: TASKS, groupBy: PRIORITY}) { total }`
		refusedFast(t, admin, "{"+aliases(2400, search)+"}", "tokens")
		refusedFast(t, admin, "{"+aliases(2000, chart)+"}", "tokens")
		lim := graph.DefaultLimits
		refusedFast(t, admin, "{"+aliases(lim.MaxRootFields+1, "viewer { name }")+"}", fmt.Sprintf("more than %d", lim.MaxRootFields))
		// Under the root field limit, their prices.
		refusedFast(t, admin, "{"+aliases(20, search)+"}", "complexity")
		refusedFast(t, admin, "{"+aliases(10, chart)+"}", "complexity")
		// Pages multiply: 1,000 tasks with 1,000 tasks of their case each.
		refusedFast(t, admin, `{ tasks(first: 1000) { edges { node { case { tasks(first: 1000) { edges { node { id } } } } } } } }`, "complexity")
		// A dashboard's worth still passes.
		admin.MustDo(t, `{ s: search(text: "a") { totalCount } `+aliases(4, chart)+`
			tasks(first: 50) { totalCount edges { node { id name responsibles { ... on Role { name } } notes { totalCount } } } }
			cases(first: 20) { edges { node { id tasks(first: 10) { edges { node { id } } } } } } }`, nil, nil)
	})
}

// TestHostilePageCap (item 11): tasks with no first, or first: 100000, returned every
// row. Every connection now defaults to DefaultPage and refuses more than MaxPage, at
// the top and nested, before anything runs.
func TestHostilePageCap(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		ctx := policy.SystemContext(context.Background())
		db := srv.DB.Client
		lim := graph.DefaultLimits
		cs := db.BusinessCase.Create().SetName("pagecap").SetState(businesscase.StateRUNNING).SaveX(ctx)
		for i := range lim.DefaultPage + 10 {
			db.Task.Create().SetName(fmt.Sprintf("pagecap %d", i)).SetCaseID(cs.ID).ExecX(ctx)
		}
		admin := srv.Login(t, "admin", "admin")
		type conn struct {
			TotalCount int
			Edges      []struct{ Cursor string }
			PageInfo   struct{ HasNextPage, HasPreviousPage bool }
		}
		var out struct {
			Tasks, All conn
			Cases      struct {
				Edges []struct{ Node struct{ Tasks conn } }
			}
			Search conn
		}
		admin.MustDo(t, fmt.Sprintf(`{
			tasks { totalCount edges { cursor } pageInfo { hasNextPage } }
			all: tasks(first: %d) { totalCount edges { cursor } }
			cases(where: {name: "pagecap"}) { edges { node { tasks { totalCount edges { cursor } } } } }
			search(text: "pagecap") { totalCount edges { cursor } } }`, lim.MaxPage), nil, &out)
		if n := len(out.Tasks.Edges); n != lim.DefaultPage || !out.Tasks.PageInfo.HasNextPage || out.Tasks.TotalCount <= n {
			t.Errorf("tasks without first: %d edges of %d (hasNextPage %v), want the default page of %d",
				n, out.Tasks.TotalCount, out.Tasks.PageInfo.HasNextPage, lim.DefaultPage)
		}
		if len(out.All.Edges) != out.All.TotalCount {
			t.Errorf("first: %d gave %d of %d", lim.MaxPage, len(out.All.Edges), out.All.TotalCount)
		}
		if len(out.Cases.Edges) != 1 || len(out.Cases.Edges[0].Node.Tasks.Edges) != lim.DefaultPage {
			t.Errorf("a case's tasks without first: %+v, want %d edges", out.Cases, lim.DefaultPage)
		}
		if n := len(out.Search.Edges); n != 20 { // search's own default, in its schema
			t.Errorf("search without first: %d results, want 20", n)
		}
		// Only before: the last default page before it.
		last := out.All.Edges[len(out.All.Edges)-1].Cursor
		var back struct{ Tasks conn }
		admin.MustDo(t, `query($c: Cursor) { tasks(before: $c) { edges { cursor } pageInfo { hasPreviousPage } } }`, map[string]any{"c": last}, &back)
		if n := len(back.Tasks.Edges); n != lim.DefaultPage || !back.Tasks.PageInfo.HasPreviousPage || back.Tasks.Edges[n-1].Cursor != out.All.Edges[len(out.All.Edges)-2].Cursor {
			t.Errorf("tasks(before:) gave %d edges (hasPreviousPage %v), want the %d right before the cursor", n, back.Tasks.PageInfo.HasPreviousPage, lim.DefaultPage)
		}
		between := fmt.Sprintf("between 0 and %d", lim.MaxPage)
		for _, q := range []string{
			`{ tasks(first: 100000) { totalCount } }`,
			`{ cases(last: 5000) { totalCount } }`,
			`{ users(first: 1001) { totalCount } }`,
			`{ cases(first: 1) { edges { node { tasks(first: 100000) { totalCount } } } } }`,
			`{ tasks(first: 1) { edges { node { notes(last: 100000) { totalCount } } } } }`,
			`{ news(first: 100000) { id } }`,
		} {
			wantErr(t, admin.Do(t, q, nil), "BAD_USER_INPUT", between)
		}
		wantErr(t, admin.Do(t, `query($n: Int) { tasks(first: $n) { totalCount } }`, map[string]any{"n": 100000}), "BAD_USER_INPUT", between)
	})
}

// TestHostilePaginationArgs (item 13): bad pagination and empty nested filters were
// INTERNAL; they are BAD_USER_INPUT saying what to change.
func TestHostilePaginationArgs(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		for _, tc := range []struct{ query, says string }{
			{`{ tasks(first: -1) { totalCount } }`, "first must be between 0 and"},
			{`{ tasks(last: -1) { totalCount } }`, "last must be between 0 and"},
			{`{ tasks(first: 1, last: 1) { totalCount } }`, "first or last, not both"},
			{`{ search(text: "a", first: -1) { totalCount } }`, "first must be between 0 and"},
			{`{ tasks(where: {not: {}}) { totalCount } }`, "empty TaskWhereInput ({}) at not"},
			{`{ tasks(where: {and: [{}]}) { totalCount } }`, "empty TaskWhereInput ({}) at and"},
			{`{ tasks(where: {or: [{nameContains: "a"}, {not: {}}]}) { totalCount } }`, "empty TaskWhereInput ({}) at or.not"},
			{`{ tasks(where: {hasCaseWith: [{}]}) { totalCount } }`, "empty CaseWhereInput ({}) at hasCaseWith"},
			{`{ cases(where: {not: {}}) { totalCount } }`, "empty CaseWhereInput"},
			{`{ cases(where: {and: [{}, {}]}) { totalCount } }`, "empty CaseWhereInput"},
			{`{ users(where: {not: {}}) { totalCount } }`, "empty UserWhereInput"},
			{`{ roles(where: {and: [{}]}) { totalCount } }`, "empty RoleWhereInput"},
			{`{ processes(where: {not: {}}) { totalCount } }`, "empty ProcessWhereInput"},
			{`{ tasks(first: 1) { edges { node { notes(first: 1, last: 1) { totalCount } } } } }`, "not both"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				wantErr(t, admin.Do(t, tc.query, nil), "BAD_USER_INPUT", tc.says)
			})
		}
		// The same filter on a subscription is refused when subscribing.
		ws := subscribe(t, srv, admin.Token, `subscription { taskUpdated(where: {not: {}}) { kind } }`)
		var m struct {
			Type    string
			Payload servertest.Response
		}
		ws.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.conn.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if m.Type != "next" || m.Payload.Code() != "BAD_USER_INPUT" || !strings.Contains(m.Payload.Errors[0].Message, "empty TaskWhereInput") {
			t.Errorf("taskUpdated(where: {not: {}}): %+v", m)
		}
	})
}

// introspectionQuery is GraphiQL's (the playground's), with every fragment it uses.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`
