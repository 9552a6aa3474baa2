package search_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

const searchQuery = `query($text: String!, $first: Int, $after: Cursor) {
  search(text: $text, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor rank node {
      __typename
      ... on Task { id name }
      ... on Case { id name }
      ... on Process { id name }
    } }
  }
}`

// result is one search edge as the tests look at it.
type result struct {
	Cursor string
	Rank   float64
	Node   struct {
		Typename string `json:"__typename"`
		ID, Name string
	}
}

func (r result) key() string { return r.Node.Typename + ":" + r.Node.Name }

type page struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []result
}

// find runs one search request and fails the test on errors.
func find(t *testing.T, c *servertest.Client, text string, first int, after *string) page {
	t.Helper()
	vars := map[string]any{"text": text, "first": first}
	if after != nil {
		vars["after"] = *after
	}
	var out struct{ Search page }
	c.MustDo(t, searchQuery, vars, &out)
	return out.Search
}

// all follows the pages of a search of n results each and returns every result.
func all(t *testing.T, c *servertest.Client, text string, n int) []result {
	t.Helper()
	var got []result
	var after *string
	for range 100 {
		p := find(t, c, text, n, after)
		got = append(got, p.Edges...)
		if !p.PageInfo.HasNextPage {
			return got
		}
		after = p.PageInfo.EndCursor
	}
	t.Fatalf("search %q did not end after 100 pages", text)
	return nil
}

func keys(rs []result) []string {
	var ks []string
	for _, r := range rs {
		ks = append(ks, r.key())
	}
	sort.Strings(ks)
	return ks
}

// fixtures are the searchable rows the tests create (on top of the demo data), each
// seen by known demo users.
type fixtures struct {
	tasks map[string]*ent.Task
	cases map[string]*ent.BusinessCase
	procs map[string]*ent.Process
}

// setup creates, as the server itself, tasks, a case and processes with the word
// "zebra" (and "okapi" for the ties of the pagination test):
//   - "Zebra invoice" and "Check stripes" (described "a zebra in the description"), for
//     First Level (alice);
//   - "Zebra crossing" for bob;
//   - "Zebra secret" for Second Level (carol);
//   - the case "Zebra case" carol created; the processes "Zebra process" (started by
//     Team B: bob) and "Zebra hidden process" (started by carol).
func setup(t *testing.T, srv *servertest.Server) fixtures {
	t.Helper()
	ctx := policy.SystemContext(context.Background())
	c := srv.DB.Client
	roleID := func(name string) int { return c.Role.Query().Where(role.Name(name)).OnlyIDX(ctx) }
	userID := func(name string) int { return c.User.Query().Where(user.Name(name)).OnlyIDX(ctx) }
	f := fixtures{tasks: map[string]*ent.Task{}, cases: map[string]*ent.BusinessCase{}, procs: map[string]*ent.Process{}}
	holder := c.BusinessCase.Create().SetName("Search fixtures").SetState(businesscase.StateRUNNING).SaveX(ctx)
	for _, tk := range []struct {
		name, description string
		role, user        string
	}{
		{"Zebra invoice", "", "First Level", ""},
		{"Check stripes", "a zebra in the description", "First Level", ""},
		{"Zebra crossing", "", "", "bob"},
		{"Zebra secret", "", "Second Level", ""},
	} {
		created := c.Task.Create().SetName(tk.name).SetDescription(tk.description).SetCaseID(holder.ID).SaveX(ctx)
		r := c.TaskResponsible.Create().SetTaskID(created.ID)
		if tk.role != "" {
			r.SetRoleID(roleID(tk.role))
		} else {
			r.SetUserID(userID(tk.user))
		}
		r.ExecX(ctx)
		f.tasks[tk.name] = created
	}
	f.cases["Zebra case"] = c.BusinessCase.Create().SetName("Zebra case").SetState(businesscase.StateRUNNING).
		SetCreatorID(userID("carol")).SaveX(ctx)
	f.procs["Zebra process"] = c.Process.Create().SetName("Zebra process").SetKind(process.KindEXTERNAL_LINK).SaveX(ctx)
	c.ProcessStarter.Create().SetProcessID(f.procs["Zebra process"].ID).SetRoleID(roleID("Team B")).ExecX(ctx)
	f.procs["Zebra hidden process"] = c.Process.Create().SetName("Zebra hidden process").SetKind(process.KindEXTERNAL_LINK).SaveX(ctx)
	c.ProcessStarter.Create().SetProcessID(f.procs["Zebra hidden process"].ID).SetUserID(userID("carol")).ExecX(ctx)
	return f
}

