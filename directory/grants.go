package directory

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/grant"
	"github.com/portico-dev/portico/policy"
)

// Subject names the role or user a grant is for: exactly one of the two is set.
type Subject struct {
	RoleID *int
	UserID *int
}

func (d *Directory) grantSubject(ctx context.Context, c *ent.Client, s Subject) (string, error) {
	switch {
	case (s.RoleID == nil) == (s.UserID == nil):
		return "", apperr.BadInput("give exactly one of roleId and userId")
	case s.RoleID != nil:
		if _, err := getRole(ctx, c, *s.RoleID, "roleId"); err != nil {
			return "", err
		}
		return policy.RoleSubject(*s.RoleID), nil
	default:
		if _, err := getUser(ctx, c, *s.UserID); err != nil {
			return "", err
		}
		return policy.UserSubject(*s.UserID), nil
	}
}

func permissionOf(name string) (policy.Permission, error) {
	if _, ok := policy.Lookup(name); !ok {
		return "", apperr.BadInput("unknown permission %q; the query `permissions` lists them all", name)
	}
	return policy.Permission(name), nil
}

// grantTarget checks a permission name and a grant's subject, returning the permission
// and the subject's Casbin name.
func (d *Directory) grantTarget(ctx context.Context, c *ent.Client, perm string, s Subject) (policy.Permission, string, error) {
	p, err := permissionOf(perm)
	if err != nil {
		return "", "", err
	}
	sub, err := d.grantSubject(ctx, c, s)
	return p, sub, err
}

// SetGrant allows or denies a permission to a role or user, replacing an earlier grant of
// the same permission to the same subject.
func (d *Directory) SetGrant(ctx context.Context, perm string, s Subject, effect grant.Effect) error {
	return d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		p, sub, err := d.grantTarget(ctx, c, perm, s)
		if err != nil {
			return nil, err
		}
		if _, err := deleteGrant(ctx, c, p, s); err != nil {
			return nil, err
		}
		if err := c.Grant.Create().SetPermission(string(p)).SetNillableRoleID(s.RoleID).
			SetNillableUserID(s.UserID).SetEffect(effect).Exec(ctx); err != nil {
			return nil, fmt.Errorf("grant %s: %w", p, err)
		}
		return []policy.Change{policy.SetGrant(sub, p, effect)}, nil
	})
}

// RevokeGrant removes a role's or user's grant (allow or deny) of a permission.
func (d *Directory) RevokeGrant(ctx context.Context, perm string, s Subject) error {
	return d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		p, sub, err := d.grantTarget(ctx, c, perm, s)
		if err != nil {
			return nil, err
		}
		n, err := deleteGrant(ctx, c, p, s)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, apperr.NotFound("no grant of %s to revoke on that subject", p)
		}
		return []policy.Change{policy.DropGrant(sub, p)}, nil
	})
}

func deleteGrant(ctx context.Context, c *ent.Client, p policy.Permission, s Subject) (int, error) {
	q := c.Grant.Delete().Where(grant.Permission(string(p)))
	if s.RoleID != nil {
		q.Where(grant.RoleID(*s.RoleID))
	} else {
		q.Where(grant.UserID(*s.UserID))
	}
	n, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete grant %s: %w", p, err)
	}
	return n, nil
}
