package changefeed_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico/changefeed"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/servertest"
)

// open returns a migrated database of the dialect and its feed, read as a server
// would: on SQLite from the readers, pruning through the writer's queue.
func open(t *testing.T, d string) (*database.DB, *changefeed.Feed) {
	t.Helper()
	db, err := database.Open(context.Background(), servertest.DatabaseURL(t, d), database.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, changefeed.New(db.ReadSQL(), db.Dialect).WithWriter(db)
}

// settle waits, on PostgreSQL, until the snapshot xmin has passed every row of the
// feed: xids are the cluster's, so any transaction on the test server (other tests,
// other databases) holds positions back, and the rows after them are read again.
func settle(t *testing.T, db *database.DB, f *changefeed.Feed) {
	t.Helper()
	if db.Dialect != dialect.Postgres {
		return
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pos, err := f.Mark(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var past bool
		if err := db.SQL.QueryRow(`SELECT coalesce(max(tx::text::numeric), 0) < $1::numeric FROM list_changes`, pos.String()).Scan(&past); err != nil {
			t.Fatal(err)
		}
		if past {
			return
		}
		if time.Now().After(deadline) {
			var maxTx string
			_ = db.SQL.QueryRow(`SELECT max(tx)::text FROM list_changes`).Scan(&maxTx)
			t.Fatalf("a transaction on the PostgreSQL server has held the snapshot xmin (%v) back for 2 minutes behind %s", pos, maxTx)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reader follows the feed from a mark and collects what it reports.
type reader struct {
	t      *testing.T
	f      *changefeed.Feed
	pos    changefeed.Position
	tasks  map[int]bool
	cases  map[int]bool
	reload bool
}

func newReader(t *testing.T, f *changefeed.Feed) *reader {
	t.Helper()
	pos, err := f.Mark(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &reader{t: t, f: f, pos: pos, tasks: map[int]bool{}, cases: map[int]bool{}}
}

// read reads once; it forgets what earlier reads reported.
func (r *reader) read() *reader {
	r.t.Helper()
	clear(r.tasks)
	clear(r.cases)
	changes, next, reload, err := r.f.Read(context.Background(), r.pos)
	if err != nil {
		r.t.Fatal(err)
	}
	r.pos, r.reload = next, reload
	for _, c := range changes {
		if c.TaskID != 0 {
			r.tasks[c.TaskID] = true
		}
		if c.CaseID != 0 {
			r.cases[c.CaseID] = true
		}
	}
	return r
}

func (r *reader) wantTask(id int, what string) {
	r.t.Helper()
	if !r.tasks[id] {
		r.t.Errorf("%s: task %d not reported (tasks %v, reload %v)", what, id, r.tasks, r.reload)
	}
}

func (r *reader) wantCase(id int, what string) {
	r.t.Helper()
	if !r.cases[id] {
		r.t.Errorf("%s: case %d not reported (cases %v, reload %v)", what, id, r.cases, r.reload)
	}
}

// TestEntWritesAreReported: writes through ent, foreign-key cascades included, reach
// the feed.
func TestEntWritesAreReported(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		db, f := open(t, d)
		c := db.Client
		r := newReader(t, f)
		if r.read(); len(r.tasks)+len(r.cases) != 0 || r.reload {
			t.Fatalf("an idle feed reports tasks %v cases %v reload %v", r.tasks, r.cases, r.reload)
		}

		u := c.User.Create().SetName("feeder").SaveX(ctx)
		kase := c.BusinessCase.Create().SetName("Feed case").SetState(businesscase.StateRUNNING).SaveX(ctx)
		task := c.Task.Create().SetName("Feed task").SetCaseID(kase.ID).SaveX(ctx)
		c.TaskResponsible.Create().SetTaskID(task.ID).SetUserID(u.ID).ExecX(ctx)
		r.read()
		r.wantTask(task.ID, "create")
		r.wantCase(kase.ID, "create")
		if r.reload {
			t.Error("a few writes ask for a reload")
		}

		c.Task.UpdateOneID(task.ID).SetName("Feed task renamed").ExecX(ctx)
		r.read().wantTask(task.ID, "update task")

		c.TaskResponsible.Update().ClearUser().ExecX(ctx)
		r.read().wantTask(task.ID, "update responsible")

		c.BusinessCase.UpdateOneID(kase.ID).SetName("Feed case renamed").ExecX(ctx)
		r.read().wantCase(kase.ID, "update case")

		c.WorkflowEvent.Create().SetKind("STARTED").SetTaskID(task.ID).SetCaseID(kase.ID).SetUserID(u.ID).ExecX(ctx)
		r.read()
		r.wantTask(task.ID, "event")
		r.wantCase(kase.ID, "event")

		// Deleting the task cascades to its responsibles.
		c.TaskResponsible.Create().SetTaskID(task.ID).SetUserID(u.ID).ExecX(ctx)
		r.read()
		c.Task.DeleteOneID(task.ID).ExecX(ctx)
		r.read()
		r.wantTask(task.ID, "delete task")
		r.wantCase(kase.ID, "delete task")

		c.BusinessCase.DeleteOneID(kase.ID).ExecX(ctx)
		r.read().wantCase(kase.ID, "delete case")

		r.read()
		settle(t, db, f)
		r.read() // from the settled position
		if r.read(); len(r.tasks)+len(r.cases) != 0 {
			t.Errorf("once every writer ended, the feed repeats tasks %v cases %v", r.tasks, r.cases)
		}
	})
}

// TestOutOfOrderCommit: on PostgreSQL a transaction that began writing first but
// commits last is reported by the Read after its commit.
func TestOutOfOrderCommit(t *testing.T) {
	ctx := context.Background()
	db, f := open(t, dialect.Postgres)
	c := db.Client
	kase := c.BusinessCase.Create().SetName("Order").SaveX(ctx)
	r := newReader(t, f)

	txA, err := c.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback()
	a := txA.Task.Create().SetName("A").SetCaseID(kase.ID).SaveX(ctx) // holds A's xid
	txB, err := c.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := txB.Task.Create().SetName("B").SetCaseID(kase.ID).SaveX(ctx)
	if err := txB.Commit(); err != nil {
		t.Fatal(err)
	}
	if a.ID > b.ID {
		t.Fatalf("A's task %d was not written first (B's %d)", a.ID, b.ID)
	}
	r.read().wantTask(b.ID, "B committed")
	if r.tasks[a.ID] {
		t.Fatal("A reported before its commit")
	}
	// A keeps the snapshot's xmin back, so B's row is read again: it is not reported
	// again (a reader would reload B's task on every read while A stays open).
	if r.read(); r.tasks[b.ID] {
		t.Fatal("B reported again while A was open")
	}
	if err := txA.Commit(); err != nil {
		t.Fatal(err)
	}
	r.read().wantTask(a.ID, "A committed after B")
	// Once A (and every other transaction on the server) has ended, the position
	// passes them.
	settle(t, db, f)
	r.read()
	if r.read(); len(r.tasks) != 0 {
		t.Errorf("rows read again after every transaction ended: %v", r.tasks)
	}
}

// TestBulkStatementReloads: on PostgreSQL a statement of more than 10,000 rows writes
// one reload row; below that, one row per id. SQLite's row triggers list every id.
func TestBulkStatementReloads(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		db, f := open(t, d)
		r := newReader(t, f)
		bulk := func(n int) {
			t.Helper()
			q := `INSERT INTO cases (created_at, updated_at, name) SELECT now(), now(), 'bulk ' || i FROM generate_series(1, $1) AS i`
			if db.Dialect == dialect.SQLite {
				q = `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
					INSERT INTO cases (created_at, updated_at, name) SELECT datetime('now'), datetime('now'), 'bulk ' || i FROM s`
			}
			if _, err := db.ExecContext(ctx, q, n); err != nil {
				t.Fatal(err)
			}
		}
		bulk(10000)
		r.read()
		if r.reload || len(r.cases) < 10000 {
			t.Fatalf("10,000 rows: %d cases reported, reload %v", len(r.cases), r.reload)
		}
		settle(t, db, f)
		r.read()
		bulk(10001)
		r.read()
		if db.Dialect == dialect.Postgres {
			if !r.reload || len(r.cases) != 0 {
				t.Fatalf("10,001 rows: %d cases reported, reload %v", len(r.cases), r.reload)
			}
			var rows int
			if err := db.SQL.QueryRow(`SELECT count(*) FROM list_changes WHERE reload`).Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("%d reload rows (%v)", rows, err)
			}
			// And a bulk update.
			if _, err := db.SQL.ExecContext(ctx, `UPDATE cases SET name = name || '!'`); err != nil {
				t.Fatal(err)
			}
			if r.read(); !r.reload {
				t.Fatal("an update of 20,001 rows does not reload")
			}
		} else if len(r.cases) != 10001 {
			t.Fatalf("10,001 rows on SQLite: %d cases reported, reload %v", len(r.cases), r.reload)
		}
		settle(t, db, f)
		r.read()
		if r.read(); r.reload {
			t.Fatal("the reload is reported again after everything ended")
		}
	})
}

// TestPruneForcesReload: a reader whose position precedes pruned rows reloads; one
// after them does not.
func TestPruneForcesReload(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		db, f := open(t, d)
		c := db.Client
		behind := newReader(t, f)
		c.BusinessCase.Create().SetName("old").ExecX(ctx)
		settle(t, db, f) // else the old row is not prunable yet
		ahead := newReader(t, f)
		age := `UPDATE list_changes SET at = now() - interval '2 hours'`
		if db.Dialect == dialect.SQLite {
			age = `UPDATE list_changes SET at = datetime('now', '-2 hours')`
		}
		if _, err := db.ExecContext(ctx, age); err != nil {
			t.Fatal(err)
		}
		fresh := c.BusinessCase.Create().SetName("fresh").SaveX(ctx)
		if err := f.Prune(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := db.ReadSQL().QueryRow(`SELECT count(*) FROM list_changes`).Scan(&left); err != nil || left != 1 {
			t.Fatalf("%d rows left after pruning (%v)", left, err)
		}
		if behind.read(); !behind.reload {
			t.Error("a reader behind the pruned rows is not told to reload")
		}
		if behind.read(); behind.reload {
			t.Error("the reader reloads again")
		}
		ahead.read()
		if ahead.reload {
			t.Error("a reader past the pruned rows is told to reload")
		}
		ahead.wantCase(fresh.ID, "after pruning")
		// Pruning again with nothing old changes nothing.
		if err := f.Prune(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		if ahead.read(); ahead.reload {
			t.Error("a second prune of nothing forces a reload")
		}
		// The zero position always reloads.
		if _, _, reload, err := f.Read(ctx, changefeed.Position{}); err != nil || !reload {
			t.Errorf("read from the zero position: reload %v, %v", reload, err)
		}
	})
}

// TestConcurrentWritersNothingMissed: writers commit (on PostgreSQL in overlapping
// transactions that commit out of order) while a reader reads repeatedly; every
// committed case is reported.
func TestConcurrentWritersNothingMissed(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		db, f := open(t, d)
		c := db.Client
		pos, err := f.Mark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const writers, each = 6, 25
		var (
			mu       sync.Mutex
			written  = map[int]bool{}
			wg       sync.WaitGroup
			done     = make(chan struct{})
			reported = map[int]bool{}
		)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					tx, err := c.Tx(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					k, err := tx.BusinessCase.Create().SetName(fmt.Sprintf("w%d-%d", w, i)).Save(ctx)
					if err != nil {
						tx.Rollback()
						t.Error(err)
						return
					}
					time.Sleep(time.Duration((w+i)%4) * time.Millisecond) // hold the xid a while
					if i%7 == 3 {
						tx.Rollback()
						continue
					}
					if err := tx.Commit(); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					written[k.ID] = true
					mu.Unlock()
				}
			})
		}
		var reads int
		readOnce := func() {
			changes, next, reload, err := f.Read(ctx, pos)
			if err != nil {
				t.Error(err)
				return
			}
			if reload {
				t.Error("reload without a reason")
			}
			pos = next
			reads++
			for _, ch := range changes {
				reported[ch.CaseID] = true
			}
		}
		var rg sync.WaitGroup
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				readOnce()
				time.Sleep(time.Millisecond)
			}
		})
		wg.Wait()
		close(done)
		rg.Wait()
		readOnce() // after every commit
		var missed []int
		for id := range written {
			if !reported[id] {
				missed = append(missed, id)
			}
		}
		if len(missed) > 0 {
			t.Fatalf("%d of %d committed cases never reported: %v", len(missed), len(written), missed)
		}
		t.Logf("%d cases committed, %d reads", len(written), reads)
	})
}
