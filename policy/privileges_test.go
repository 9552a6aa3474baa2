package policy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestPrivilegesAreNarrow: each privilege lifts the read rule of the entities it names
// only; without a viewer the others stay UNAUTHENTICATED, and no write is lifted.
func TestPrivilegesAreNarrow(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		c := srv.DB.Client
		anon := context.Background()
		unauth := func(what string, err error) {
			t.Helper()
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.CodeUnauthenticated {
				t.Errorf("%s: %v, want UNAUTHENTICATED", what, err)
			}
		}
		login := policy.Elevate(anon, policy.ReadForLogin)
		if _, err := c.User.Query().All(login); err != nil {
			t.Errorf("login reads users: %v", err)
		}
		_, err := c.Task.Query().All(login)
		unauth("login reads tasks", err)
		_, err = c.Grant.Query().All(login)
		unauth("login reads grants", err)
		_, err = c.ServerSecret.Query().All(login)
		unauth("login reads server secrets", err)
		_, err = c.User.Delete().Exec(login)
		unauth("login deletes users", err)
		settings := policy.Elevate(anon, policy.ReadSettings)
		if _, err := c.Variable.Query().All(settings); err != nil {
			t.Errorf("settings fill reads variables: %v", err)
		}
		_, err = c.User.Query().All(settings)
		unauth("settings fill reads users", err)
		reload := policy.Elevate(anon, policy.ReloadPolicy)
		if n, err := c.Grant.Query().Count(reload); err != nil || n == 0 {
			t.Errorf("policy reload reads %d grants: %v", n, err)
		}
		_, err = c.BusinessCase.Query().All(reload)
		unauth("policy reload reads cases", err)
		for _, p := range []policy.Privilege{policy.CaseOfDocuments, policy.DestroyCaseTasks, policy.CopyTaskFlags,
			policy.ReadProcessDefinition, policy.ReadBack, "NoSuchPrivilege"} {
			ctx := policy.Elevate(anon, p)
			_, err = c.Task.Query().All(ctx)
			unauth(string(p)+" without a viewer reads tasks", err)
			_, err = c.Process.Query().All(ctx)
			unauth(string(p)+" without a viewer reads processes", err)
		}
	})
}

// TestPasswordPrivilegesWriteNarrowly: the two password reset privileges lift the write
// rule for the operations and fields they name only; anything else stays refused, with
// or without a viewer.
func TestPasswordPrivilegesWriteNarrowly(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		c := srv.DB.Client
		sys := policy.SystemContext(context.Background())
		alice := c.User.Query().Where(user.Name("alice")).OnlyX(sys)
		demo := c.User.Query().Where(user.Name("demo")).OnlyX(sys)
		refused := func(what string, err error, code apperr.Code) {
			t.Helper()
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != code {
				t.Errorf("%s: %v, want %s", what, err, code)
			}
		}
		reset := policy.Elevate(context.Background(), policy.ResetPassword)
		request := policy.Elevate(context.Background(), policy.RequestPasswordReset)
		if err := c.User.UpdateOne(alice).SetPasswordHash("x").AddTokenVersion(1).Exec(reset); err != nil {
			t.Errorf("reset sets a password: %v", err)
		}
		refused("reset changes an email", c.User.UpdateOne(alice).SetEmail("evil@example.com").Exec(reset), apperr.CodeUnauthenticated)
		refused("reset disables", c.User.UpdateOne(alice).SetDisabled(true).Exec(reset), apperr.CodeUnauthenticated)
		refused("reset changes all users", c.User.Update().SetPasswordHash("x").Exec(reset), apperr.CodeUnauthenticated)
		refused("reset creates a user", c.User.Create().SetName("evil").Exec(reset), apperr.CodeUnauthenticated)
		refused("reset creates a token", c.PasswordReset.Create().SetTokenHash("h").SetUserID(alice.ID).SetExpiresAt(time.Now()).Exec(reset), apperr.CodeUnauthenticated)
		refused("reset deletes tokens", func() error { _, err := c.PasswordReset.Delete().Exec(reset); return err }(), apperr.CodeUnauthenticated)
		if err := c.PasswordReset.Create().SetTokenHash("h").SetUserID(alice.ID).SetExpiresAt(time.Now()).Exec(request); err != nil {
			t.Errorf("request stores a token: %v", err)
		}
		refused("request sets a password", c.User.UpdateOne(alice).SetPasswordHash("x").Exec(request), apperr.CodeUnauthenticated)
		refused("request marks tokens used", c.PasswordReset.Update().SetUsedAt(time.Now()).Exec(request), apperr.CodeUnauthenticated)
		_, err := c.Task.Query().All(request)
		refused("request reads tasks", err, apperr.CodeUnauthenticated)
		// With a viewer: the privilege adds nothing beyond its fields.
		viewer := policy.Elevate(auth.NewContext(context.Background(), &auth.Viewer{UserID: demo.ID, Name: demo.Name}), policy.ResetPassword)
		refused("demo with the reset privilege changes alice's email", c.User.UpdateOne(alice).SetEmail("evil@example.com").Exec(viewer), apperr.CodeForbidden)
		_, err = c.PasswordReset.Query().All(auth.NewContext(context.Background(), &auth.Viewer{UserID: demo.ID, Name: demo.Name}))
		refused("demo reads reset tokens", err, apperr.CodeForbidden)
	})
}