// visible returns what the viewer of c sees of the rows whose name or description holds
// word, through the lists (tasks, cases, processes), as search keys: the visibility the
// rest of the API applies.
func visible(t *testing.T, c *servertest.Client, word string) []string {
	t.Helper()
	var out struct {
		Tasks, Cases, Processes struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	c.MustDo(t, `query($w: String!) {
	  tasks(first: 1000, where: {or: [{nameContainsFold: $w}, {descriptionContainsFold: $w}]}) { edges { node { name } } }
	  cases(first: 1000, where: {or: [{nameContainsFold: $w}, {descriptionContainsFold: $w}]}) { edges { node { name } } }
	  processes(first: 1000, where: {or: [{nameContainsFold: $w}, {descriptionContainsFold: $w}]}) { edges { node { name } } }
	}`, map[string]any{"w": word}, &out)
	var ks []string
	for _, e := range out.Tasks.Edges {
		ks = append(ks, "Task:"+e.Node.Name)
	}
	for _, e := range out.Cases.Edges {
		ks = append(ks, "Case:"+e.Node.Name)
	}
	for _, e := range out.Processes.Edges {
		ks = append(ks, "Process:"+e.Node.Name)
	}
	sort.Strings(ks)
	return ks
}

// users are the demo users and the admin, password = name.
var users = []string{"admin", "demo", "alice", "bob", "carol"}

func TestSearch(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		f := setup(t, srv)
		clients := map[string]*servertest.Client{}
		for _, u := range users {
			clients[u] = srv.Login(t, u, u)
		}
		admin, alice := clients["admin"], clients["alice"]

		t.Run("visibility", func(t *testing.T) {
			want := map[string][]string{
				"admin": {"Process:Zebra hidden process", "Process:Zebra process", "Task:Check stripes", "Task:Zebra crossing",
					"Task:Zebra invoice", "Task:Zebra secret", "Case:Zebra case"},
				"demo":  {},
				"alice": {"Task:Check stripes", "Task:Zebra invoice"},
				"bob":   {"Process:Zebra process", "Task:Zebra crossing"},
				"carol": {"Process:Zebra hidden process", "Task:Zebra secret", "Case:Zebra case"},
			}
			for _, u := range users {
				got := keys(all(t, clients[u], "zebra", 100))
				w := slices.Clone(want[u])
				sort.Strings(w)
				if !slices.Equal(got, w) {
					t.Errorf("%s finds %v, want %v", u, got, w)
				}
				// The same as the lists show the user.
				if v := visible(t, clients[u], "zebra"); !slices.Equal(got, v) {
					t.Errorf("%s finds %v but its lists show %v", u, got, v)
				}
			}
		})

		t.Run("nodes are visible", func(t *testing.T) {
			for _, u := range users {
				for _, r := range all(t, clients[u], "zebra", 100) {
					var out struct{ Node *struct{ ID string } }
					clients[u].MustDo(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": r.Node.ID}, &out)
					if out.Node == nil {
						t.Errorf("%s finds %s but node(id) is null", u, r.key())
					}
				}
			}
		})

		t.Run("name match ranks above description match", func(t *testing.T) {
			got := find(t, alice, "zebra", 10, nil).Edges
			if len(got) != 2 || got[0].Node.Name != "Zebra invoice" || got[1].Node.Name != "Check stripes" || got[0].Rank <= got[1].Rank {
				t.Fatalf("alice's results for zebra: %+v", got)
			}
		})

		t.Run("all words, last one as prefix", func(t *testing.T) {
			for _, tc := range []struct {
				text string
				want []string
			}{
				{"zebra invoice", []string{"Task:Zebra invoice"}},
				{"INVOICE, Zebra!", []string{"Task:Zebra invoice"}},
				{"zebra inv", []string{"Task:Zebra invoice"}},
				{"zebra inv ", nil},
				{"zeb", []string{"Task:Check stripes", "Task:Zebra invoice"}},
				{"stripes zebra", []string{"Task:Check stripes"}},
				{"zebra okapi", nil},
			} {
				if got := keys(all(t, alice, tc.text, 10)); !slices.Equal(got, tc.want) {
					t.Errorf("alice searching %q finds %v, want %v", tc.text, got, tc.want)
				}
			}
		})

		t.Run("pagination", func(t *testing.T) {
			// Ties: twelve tasks of the same name rank equal and come in id order.
			ctx := policy.SystemContext(context.Background())
			for i := range 12 {
				srv.DB.Client.Task.Create().SetName("Okapi").SetDescription(fmt.Sprintf("okapi number %d", i%3)).
					SetCaseID(f.tasks["Zebra invoice"].CaseID).ExecX(ctx)
			}
			srv.DB.Client.BusinessCase.Create().SetName("Okapi").SetDescription("okapi number 0").ExecX(ctx)
			whole := find(t, admin, "okapi", 100, nil)
			if whole.TotalCount != 13 || len(whole.Edges) != 13 || whole.PageInfo.HasNextPage {
				t.Fatalf("one page of all okapis: total %d, %d edges, hasNextPage %v", whole.TotalCount, len(whole.Edges), whole.PageInfo.HasNextPage)
			}
			for i := 1; i < len(whole.Edges); i++ {
				if whole.Edges[i].Rank > whole.Edges[i-1].Rank {
					t.Fatalf("results not best first: %+v", whole.Edges)
				}
			}
			for _, n := range []int{1, 2, 5} {
				var got []result
				var after *string
				for {
					p := find(t, admin, "okapi", n, after)
					if p.TotalCount != 13 || len(p.Edges) > n {
						t.Fatalf("page of %d: total %d, %d edges", n, p.TotalCount, len(p.Edges))
					}
					got = append(got, p.Edges...)
					if !p.PageInfo.HasNextPage {
						break
					}
					after = p.PageInfo.EndCursor
				}
				if len(got) != len(whole.Edges) {
					t.Fatalf("pages of %d give %d results, one page %d", n, len(got), len(whole.Edges))
				}
				for i := range got {
					if got[i].Node.ID != whole.Edges[i].Node.ID {
						t.Fatalf("pages of %d differ from one page at %d: %v vs %v", n, i, got[i], whole.Edges[i])
					}
				}
			}
			zero := find(t, admin, "okapi", 0, nil)
			if len(zero.Edges) != 0 || !zero.PageInfo.HasNextPage || zero.TotalCount != 13 {
				t.Fatalf("first: 0 gives %+v", zero)
			}
		})

		t.Run("renamed task", func(t *testing.T) {
			id := fmt.Sprint(f.tasks["Zebra crossing"].ID)
			admin.MustDo(t, `mutation($id: ID!) { updateTask(input: {id: $id, name: "Quagga crossing", description: "striped"}) { task { id } } }`,
				map[string]any{"id": id}, nil)
			bob := clients["bob"]
			if got := keys(all(t, bob, "quagga", 10)); !slices.Equal(got, []string{"Task:Quagga crossing"}) {
				t.Errorf("bob finds %v for the new name", got)
			}
			if got := keys(all(t, bob, "striped", 10)); !slices.Equal(got, []string{"Task:Quagga crossing"}) {
				t.Errorf("bob finds %v for the new description", got)
			}
			if got := keys(all(t, bob, "zebra", 10)); !slices.Equal(got, []string{"Process:Zebra process"}) {
				t.Errorf("bob still finds %v for the old name", got)
			}
		})

		t.Run("destroyed task stays as visible as in the lists", func(t *testing.T) {
			id := fmt.Sprint(f.tasks["Zebra invoice"].ID)
			admin.MustDo(t, `mutation($id: ID!) { destroyTask(input: {id: $id}) { task { state } } }`, map[string]any{"id": id}, nil)
			for _, u := range users {
				got := keys(all(t, clients[u], "zebra", 100))
				if v := visible(t, clients[u], "zebra"); !slices.Equal(got, v) {
					t.Errorf("after the destroy %s finds %v but its lists show %v", u, got, v)
				}
			}
			if got := keys(all(t, alice, "invoice", 10)); !slices.Equal(got, []string{"Task:Zebra invoice"}) {
				t.Errorf("alice, responsible for the destroyed task, finds %v", got)
			}
		})

		t.Run("deleted rows are gone", func(t *testing.T) {
			ctx := policy.SystemContext(context.Background())
			c := srv.DB.Client
			c.Process.DeleteOneID(f.procs["Zebra hidden process"].ID).ExecX(ctx)
			tk := c.Task.Create().SetName("Ephemeral zebra").SetCaseID(f.cases["Zebra case"].ID).SaveX(ctx)
			if got := keys(all(t, admin, "ephemeral", 10)); !slices.Equal(got, []string{"Task:Ephemeral zebra"}) {
				t.Fatalf("admin finds %v for a new task", got)
			}
			c.Task.DeleteOneID(tk.ID).ExecX(ctx)
			for _, text := range []string{"ephemeral", "hidden"} {
				if got := all(t, admin, text, 10); len(got) != 0 {
					t.Errorf("admin finds deleted %v", keys(got))
				}
			}
		})
	})
}

