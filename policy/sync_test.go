package policy_test

import (
	"context"
	"testing"

	"github.com/portico-dev/portico"
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
