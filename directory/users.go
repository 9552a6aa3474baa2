package directory

import (
	"context"
	"fmt"
	"net/mail"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// UserInput holds the fields of a user to create or change; nil means unchanged.
type UserInput struct {
	Name       string
	FullName   *string
	Email      *string
	Password   *string
	Language   *string
	Properties map[string]string
	RoleIDs    []int
}

func validateUser(in UserInput) error {
	if in.Email != nil && *in.Email != "" {
		if _, err := mail.ParseAddress(*in.Email); err != nil {
			return apperr.BadInput("email %q is not an e-mail address", *in.Email)
		}
	}
	if in.Password != nil && (*in.Password == "" || len(*in.Password) > auth.MaxPasswordLength) {
		return apperr.BadInput("the password must be 1 to %d bytes long", auth.MaxPasswordLength)
	}
	for k := range in.Properties {
		if k == "" {
			return apperr.BadInput("a property has an empty key")
		}
	}
	return nil
}

// loadRoles loads roles by id, failing with the first unknown id.
func loadRoles(ctx context.Context, c *ent.Client, ids []int) ([]*ent.Role, error) {
	roles, err := c.Role.Query().Where(role.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	found := map[int]bool{}
	for _, r := range roles {
		found[r.ID] = true
	}
	for _, id := range ids {
		if !found[id] {
			return nil, apperr.BadInput("roleIds: no role with id %d", id)
		}
	}
	return roles, nil
}

// CreateUser creates a user. Without roles it gets Everybody, so that it has at least one.
func (d *Directory) CreateUser(ctx context.Context, in UserInput) (*ent.User, error) {
	var created *ent.User
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if err := checkName("user", in.Name); err != nil {
			return nil, err
		}
		if err := validateUser(in); err != nil {
			return nil, err
		}
		hash, err := hashBeforeWriting(in.Password)
		if err != nil {
			return nil, err
		}
		if taken, err := c.User.Query().Where(user.Name(in.Name)).Exist(ctx); err != nil {
			return nil, err
		} else if taken {
			return nil, apperr.Conflict("a user named %q already exists; user names are unique", in.Name)
		}
		ids := in.RoleIDs
		if len(ids) == 0 {
			ids = []int{d.policy.EverybodyID()}
		}
		roles, err := loadRoles(ctx, c, ids)
		if err != nil {
			return nil, err
		}
		q := c.User.Create().SetName(in.Name).AddRoles(roles...).SetProperties(in.Properties).
			SetNillableFullName(in.FullName).SetNillableEmail(in.Email).SetNillableLanguage(in.Language)
		if in.Password != nil {
			if err := d.checkPassword(ctx, in.Name, *in.Password); err != nil {
				return nil, err
			}
			q.SetPasswordHash(hash)
		}
		if created, err = q.Save(ctx); err != nil {
			return nil, fmt.Errorf("create user %q: %w", in.Name, err)
		}
		changes := []policy.Change{policy.Link(policy.UserSubject(created.ID), policy.RoleSubject(d.policy.EverybodyID()))}
		for _, r := range roles {
			changes = append(changes, policy.Link(policy.UserSubject(created.ID), policy.RoleSubject(r.ID)))
		}
		return changes, nil
	})
	return created, err
}

// UpdateUser changes a user's details (not its name or roles).
func (d *Directory) UpdateUser(ctx context.Context, id int, in UserInput) (*ent.User, error) {
	var updated *ent.User
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if err := validateUser(in); err != nil {
			return nil, err
		}
		hash, err := hashBeforeWriting(in.Password)
		if err != nil {
			return nil, err
		}
		u, err := getUser(ctx, c, id)
		if err != nil {
			return nil, err
		}
		q := u.Update().SetNillableFullName(in.FullName).SetNillableEmail(in.Email).SetNillableLanguage(in.Language)
		if in.Properties != nil {
			q.SetProperties(in.Properties)
		}
		if in.Password != nil {
			if err := d.checkPassword(ctx, u.Name, *in.Password); err != nil {
				return nil, err
			}
			q.SetPasswordHash(hash)
		}
		if updated, err = q.Save(ctx); err != nil {
			return nil, fmt.Errorf("update user %d: %w", id, err)
		}
		if in.Password != nil { // whoever knew the old password must log in again
			if err := d.voidResets(ctx, c, u.ID); err != nil {
				return nil, err
			}
			return nil, d.endSessions(ctx, c, u.ID)
		}
		return nil, nil
	})
	return updated, err
}

