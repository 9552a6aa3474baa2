package portico_test

import (
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

func TestCleanupOfObsoleteUsers(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		newDashboard(t, alice, "Alice's", false, nil, nil)
		newDashboard(t, bob, "Bob's", false, nil, nil)
		newDashboard(t, alice, "shared", false, nil, nil)
		if _, code, msg := saveFilter(t, alice, map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "en", "name": "Alice's open work"}}, "taskWhere": map[string]any{"nameContainsFold": "a"}}); code != "" {
			t.Fatalf("alice's filter: %s %s", code, msg)
		}
		var me struct{ Viewer struct{ ID string } }
		alice.MustDo(t, `{ viewer { id } }`, nil, &me)
		run := `mutation($d: Boolean) { runCleanup(input: {dryRun: $d}) { dashboards positions favorites savedFilters skipped } }`
		type result struct{ Dashboards, Positions, Favorites, SavedFilters int }
		var out struct{ RunCleanup result }

		wantErr(t, alice.Do(t, run, map[string]any{"d": false}), "FORBIDDEN")
		admin.MustDo(t, run, map[string]any{"d": false}, &out)
		if out.RunCleanup.Dashboards != 0 {
			t.Fatalf("cleanup with no disabled user removed %+v", out.RunCleanup)
		}
		admin.MustDo(t, `mutation($u: ID!) { disableUser(input: {id: $u}) { user { id } } }`, map[string]any{"u": me.Viewer.ID}, nil)
		admin.MustDo(t, run, map[string]any{"d": true}, &out)
		if out.RunCleanup.Dashboards != 2 {
			t.Fatalf("dry run counts %+v, want 2 dashboards", out.RunCleanup)
		}
		admin.MustDo(t, run, map[string]any{"d": false}, &out)
		if out.RunCleanup.Dashboards != 2 || out.RunCleanup.SavedFilters != 1 {
			t.Fatalf("cleanup removed %+v, want 2 dashboards and 1 saved filter (the dry run removed nothing)", out.RunCleanup)
		}
		if got := titles(dashboardsOf(t, bob)); got != "Start,Bob's" { // Start: the demo's public dashboard
			t.Errorf("bob's dashboards after the cleanup: %s", got)
		}

		// The schedule follows the variable.
		var sched struct {
			CleanupSchedule struct {
				Expression string
				NextRun    time.Time
			}
		}
		admin.MustDo(t, `mutation { setVariable(input: {name: "PortalStartTimeCleanObsoletedUserData", value: "0 15 3 * * ?"}) { variable { name } } }`, nil, nil)
		deadline := time.Now().Add(5 * time.Second)
		for {
			admin.MustDo(t, `{ cleanupSchedule { expression nextRun } }`, nil, &sched)
			n := sched.CleanupSchedule.NextRun
			if sched.CleanupSchedule.Expression == "0 15 3 * * ?" && n.Hour() == 3 && n.Minute() == 15 && n.After(time.Now()) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("schedule %+v", sched.CleanupSchedule)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
