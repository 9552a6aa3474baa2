package policy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/apperr"
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