func TestSearchBadInput(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		c := srv.Login(t, "demo", "demo")
		var first struct{ Search page }
		c.MustDo(t, searchQuery, map[string]any{"text": "leave", "first": 1}, &first)
		taskList := func() string {
			var out struct {
				Tasks struct{ PageInfo struct{ EndCursor string } }
			}
			c.MustDo(t, `{ tasks(first: 1) { pageInfo { endCursor } edges { cursor } } }`, nil, &out)
			return out.Tasks.PageInfo.EndCursor
		}()
		for _, tc := range []struct {
			vars    map[string]any
			message string
		}{
			{map[string]any{"text": ""}, "empty"},
			{map[string]any{"text": "   "}, "empty"},
			{map[string]any{"text": strings.Repeat("a", 200)}, "200 characters long"},
			{map[string]any{"text": strings.Repeat("ü ", 150)}, "300 characters long"},
			{map[string]any{"text": "?!-/"}, "no letters or digits"},
			{map[string]any{"text": "leave", "first": 101}, "between 0 and 100"},
			{map[string]any{"text": "leave", "first": -1}, "between 0 and 100"},
			{map[string]any{"text": "leave", "after": taskList}, "not a cursor of search results"},
			{map[string]any{"text": "leave", "after": "garbage"}, ""},
		} {
			r := c.Do(t, searchQuery, tc.vars)
			if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, tc.message) {
				t.Errorf("%v: %s %+v", tc.vars, r.Code(), r.Errors)
			}
		}
		// The longest text accepted.
		if r := c.Do(t, searchQuery, map[string]any{"text": strings.Repeat("a", 199)}); len(r.Errors) > 0 {
			t.Errorf("199 characters: %+v", r.Errors)
		}
		if r := srv.Client().Do(t, searchQuery, map[string]any{"text": "leave"}); r.Code() != "UNAUTHENTICATED" {
			t.Errorf("anonymous search: %s %+v", r.Code(), r.Errors)
		}
		if len(first.Search.Edges) != 1 || !first.Search.PageInfo.HasNextPage {
			t.Errorf("demo's first result for leave: %+v", first.Search)
		}
	})
}
