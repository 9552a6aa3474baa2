package directory

import (
	"context"
	"fmt"
	"net/mail"
	"slices"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// ExternalUser is a user an identity provider vouched for (single sign-on): its Portico
// user name and what the provider says about it.
type ExternalUser struct {
	Name     string // the Portico user name (the configured claim's value)
	FullName string
	Email    string // set on a created user when it is an address
	// Create creates the user when no user has the name; otherwise the sign-in is refused.
	Create bool
	// MapGroups makes Groups the user's roles: see SignInExternal.
	MapGroups bool
	Groups    []string
}

// SignInExternal finds (or creates) the user an identity provider vouched for, in one
// transaction, before anybody is logged in (under the privilege SingleSignOn). A missing
// user is created with the schema's defaults and no password when in.Create, else
// FORBIDDEN; a disabled user is FORBIDDEN.
//
// With MapGroups the groups decide the user's roles at every sign-in: they become
// exactly the roles named like a group (unknown groups are ignored), and Everybody,
// which every user has. Roles given in Portico but not in the groups are removed: the
// provider is the one source of the roles of users who sign in through it. The role
// changes go through the same policy changes as setUserRoles, applied to the enforcer
// and announced on the bus once committed.
func (d *Directory) SignInExternal(ctx context.Context, in ExternalUser) (*ent.User, error) {
	if err := checkName("user", in.Name); err != nil {
		return nil, apperr.Forbidden("the identity provider's user name is not a valid Portico user name: %s", err.Error())
	}
	var u *ent.User
	var changes []policy.Change
	err := database.InTx(ctx, d.client, func(txCtx context.Context, tx *ent.Tx) error {
		ectx := policy.Elevate(txCtx, policy.SingleSignOn)
		c := tx.Client()
		var err error
		u, err = c.User.Query().Where(user.Name(in.Name)).Only(ectx)
		if err != nil && !ent.IsNotFound(err) {
			return fmt.Errorf("find user %q: %w", in.Name, err)
		}
		var want []*ent.Role
		if in.MapGroups {
			if want, err = rolesNamed(ectx, c, in.Groups); err != nil {
				return err
			}
		}
		everybody := d.policy.EverybodyID()
		if u == nil {
			if !in.Create {
				return apperr.Forbidden("there is no Portico user named %q; an administrator must create it before it can sign in", in.Name)
			}
			q := c.User.Create().SetName(in.Name).SetFullName(truncate(in.FullName, 500)).AddRoleIDs(everybody)
			if _, err := mail.ParseAddress(in.Email); err == nil && len(in.Email) <= 500 {
				q.SetEmail(in.Email)
			}
			for _, r := range want {
				if r.ID != everybody {
					q.AddRoles(r)
				}
			}
			if u, err = q.Save(ectx); err != nil {
				if ent.IsConstraintError(err) { // a concurrent first sign-in created it
					return apperr.Conflict("user %q was just created by another sign-in; sign in again", in.Name)
				}
				return fmt.Errorf("create user %q: %w", in.Name, err)
			}
			sub := policy.UserSubject(u.ID)
			changes = append(changes, policy.Link(sub, policy.RoleSubject(everybody)))
			for _, r := range want {
				if r.ID != everybody {
					changes = append(changes, policy.Link(sub, policy.RoleSubject(r.ID)))
				}
			}
		} else {
			if u.Disabled {
				return apperr.Forbidden("user %q is disabled; ask an administrator", in.Name)
			}
			if in.MapGroups {
				if changes, err = d.replaceRoles(ectx, c, u, want); err != nil {
					return err
				}
			}
		}
		if len(changes) > 0 {
			database.AfterCommit(tx, func() { d.apply(ctx, changes) })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// rolesNamed returns the roles named in names; names no role has are ignored.
func rolesNamed(ctx context.Context, c *ent.Client, names []string) ([]*ent.Role, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > 1000 {
		names = names[:1000]
	}
	roles, err := c.Role.Query().Where(role.NameIn(names...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("roles of the groups: %w", err)
	}
	return roles, nil
}

// replaceRoles makes want (and Everybody) the roles of u, if they are not already, and
// returns the policy changes (as SetUserRoles).
func (d *Directory) replaceRoles(ctx context.Context, c *ent.Client, u *ent.User, want []*ent.Role) ([]policy.Change, error) {
	everybody := d.policy.EverybodyID()
	ids := []int{everybody}
	for _, r := range want {
		if r.ID != everybody {
			ids = append(ids, r.ID)
		}
	}
	old, err := u.QueryRoles().IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", u.Name, err)
	}
	slices.Sort(ids)
	slices.Sort(old)
	if slices.Equal(ids, old) {
		return nil, nil
	}
	if err := c.User.UpdateOneID(u.ID).ClearRoles().AddRoleIDs(ids...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("set roles of %s: %w", u.Name, err)
	}
	sub := policy.UserSubject(u.ID)
	var changes []policy.Change
	for _, r := range old {
		if r != everybody && !slices.Contains(ids, r) {
			changes = append(changes, policy.Unlink(sub, policy.RoleSubject(r)))
		}
	}
	for _, r := range ids {
		if r != everybody && !slices.Contains(old, r) {
			changes = append(changes, policy.Link(sub, policy.RoleSubject(r)))
		}
	}
	return changes, nil
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
