package search_test

import (
	"context"
	"slices"
	"testing"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/servertest"
)

// TestSearchEqualsFilteredQuery: for viewers who see tasks and cases through each
// source of visibility (roles, a user responsible, substituted users and roles, own
// work, own cases, cases through visible tasks), and who must not see hidden ones
// (DELAYED, expiry responsibles, system tasks), search finds exactly what the filtered
// query finds: the text match with the visibility predicate of the interceptors
// (policy.TaskVisible, CaseVisible), the plan search used before it searched each
// source of visibility on its own (policy.SearchTasks, SearchCases). Again after each
// change the copies on task_responsibles (PostgreSQL) must follow: a renamed task, a
// responsible moved to another role, a task moved to another case, a task no longer
// DELAYED, a renamed case, a responsible removed.
func TestSearchEqualsFilteredQuery(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		sys := policy.SystemContext(context.Background())
		c := srv.DB.Client
		roleID := func(name string) int { return c.Role.Query().Where(role.Name(name)).OnlyIDX(sys) }
		userID := func(name string) int { return c.User.Query().Where(user.Name(name)).OnlyIDX(sys) }
		firstLevel, secondLevel, teamB := roleID("First Level"), roleID("Second Level"), roleID("Team B")
		alice, bob, carol, demo := userID("alice"), userID("bob"), userID("carol"), userID("demo")

		newCase := func(name string, mod func(*ent.BusinessCaseCreate)) *ent.BusinessCase {
			cc := c.BusinessCase.Create().SetName(name).SetState(businesscase.StateRUNNING)
			if mod != nil {
				mod(cc)
			}
			return cc.SaveX(sys)
		}
		caseA := newCase("Gnu case A", func(cc *ent.BusinessCaseCreate) { cc.SetCreatorID(carol) })
		caseB := newCase("Gnu case B", func(cc *ent.BusinessCaseCreate) { cc.SetOwnerID(bob) })
		caseC := newCase("Gnu case C", nil)
		caseD := newCase("Hidden gnu case", nil)
		newTask := func(name, description string, cs *ent.BusinessCase, mod func(*ent.TaskCreate)) *ent.Task {
			tc := c.Task.Create().SetName(name).SetDescription(description).SetCaseID(cs.ID)
			if mod != nil {
				mod(tc)
			}
			return tc.SaveX(sys)
		}
		responsible := func(tk *ent.Task, mod func(*ent.TaskResponsibleCreate)) *ent.TaskResponsible {
			r := c.TaskResponsible.Create().SetTaskID(tk.ID)
			mod(r)
			return r.SaveX(sys)
		}
		byRole := func(id int) func(*ent.TaskResponsibleCreate) {
			return func(r *ent.TaskResponsibleCreate) { r.SetRoleID(id) }
		}
		byUser := func(id int) func(*ent.TaskResponsibleCreate) {
			return func(r *ent.TaskResponsibleCreate) { r.SetUserID(id) }
		}
		alpha := newTask("Gnu alpha", "", caseA, nil)
		alphaBy := responsible(alpha, byRole(firstLevel))
		beta := newTask("Gnu beta", "", caseA, nil)
		responsible(beta, byUser(bob))
		gamma := newTask("Gnu gamma", "", caseA, func(tc *ent.TaskCreate) { tc.SetState(task.StateDELAYED) })
		responsible(gamma, byRole(teamB))
		delta := newTask("Gnu delta", "", caseC, nil)
		responsible(delta, func(r *ent.TaskResponsibleCreate) { r.SetUserID(bob).SetExpiry(true) })
		epsilon := newTask("Gnu epsilon", "", caseC, func(tc *ent.TaskCreate) { tc.SetSystem(true) })
		responsible(epsilon, byRole(firstLevel))
		newTask("Gnu zeta", "", caseD, func(tc *ent.TaskCreate) { tc.SetWorkerID(demo) })
		eta := newTask("Other", "a gnu in the description", caseC, nil)
		etaBy := responsible(eta, byRole(secondLevel))
		responsible(newTask("Plain", "", caseC, nil), byRole(firstLevel))
		responsible(newTask("Plain two", "", caseB, nil), byUser(alice))
		newTask("Hidden gnu", "", caseD, nil)

		s := search.New(c, srv.DB.Dialect, srv.Policy)
		viewers := map[string]*auth.Viewer{
			"alice": {UserID: alice},
			"bob":   {UserID: bob},
			"carol": {UserID: carol},
			"demo":  {UserID: demo},
			// demo standing in for bob and for carol's role Second Level.
			"demo substituting": {UserID: demo, SubstituteFor: []int{bob}, SubstituteRoles: []int{secondLevel}},
			"admin":             {UserID: userID("admin")},
		}
		texts := []string{"gnu", "gn", "gnu alpha", "gnu case", "case", "plain", "description gnu", "wildebeest", "zebra"}
		check := func(t *testing.T, when string) {
			t.Helper()
			for name, v := range viewers {
				ctx := auth.NewContext(context.Background(), v)
				for _, text := range texts {
					res, err := s.Search(ctx, text, ptr(search.MaxFirst), nil, true)
					if err != nil {
						t.Fatalf("%s: %s searching %q: %v", when, name, text, err)
					}
					got := map[search.Kind][]int{}
					for _, h := range res.Hits {
						got[h.Kind] = append(got[h.Kind], h.ID)
					}
					want := filtered(t, c, s, ctx, text)
					total := 0
					for _, k := range []search.Kind{search.KindTask, search.KindCase, search.KindProcess} {
						slices.Sort(got[k])
						total += len(want[k])
						if !slices.Equal(got[k], want[k]) {
							t.Errorf("%s: %s searching %q finds %s %v, the filtered query %v", when, name, text, k, got[k], want[k])
						}
					}
					if res.Total != total || res.HasNextPage {
						t.Errorf("%s: %s searching %q: total %d, hasNextPage %v; the filtered query finds %d", when, name, text, res.Total, res.HasNextPage, total)
					}
				}
			}
		}
		// Every viewer but the administrator searches through policy's sources.
		anything := func(*sql.Selector) *sql.Predicate { return sql.ExprP("1 = 1") }
		anyRow := func(*sql.Selector, bool, []int) *sql.Predicate { return sql.ExprP("1 = 1") }
		m := policy.TextMatch{Task: anything, Case: anything, Responsible: anyRow, ResponsibleCase: anyRow}
		for name, v := range viewers {
			ctx := auth.NewContext(context.Background(), v)
			_, tasks, err := srv.Policy.SearchTasks(ctx, m, 1)
			if err != nil {
				t.Fatal(err)
			}
			_, cases, err := srv.Policy.SearchCases(ctx, m, 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := name != "admin"; tasks != want || cases != want {
				t.Fatalf("%s searches tasks by source: %v, cases: %v; want %v", name, tasks, cases, want)
			}
		}
		check(t, "at first")
		// The comparison means something: alice sees cases only through their tasks, by
		// role (A, C) and as a user responsible (B), and not the hidden case D.
		if want := filtered(t, c, s, auth.NewContext(context.Background(), viewers["alice"]), "gnu case"); !slices.Equal(want[search.KindCase], []int{caseA.ID, caseB.ID, caseC.ID}) {
			t.Fatalf("alice should see cases A, B and C (%d, %d, %d), not %v", caseA.ID, caseB.ID, caseC.ID, want[search.KindCase])
		}

		c.Task.UpdateOne(beta).SetName("Wildebeest beta").ExecX(sys)
		check(t, "after renaming beta")
		c.TaskResponsible.UpdateOne(alphaBy).SetRoleID(teamB).ExecX(sys)
		check(t, "after moving alpha from First Level to Team B")
		c.Task.UpdateOne(alpha).SetCaseID(caseD.ID).ExecX(sys)
		check(t, "after moving alpha to the hidden case")
		c.Task.UpdateOne(gamma).SetState(task.StateSUSPENDED).ExecX(sys)
		check(t, "after gamma is no longer DELAYED")
		c.BusinessCase.UpdateOne(caseC).SetName("Wildebeest case C").ExecX(sys)
		check(t, "after renaming case C")
		c.TaskResponsible.DeleteOne(etaBy).ExecX(sys)
		c.Task.UpdateOne(eta).SetDescription("no longer an animal").ExecX(sys)
		check(t, "after removing eta's responsible and describing it anew")
		if n := c.TaskResponsible.Query().Where(taskresponsible.TaskID(alpha.ID), taskresponsible.RoleID(teamB)).CountX(sys); n != 1 {
			t.Fatalf("alpha has %d Team B responsibles", n)
		}
	})
}

// filtered returns the ids, sorted, of each kind's rows that match text and that the
// viewer of ctx sees, from the query of the text match alone, to which the interceptors
// add their visibility predicates.
func filtered(t *testing.T, c *ent.Client, s *search.Service, ctx context.Context, text string) map[search.Kind][]int {
	t.Helper()
	ids := map[search.Kind][]int{}
	for _, k := range []search.Kind{search.KindTask, search.KindCase, search.KindProcess} {
		match, err := s.Match(k, text)
		if err != nil {
			t.Fatal(err)
		}
		switch k {
		case search.KindTask:
			ids[k], err = c.Task.Query().Where(predicate.Task(match)).IDs(ctx)
		case search.KindCase:
			ids[k], err = c.BusinessCase.Query().Where(predicate.BusinessCase(match)).IDs(ctx)
		case search.KindProcess:
			ids[k], err = c.Process.Query().Where(predicate.Process(match)).IDs(ctx)
		}
		if err != nil {
			t.Fatalf("%s matching %q: %v", k, text, err)
		}
		slices.Sort(ids[k])
	}
	return ids
}

func ptr[T any](v T) *T { return &v }
