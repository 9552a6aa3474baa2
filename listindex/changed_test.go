package listindex_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/changefeed"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/servertest"
)

// TestSyncReadsRowsAlongTheFeed: on PostgreSQL a sync reads the changed rows in the
// feed's own statement, encoded as JSON; the full load reads them by plain statements.
// Both must give the index the same rows: every column, NULLs, times before 1970,
// texts with quotes, control characters and non-ASCII letters, custom fields of every
// JSON type, each kind of responsible, case starters, and a row deleted.
func TestSyncReadsRowsAlongTheFeed(t *testing.T) {
	ctx := context.Background()
	db, feed := openPostgres(t)
	pos, err := feed.Mark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := db.Client
	u1 := c.User.Create().SetName("along-1").SaveX(ctx)
	u2 := c.User.Create().SetName("along-2").SaveX(ctx)
	role := c.Role.Create().SetName("along-role").SaveX(ctx)
	hostile := "it's \"quoted\" ') OR 1=1 -- \\ \t\n ü ß 漢字 \u2028 😀"
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	full := c.BusinessCase.Create().SetName(hostile).SetDescription("line 1\nline 2").SetCategory("HR/Leave").
		SetCreatorID(u1.ID).SetOwnerID(u2.ID).SetHidden(true).SetEndedAt(at).
		SetCustomFields(map[string]any{"s": hostile, "n": 1.5, "big": 12345678901234, "b": true, "o": map[string]any{"x": []any{1, "two"}}, "z": nil}).
		SaveX(ctx)
	bare := c.BusinessCase.Create().SetName("bare").SaveX(ctx)
	t1 := c.Task.Create().SetName(hostile).SetDescription("Ärger").SetCategory("Cat").SetKind("USER_TASK").
		SetState(task.StateSUSPENDED).SetPriority(task.PriorityHIGH).SetExpiryPriority(task.ExpiryPriorityEXCEPTION).
		SetPosition(-3).SetSystem(true).SetHidden(true).SetCreatedAt(at).SetUpdatedAt(at.Add(time.Microsecond)).
		SetExpiryTimestamp(at.Add(48 * time.Hour)).SetDelayTimestamp(time.Date(1960, 1, 2, 3, 4, 5, 999999000, time.UTC)).
		SetStartedAt(at.Add(time.Hour)).SetEndedAt(at.Add(2 * time.Hour)).
		SetCaseID(full.ID).SetWorkerID(u1.ID).SetCreatorID(u2.ID).
		SetCustomFields(map[string]any{"amount": -0.25, "note": "x\"y", "list": []any{}, "empty": ""}).
		SaveX(ctx)
	t2 := c.Task.Create().SetName("plain").SetCaseID(bare.ID).SaveX(ctx)
	gone := c.Task.Create().SetName("gone").SetCaseID(bare.ID).SaveX(ctx)
	for _, r := range []struct {
		task, user, role int
		expiry           bool
	}{{t1.ID, u1.ID, 0, false}, {t1.ID, 0, role.ID, false}, {t1.ID, u2.ID, 0, true}, {t2.ID, 0, role.ID, false}, {gone.ID, u1.ID, 0, false}} {
		q := c.TaskResponsible.Create().SetTaskID(r.task).SetExpiry(r.expiry).SetTaskCreatedAt(at)
		if r.user != 0 {
			q.SetUserID(r.user)
		}
		if r.role != 0 {
			q.SetRoleID(r.role)
		}
		q.SaveX(ctx)
	}
	c.WorkflowEvent.Create().SetKind("STARTED").SetCaseID(full.ID).SetTaskID(t1.ID).SetUserID(u1.ID).SaveX(ctx)
	c.WorkflowEvent.Create().SetKind("STARTED").SetCaseID(full.ID).SetTaskID(t1.ID).SetUserID(u2.ID).SaveX(ctx)
	c.WorkflowEvent.Create().SetKind("STARTED").SetCaseID(bare.ID).SaveX(ctx) // no user: no starter
	c.Task.DeleteOneID(gone.ID).ExecX(ctx)

	along, scanned, err := listindex.ReadChangedBothWays(ctx, db.Reads(), feed, pos)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{t1.ID, t2.ID, gone.ID} {
		if !slices.Contains(along.TaskIDs, id) {
			t.Errorf("task %d not among the changed: %v", id, along.TaskIDs)
		}
	}
	if _, ok := along.Tasks[gone.ID]; ok {
		t.Errorf("the deleted task %d was read", gone.ID)
	}
	if len(along.Tasks[t1.ID].Responsibles) != 3 || len(along.Starters[full.ID]) != 2 || len(along.Starters[bare.ID]) != 0 {
		t.Errorf("task %d: %d responsibles (want 3); case %d: starters %v (want 2), case %d: %v (want none)",
			t1.ID, len(along.Tasks[t1.ID].Responsibles), full.ID, along.Starters[full.ID], bare.ID, along.Starters[bare.ID])
	}
	if !reflect.DeepEqual(along, scanned) {
		t.Errorf("the rows read along the feed differ from those read after it:\nalong   %+v\nscanned %+v", along, scanned)
	}
}

// openPostgres opens a fresh migrated PostgreSQL database and its change feed, read
// from the readers as a server reads it.
func openPostgres(tb testing.TB) (*database.DB, *changefeed.Feed) {
	tb.Helper()
	db, err := database.Open(context.Background(), servertest.DatabaseURL(tb, "postgres"), database.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, changefeed.New(db.ReadSQL(), db.Dialect)
}

// BenchmarkSyncOneChange: the time a list request or a live event waits for the index
// after one write, on PostgreSQL: a sync that reads one changed task and its case
// (the write itself is not timed).
func BenchmarkSyncOneChange(b *testing.B) {
	ctx := context.Background()
	db, feed := openPostgres(b)
	c := db.Client
	bc := c.BusinessCase.Create().SetName("bench").SaveX(ctx)
	tk := c.Task.Create().SetName("bench").SetCaseID(bc.ID).SaveX(ctx)
	ix, err := listindex.Open(ctx, db.Reads(), db.Dialect, feed, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c.Task.UpdateOneID(tk.ID).SetName(fmt.Sprint("bench ", i)).ExecX(ctx)
		b.StartTimer()
		if err := ix.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
