package policy_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/grant"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestSync changes the database behind the policy's back (as a bulk import does) and
// checks Sync applies exactly the difference: additions and removals both take effect.
func TestSync(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c, p := srv.DB.Client, srv.Policy
		alice := c.User.Query().Where(user.Name("alice")).OnlyX(ctx)
		first := c.Role.Query().Where(role.Name("First Level")).OnlyX(ctx)
		has := func(perm policy.Permission) bool {
			s, err := p.Subject(alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			return s.Has(perm)
		}
		newRole := c.Role.Create().SetName("Auditors").SetParentID(first.ID).SaveX(ctx)
		c.User.UpdateOne(alice).AddRoles(newRole).ExecX(ctx)
		c.Grant.Create().SetPermission(string(policy.CaseReadAll)).SetRoleID(newRole.ID).SetEffect(grant.EffectALLOW).ExecX(ctx)
		c.Grant.Create().SetPermission(string(policy.RoleReadAll)).SetUserID(alice.ID).SetEffect(grant.EffectDENY).ExecX(ctx)
		if has(policy.CaseReadAll) || !has(policy.RoleReadAll) {
			t.Fatal("the policy saw database changes before Sync")
		}
		if err := p.Sync(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !has(policy.CaseReadAll) || has(policy.RoleReadAll) {
			t.Fatal("Sync did not apply the new role, link and grants")
		}
		c.Role.DeleteOne(newRole).ExecX(ctx)
		if err := p.Sync(ctx, c); err != nil {
			t.Fatal(err)
		}
		if has(policy.CaseReadAll) || has(policy.RoleReadAll) {
			t.Fatal("Sync did not remove the deleted role's grant (or dropped the user deny)")
		}
	})
}

// BenchmarkSync measures what every server does on each policy event from the bus: a
// Sync over the seed-bench sizes of the directory (10,000 users with 2 roles each,
// 2,000 roles six deep, 200 grants) on PostgreSQL, with one grant changed between
// syncs so each applies a difference.
func BenchmarkSync(b *testing.B) {
	srv := servertest.Start(b, "postgres", portico.Config{AdminPassword: "admin-password"})
	ctx := policy.SystemContext(context.Background())
	c := srv.DB.Client
	every := c.Role.Query().Where(role.Name(policy.EverybodyName)).OnlyX(ctx)
	roles := []*ent.Role{every}
	for len(roles) < 2001 {
		var batch []*ent.RoleCreate
		for i := 0; i < 500 && len(roles)+len(batch) < 2001; i++ {
			n := len(roles) + len(batch)
			// Each role's parent among the earlier ones: six levels of about 3.5 children.
			parent := roles[(n-1)*len(roles)/n/4]
			batch = append(batch, c.Role.Create().SetName(fmt.Sprintf("r%d", n)).SetParentID(parent.ID))
		}
		roles = append(roles, c.Role.CreateBulk(batch...).SaveX(ctx)...)
	}
	for u := 0; u < 10000; u += 1000 {
		batch := make([]*ent.UserCreate, 1000)
		for i := range batch {
			n := u + i
			batch[i] = c.User.Create().SetName(fmt.Sprintf("u%d", n)).
				AddRoleIDs(roles[1+n%2000].ID, roles[1+(n*7)%2000].ID)
		}
		c.User.CreateBulk(batch...).ExecX(ctx)
	}
	for i := 0; i < 200; i++ {
		c.Grant.Create().SetPermission(string(policy.All[i%len(policy.All)].Name)).SetRoleID(roles[1+i*9].ID).ExecX(ctx)
	}
	p := srv.Policy
	if err := p.Sync(ctx, c); err != nil {
		b.Fatal(err)
	}
	g := c.Grant.Create().SetPermission(string(policy.CaseReadAll)).SetRoleID(roles[5].ID).SaveX(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		effect := grant.EffectALLOW
		if i%2 == 0 {
			effect = grant.EffectDENY
		}
		c.Grant.UpdateOne(g).SetEffect(effect).ExecX(ctx)
		if err := p.Sync(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sync")
}
