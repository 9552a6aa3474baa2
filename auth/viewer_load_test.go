package auth_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/servertest"
)

// counting counts the statements a driver runs.
type counting struct {
	dialect.Driver
	n atomic.Int32
}

func (c *counting) Query(ctx context.Context, query string, args, v any) error {
	c.n.Add(1)
	return c.Driver.Query(ctx, query, args, v)
}

// TestViewerInOneStatement: every request's viewer (its user and whom it stands in for
// right now) is read in one statement, one round trip, with each kind of substitution:
// permanent, for a role, during an absence now, and none for an absence past or to come.
func TestViewerInOneStatement(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, d string) {
		srv := servertest.Start(t, d, portico.Config{Demo: true})
		ctx := auth.SystemContext(context.Background())
		c := srv.DB.Client
		sub := c.User.Create().SetName("stand-in").SaveX(ctx)
		permanent := c.User.Create().SetName("permanent-absent").SaveX(ctx)
		away := c.User.Create().SetName("away-now").SaveX(ctx)
		back := c.User.Create().SetName("away-before").SaveX(ctx)
		boss := c.User.Create().SetName("role-boss").SaveX(ctx)
		role := c.Role.Create().SetName("stand-in-role").SaveX(ctx)
		now := time.Now().UTC()
		c.Substitute.Create().SetUserID(permanent.ID).SetSubstituteID(sub.ID).SetPermanent(true).ExecX(ctx)
		c.Substitute.Create().SetUserID(away.ID).SetSubstituteID(sub.ID).ExecX(ctx)
		c.Absence.Create().SetUserID(away.ID).SetFrom(now.Add(-time.Hour)).SetUntil(now.Add(time.Hour)).ExecX(ctx)
		c.Substitute.Create().SetUserID(back.ID).SetSubstituteID(sub.ID).ExecX(ctx)
		c.Absence.Create().SetUserID(back.ID).SetFrom(now.Add(-48 * time.Hour)).SetUntil(now.Add(-24 * time.Hour)).ExecX(ctx)
		c.Substitute.Create().SetUserID(boss.ID).SetSubstituteID(sub.ID).SetRoleID(role.ID).SetPermanent(true).ExecX(ctx)

		drv := &counting{Driver: srv.DB.Driver}
		tokens, err := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		svc := auth.NewService(c, drv, tokens)
		for _, u := range []struct {
			id        int
			users     []int
			roles     []int
			statement string
		}{{sub.ID, []int{permanent.ID, away.ID}, []int{role.ID}, "substitute"}, {boss.ID, nil, nil, "nobody's substitute"}} {
			token, _, err := tokens.Issue(u.id, 0)
			if err != nil {
				t.Fatal(err)
			}
			drv.n.Store(0)
			v, _, err := svc.Authenticate(context.Background(), "Bearer "+token)
			if err != nil {
				t.Fatalf("%s: %v", u.statement, err)
			}
			if n := drv.n.Load(); n != 1 {
				t.Errorf("%s: the viewer took %d statements, want 1", u.statement, n)
			}
			slices.Sort(v.SubstituteFor)
			slices.Sort(u.users)
			if !slices.Equal(v.SubstituteFor, u.users) || !slices.Equal(v.SubstituteRoles, u.roles) {
				t.Errorf("%s: stands in for users %v and roles %v, want %v and %v", u.statement, v.SubstituteFor, v.SubstituteRoles, u.users, u.roles)
			}
		}
		// A disabled user is refused, whatever its substitutions.
		c.User.UpdateOneID(sub.ID).SetDisabled(true).ExecX(ctx)
		token, _, _ := tokens.Issue(sub.ID, 0)
		if _, _, err := svc.Authenticate(context.Background(), "Bearer "+token); err == nil {
			t.Error("a disabled user's token was accepted")
		}
	})
}
