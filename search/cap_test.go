package search_test

import (
	"context"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/servertest"
)

// TestCandidateCap: the cap counts visible matches only. With a cap of 2, alice finds
// her two capybara tasks although four tasks bob sees match first, and the server
// finds the first two matches, not the first two tasks.
func TestCandidateCap(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		sys := policy.SystemContext(context.Background())
		c := srv.DB.Client
		cs := c.BusinessCase.Create().SetName("Cap").SetState(businesscase.StateRUNNING).SaveX(sys)
		firstLevel := c.Role.Query().Where(role.Name("First Level")).OnlyIDX(sys)
		bob := c.User.Query().Where(user.Name("bob")).OnlyIDX(sys)
		alice := c.User.Query().Where(user.Name("alice")).OnlyIDX(sys)
		add := func(name string, mod func(*ent.TaskResponsibleCreate)) int {
			tk := c.Task.Create().SetName(name).SetCaseID(cs.ID).SaveX(sys)
			r := c.TaskResponsible.Create().SetTaskID(tk.ID)
			mod(r)
			r.ExecX(sys)
			return tk.ID
		}
		for range 3 {
			add("Unrelated", func(r *ent.TaskResponsibleCreate) { r.SetUserID(bob) })
		}
		for range 4 {
			add("Capybara for bob", func(r *ent.TaskResponsibleCreate) { r.SetUserID(bob) })
		}
		mine := map[int]bool{}
		for range 2 {
			mine[add("Capybara for alice", func(r *ent.TaskResponsibleCreate) { r.SetRoleID(firstLevel) })] = true
		}
		s := search.New(c, srv.DB.Dialect, srv.Policy)
		s.SetCandidates(2)

		asAlice := auth.NewContext(context.Background(), &auth.Viewer{UserID: alice})
		res, err := s.Search(asAlice, "capybara", nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 2 || res.Total != 2 || res.HasNextPage || !mine[res.Hits[0].ID] || !mine[res.Hits[1].ID] {
			t.Fatalf("alice's capybaras with a cap of 2: %+v", res)
		}

		res, err = s.Search(sys, "capybara", nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 2 || res.Total != 2 {
			t.Fatalf("all capybaras with a cap of 2: %+v", res)
		}
		for _, h := range res.Hits {
			if h.Node.(*ent.Task).Name != "Capybara for bob" {
				t.Fatalf("a candidate that does not match, or not among the first: %+v", h.Node)
			}
		}
	})
}
