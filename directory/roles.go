package directory

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/policy"
)

// getRole loads a role by id with a NOT_FOUND error that names what was asked.
func getRole(ctx context.Context, c *ent.Client, id int, what string) (*ent.Role, error) {
	r, err := c.Role.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("%s: no role with id %d", what, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load role %d: %w", id, err)
	}
	return r, nil
}

// CreateRole creates a role under parentID (Everybody when nil). Names are unique.
func (d *Directory) CreateRole(ctx context.Context, name, displayName string, parentID *int) (*ent.Role, error) {
	var created *ent.Role
	err := d.write(ctx, policy.RoleCreate, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if err := checkName("role", name); err != nil {
			return nil, err
		}
		parent, err := d.parentOrEverybody(ctx, c, parentID)
		if err != nil {
			return nil, err
		}
		if err := uniqueRoleName(ctx, c, name); err != nil {
			return nil, err
		}
		if displayName == "" {
			displayName = name
		}
		created, err = c.Role.Create().SetName(name).SetDisplayName(displayName).SetParent(parent).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("create role %q: %w", name, err)
		}
		return []policy.Change{policy.Link(policy.RoleSubject(created.ID), policy.RoleSubject(parent.ID))}, nil
	})
	return created, err
}

func (d *Directory) parentOrEverybody(ctx context.Context, c *ent.Client, parentID *int) (*ent.Role, error) {
	if parentID == nil {
		r, err := c.Role.Query().Where(role.Name(policy.EverybodyName)).Only(ctx)
		if err != nil {
			return nil, fmt.Errorf("load Everybody: %w", err)
		}
		return r, nil
	}
	return getRole(ctx, c, *parentID, "parentId")
}

func uniqueRoleName(ctx context.Context, c *ent.Client, name string) error {
	existing, err := c.Role.Query().Where(role.Name(name)).WithParent().Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check role name %q: %w", name, err)
	}
	where := "at the root"
	if existing.Edges.Parent != nil {
		where = "under " + existing.Edges.Parent.Name
	}
	return apperr.Conflict("a role named %q already exists %s; role names are unique (link it as a member role instead)", name, where).
		WithExtension("existingRoleId", existing.ID)
}

// UpdateRole changes a role's display name.
func (d *Directory) UpdateRole(ctx context.Context, id int, displayName string) (*ent.Role, error) {
	var updated *ent.Role
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		r, err := getRole(ctx, c, id, "id")
		if err != nil {
			return nil, err
		}
		updated, err = r.Update().SetDisplayName(displayName).Save(ctx)
		return nil, err
	})
	return updated, err
}

// DeleteRole deletes a role and its whole subtree and returns how many roles went.
// Everybody cannot be deleted.
func (d *Directory) DeleteRole(ctx context.Context, id int) (int, error) {
	var count int
	err := d.write(ctx, policy.RoleDelete, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		r, err := getRole(ctx, c, id, "id")
		if err != nil {
			return nil, err
		}
		if r.ParentID == nil {
			return nil, apperr.BadInput("%s is the root of the role tree and cannot be deleted", r.Name)
		}
		ids, err := subtree(ctx, c, r.ID)
		if err != nil {
			return nil, err
		}
		// Children first, so no foreign key points at a deleted parent.
		for i := len(ids) - 1; i >= 0; i-- {
			if err := c.Role.DeleteOneID(ids[i]).Exec(ctx); err != nil {
				return nil, fmt.Errorf("delete role %d: %w", ids[i], err)
			}
		}
		count = len(ids)
		changes := make([]policy.Change, len(ids))
		for i, rid := range ids {
			changes[i] = policy.DropSubject(policy.RoleSubject(rid))
		}
		return changes, nil
	})
	return count, err
}

// subtree returns id and all its descendants (tree children, not member links), parents
// before children.
func subtree(ctx context.Context, c *ent.Client, id int) ([]int, error) {
	ids := []int{id}
	for next := []int{id}; len(next) > 0; {
		children, err := c.Role.Query().Where(role.ParentIDIn(next...)).IDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("load children: %w", err)
		}
		ids = append(ids, children...)
		next = children
	}
	return ids, nil
}

