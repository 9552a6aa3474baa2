// Package bootstrap prepares an empty database: the Everybody role with its default
// permissions, the admin user, and (on request) the demo data.
package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/grant"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/policy"
)

// AdminName is the user created on an empty database.
const AdminName = "admin"

// ErrNoAdminPassword is returned for an empty database when no admin password is given
// outside demo mode: there is never a default password in production.
var ErrNoAdminPassword = errors.New("empty database: set --admin-password (or PORTICO_ADMIN_PASSWORD) to create the admin user")

// Ensure creates what an empty database needs, in one transaction. It leaves a database
// that already has users alone. With demo set and no password, the admin password is "admin".
// The admin password is the operator's choice and, like the demo users' (system seeding),
// is not held to the password rules, which are stored in the database being created.
func Ensure(ctx context.Context, client *ent.Client, adminPassword string, demo bool) (created bool, err error) {
	n, err := client.User.Query().Count(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if adminPassword == "" {
		if !demo {
			return false, ErrNoAdminPassword
		}
		adminPassword = "admin"
	}
	return true, database.InTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		everybody, err := ensureEverybody(ctx, tx.Client())
		if err != nil {
			return err
		}
		if err := createAdmin(ctx, tx.Client(), adminPassword, everybody); err != nil {
			return err
		}
		if demo {
			return loadDemo(ctx, tx.Client(), everybody)
		}
		return nil
	})
}

// ensureEverybody returns the root role, creating it with the Everybody defaults of the
// permission list when it does not exist yet.
func ensureEverybody(ctx context.Context, c *ent.Client) (*ent.Role, error) {
	r, err := c.Role.Query().Where(role.Name(policy.EverybodyName)).Only(ctx)
	if err == nil {
		return r, nil
	}
	if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("find Everybody: %w", err)
	}
	r, err = c.Role.Create().SetName(policy.EverybodyName).SetDisplayName("Everybody").Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create Everybody: %w", err)
	}
	var grants []*ent.GrantCreate
	for _, d := range policy.All {
		if d.EverybodyDefault {
			grants = append(grants, c.Grant.Create().SetPermission(string(d.Name)).SetRoleID(r.ID).SetEffect(grant.EffectALLOW))
		}
	}
	if err := c.Grant.CreateBulk(grants...).Exec(ctx); err != nil {
		return nil, fmt.Errorf("grant Everybody defaults: %w", err)
	}
	return r, nil
}

// createAdmin creates the admin user with every permission granted to it directly.
func createAdmin(ctx context.Context, c *ent.Client, password string, everybody *ent.Role) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	admin, err := c.User.Create().SetName(AdminName).SetFullName("Administrator").
		SetPasswordHash(hash).AddRoles(everybody).Save(ctx)
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	grants := make([]*ent.GrantCreate, 0, len(policy.All))
	for _, d := range policy.All {
		grants = append(grants, c.Grant.Create().SetPermission(string(d.Name)).SetUserID(admin.ID).SetEffect(grant.EffectALLOW))
	}
	if err := c.Grant.CreateBulk(grants...).Exec(ctx); err != nil {
		return fmt.Errorf("grant admin every permission: %w", err)
	}
	return nil
}
