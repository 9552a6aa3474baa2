// Package directory manages the role graph, users and permission grants: every change is
// checked against the policy, validated, written in one transaction and, once committed,
// applied to the enforcer incrementally.
package directory

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/policy"
)

// Directory is the role and user administration service.
type Directory struct {
	client *ent.Client
	policy *policy.Policy
	log    *slog.Logger
	// Publish, when set, receives every committed batch of policy changes so that other
	// server instances can apply them too.
	Publish func(ctx context.Context, changes []policy.Change)
	// PasswordRules, when set, checks a new password for a user (the password
	// validation settings); it returns a BAD_USER_INPUT error naming what is missing.
	PasswordRules func(ctx context.Context, name, password string) error
	// SessionsEnded, when set, receives after commit the users whose tokens were ended
	// (their token version raised), so that every server closes their websockets.
	SessionsEnded func(ctx context.Context, users []int)
	// Accounts checks current passwords and issues tokens (changePassword).
	Accounts Accounts
	// Resets configures "forgot my password"; StartResets starts its worker.
	Resets Resets
}

// New returns the directory over client and the server's policy.
func New(client *ent.Client, p *policy.Policy, log *slog.Logger) *Directory {
	return &Directory{client: client, policy: p, log: log,
		Resets: Resets{throttle: auth.NewRequestThrottle(time.Hour/resetRequestsPerAddr, resetRequestsPerAddr)}}
}

// write runs fn in the request's transaction after checking perm, and applies the policy
// changes fn returns once the transaction commits.
func (d *Directory) write(ctx context.Context, perm policy.Permission, fn func(ctx context.Context, c *ent.Client) ([]policy.Change, error)) error {
	if _, err := d.policy.Require(ctx, perm); err != nil {
		return err
	}
	return database.InTx(ctx, d.client, func(ctx context.Context, tx *ent.Tx) error {
		changes, err := fn(ctx, tx.Client())
		if err != nil || len(changes) == 0 {
			return err
		}
		database.AfterCommit(tx, func() { d.apply(ctx, changes) })
		return nil
	})
}

func (d *Directory) apply(ctx context.Context, changes []policy.Change) {
	var err error
	if policy.NeedsReload(changes) {
		err = d.policy.Sync(policy.Elevate(ctx, policy.ReloadPolicy), d.client)
	} else {
		err = d.policy.Apply(changes...)
	}
	if err != nil {
		// The database is the truth; a failed incremental update means a full reload.
		d.log.Error("policy update failed; reloading", "err", err)
		if err := d.policy.Reload(policy.Elevate(ctx, policy.ReloadPolicy), d.client); err != nil {
			d.log.Error("policy reload failed", "err", err)
		}
	}
	if d.Publish != nil {
		d.Publish(ctx, changes)
	}
}

// checkName validates a role or user name: not empty, no surrounding spaces or control
// characters, at most 200 characters.
func checkName(kind, name string) error {
	switch {
	case name == "":
		return apperr.BadInput("the %s name is empty; give a name", kind)
	case strings.TrimSpace(name) != name:
		return apperr.BadInput("the %s name %q starts or ends with spaces; remove them", kind, name)
	case len(name) > 200:
		return apperr.BadInput("the %s name is %d characters long; at most 200 are allowed", kind, len(name))
	case strings.ContainsFunc(name, unicode.IsControl):
		return apperr.BadInput("the %s name %q contains control characters", kind, name)
	case strings.HasPrefix(name, "#"):
		return apperr.BadInput("the %s name %q starts with '#', which marks user names in permission lists", kind, name)
	}
	return nil
}