// MoveRole gives a role a new parent. A role cannot move under itself or anything that
// inherits it (that would make a cycle), and Everybody stays the root.
func (d *Directory) MoveRole(ctx context.Context, id, parentID int) (*ent.Role, error) {
	var moved *ent.Role
	err := d.write(ctx, policy.RoleMove, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		r, err := getRole(ctx, c, id, "id")
		if err != nil {
			return nil, err
		}
		if r.ParentID == nil {
			return nil, apperr.BadInput("%s is the root of the role tree and cannot be moved", r.Name)
		}
		parent, err := getRole(ctx, c, parentID, "parentId")
		if err != nil {
			return nil, err
		}
		if d.policy.Reaches(policy.RoleSubject(parent.ID), policy.RoleSubject(r.ID)) {
			return nil, apperr.BadInput("cannot move %s under %s: %s already inherits %s, so the move would make a cycle",
				r.Name, parent.Name, parent.Name, r.Name)
		}
		old := *r.ParentID
		moved, err = r.Update().SetParent(parent).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("move role %s: %w", r.Name, err)
		}
		// The policy knows only committed changes; earlier fields of this request are in
		// the transaction, so check the graph there too.
		if err := checkAcyclic(ctx, c); err != nil {
			return nil, err
		}
		sub := policy.RoleSubject(r.ID)
		return []policy.Change{policy.Unlink(sub, policy.RoleSubject(old)), policy.Link(sub, policy.RoleSubject(parent.ID))}, nil
	})
	return moved, err
}

// AddMemberRole links memberID under roleID: members of memberID become members of roleID.
func (d *Directory) AddMemberRole(ctx context.Context, roleID, memberID int) (*ent.Role, error) {
	var holder *ent.Role
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		var err error
		if holder, err = getRole(ctx, c, roleID, "roleId"); err != nil {
			return nil, err
		}
		member, err := getRole(ctx, c, memberID, "memberRoleId")
		if err != nil {
			return nil, err
		}
		if d.policy.Reaches(policy.RoleSubject(holder.ID), policy.RoleSubject(member.ID)) {
			return nil, apperr.BadInput("cannot link %s as a member of %s: %s already inherits %s, so the link would make a cycle",
				member.Name, holder.Name, holder.Name, member.Name)
		}
		linked, err := holder.QueryMembers().Where(role.ID(member.ID)).Exist(ctx)
		if err != nil {
			return nil, err
		}
		if linked {
			return nil, apperr.Conflict("%s is already a member role of %s", member.Name, holder.Name)
		}
		if err := holder.Update().AddMembers(member).Exec(ctx); err != nil {
			return nil, fmt.Errorf("link member role: %w", err)
		}
		if err := checkAcyclic(ctx, c); err != nil {
			return nil, err
		}
		return []policy.Change{policy.Link(policy.RoleSubject(member.ID), policy.RoleSubject(holder.ID))}, nil
	})
	return holder, err
}

// RemoveMemberRole removes a member-role link.
func (d *Directory) RemoveMemberRole(ctx context.Context, roleID, memberID int) (*ent.Role, error) {
	var holder *ent.Role
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		var err error
		if holder, err = getRole(ctx, c, roleID, "roleId"); err != nil {
			return nil, err
		}
		linked, err := holder.QueryMembers().Where(role.ID(memberID)).Exist(ctx)
		if err != nil {
			return nil, err
		}
		if !linked {
			return nil, apperr.NotFound("role %d is not a member role of %s", memberID, holder.Name)
		}
		if err := holder.Update().RemoveMemberIDs(memberID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("unlink member role: %w", err)
		}
		return []policy.Change{policy.Unlink(policy.RoleSubject(memberID), policy.RoleSubject(holder.ID))}, nil
	})
	return holder, err
}
