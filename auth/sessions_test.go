package auth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/servertest"
)

// TestCheckSessions: a check over every tracked connection (as after a bus gap) ends
// exactly those whose token no longer holds (a stale version, a missing or disabled
// user), across more users than one statement reads.
func TestCheckSessions(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := auth.SystemContext(context.Background())
		users, err := srv.DB.Client.User.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ended atomic.Int32
		track := func(id, version int) *atomic.Bool {
			var done atomic.Bool
			srv.Auth.Track(ctx, &auth.Viewer{UserID: id, TokenVersion: version}, srv.Auth.SessionMark(), time.Now().Add(time.Hour), func(bool) {
				done.Store(true)
				ended.Add(1)
			})
			return &done
		}
		var live []*atomic.Bool
		for _, u := range users {
			live = append(live, track(u.ID, u.TokenVersion))
		}
		stale := track(users[0].ID, users[0].TokenVersion+1)
		const missing = 600
		for i := range missing {
			track(1<<40+i, 0)
		}
		if err := srv.Auth.CheckSessions(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if !stale.Load() {
			t.Error("the connection with a stale token version is open")
		}
		for i, l := range live {
			if l.Load() {
				t.Errorf("connection of %s with a valid token was ended", users[i].Name)
			}
		}
		if n := ended.Load(); n != missing+1 {
			t.Errorf("%d connections ended, want %d", n, missing+1)
		}
		// A second check finds nothing more to end.
		if err := srv.Auth.CheckSessions(ctx, nil); err != nil || ended.Load() != missing+1 {
			t.Errorf("second check: err %v, %d ended", err, ended.Load())
		}
	})
}