// SetUserDisabled disables (or enables again) a user; disabling ends its sessions, so
// its tokens stay dead when it is enabled again. Users are never deleted, so their
// history keeps its authors.
func (d *Directory) SetUserDisabled(ctx context.Context, id int, disabled bool) (*ent.User, error) {
	var updated *ent.User
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		u, err := getUser(ctx, c, id)
		if err != nil {
			return nil, err
		}
		if disabled && u.ID == viewerID(ctx) {
			return nil, apperr.BadInput("you cannot disable yourself")
		}
		if updated, err = u.Update().SetDisabled(disabled).Save(ctx); err != nil {
			return nil, fmt.Errorf("set user %d disabled=%v: %w", id, disabled, err)
		}
		if disabled {
			return nil, d.endSessions(ctx, c, u.ID)
		}
		return nil, nil
	})
	return updated, err
}

// Logout ends the caller's sessions: every token of the caller, on every device, stops
// working (tokens carry the user's token version, and this raises it), and the caller's
// websockets close with 4401 on every server.
func (d *Directory) Logout(ctx context.Context) error {
	v := auth.FromContext(ctx)
	if v == nil {
		if err := auth.TokenError(ctx); err != nil {
			return err
		}
		return &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "log in first; there is no session to end"}
	}
	return database.InTx(ctx, d.client, func(ctx context.Context, tx *ent.Tx) error {
		return d.endSessions(ctx, tx.Client(), v.UserID)
	})
}

// RevokeSessions ends every token and websocket of user id, as Logout would for that
// user. Needs RoleManagement.
func (d *Directory) RevokeSessions(ctx context.Context, id int) (*ent.User, error) {
	var u *ent.User
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		var err error
		if u, err = getUser(ctx, c, id); err != nil {
			return nil, err
		}
		return nil, d.endSessions(ctx, c, id)
	})
	return u, err
}

// endSessions raises user id's token version in the transaction of ctx, which ends all
// its tokens on every server (each request reads the version), and once committed
// announces it, so that the servers close the user's websockets.
func (d *Directory) endSessions(ctx context.Context, c *ent.Client, id int) error {
	if err := c.User.UpdateOneID(id).AddTokenVersion(1).Exec(ctx); err != nil {
		return fmt.Errorf("end sessions of user %d: %w", id, err)
	}
	d.sessionsEnded(ctx, id)
	return nil
}

// SetUserRoles replaces a user's roles (at least one).
func (d *Directory) SetUserRoles(ctx context.Context, id int, roleIDs []int) (*ent.User, error) {
	var updated *ent.User
	err := d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if len(roleIDs) == 0 {
			return nil, apperr.BadInput("roleIds is empty; a user needs at least one role (Everybody will do)")
		}
		u, err := getUser(ctx, c, id)
		if err != nil {
			return nil, err
		}
		roles, err := loadRoles(ctx, c, roleIDs)
		if err != nil {
			return nil, err
		}
		old, err := u.QueryRoles().IDs(ctx)
		if err != nil {
			return nil, err
		}
		if updated, err = u.Update().ClearRoles().AddRoles(roles...).Save(ctx); err != nil {
			return nil, fmt.Errorf("set roles of %s: %w", u.Name, err)
		}
		sub := policy.UserSubject(u.ID)
		var changes []policy.Change
		for _, r := range old {
			if r != d.policy.EverybodyID() {
				changes = append(changes, policy.Unlink(sub, policy.RoleSubject(r)))
			}
		}
		for _, r := range roles {
			changes = append(changes, policy.Link(sub, policy.RoleSubject(r.ID)))
		}
		return changes, nil
	})
	return updated, err
}

func getUser(ctx context.Context, c *ent.Client, id int) (*ent.User, error) {
	u, err := c.User.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("no user with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load user %d: %w", id, err)
	}
	return u, nil
}

func viewerID(ctx context.Context) int {
	if v := auth.FromContext(ctx); v != nil {
		return v.UserID
	}
	return 0
}

// checkPassword applies the password rules, when the server set them.
func (d *Directory) checkPassword(ctx context.Context, name, password string) error {
	if d.PasswordRules == nil {
		return nil
	}
	return d.PasswordRules(ctx, name, password)
}

// hashBeforeWriting hashes a password, if one is given, before the transaction's first
// statement: bcrypt takes ~50 ms of CPU, and from its first statement on a transaction
// holds SQLite's one writer (database.InTx), which every other write waits for.
func hashBeforeWriting(password *string) (string, error) {
	if password == nil {
		return "", nil
	}
	hash, err := auth.HashPassword(*password)
	if err != nil {
		return "", apperr.BadInput("%v", err)
	}
	return hash, nil
}
