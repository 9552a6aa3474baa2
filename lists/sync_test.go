package lists_test

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/changefeed"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/servertest"
)

// statements records what a list index asks of the database.
type statements struct {
	q    listindex.Querier
	mu   sync.Mutex
	seen []string
}

func (s *statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s.mu.Lock()
	s.seen = append(s.seen, query)
	s.mu.Unlock()
	return s.q.QueryContext(ctx, query, args...)
}

// TestSyncReadsOnlyTheChangedRows: a sync after a change to one case reads rows by id
// only (a case-only change once re-read every task of the database). On PostgreSQL the
// feed may name rows again that an earlier read named: those are read by id too, and
// the rows come in the feed's statement: a sync is one statement, one round trip.
func TestSyncReadsOnlyTheChangedRows(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		w := newWorld(t, dialect, 3)
		db := w.srv.DB
		rec := &statements{q: db.ReadSQL()}
		feed := changefeed.New(db.ReadSQL(), db.Dialect).WithWriter(db)
		ix, err := listindex.Open(w.sys, rec, db.Dialect, feed, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		c := db.Client
		bc := c.BusinessCase.Query().Where(businesscase.CategoryEQ("HR")).FirstX(w.sys)
		rec.mu.Lock()
		rec.seen = nil
		rec.mu.Unlock()
		c.BusinessCase.UpdateOne(bc).SetName("Renamed case").ExecX(w.sys)
		if err := ix.Sync(w.sys); err != nil {
			t.Fatal(err)
		}
		var cases int
		for _, q := range rec.seen {
			switch {
			case !strings.Contains(q, " WHERE "):
				t.Errorf("a change to one case read a whole table: %s", q)
			case strings.Contains(q, "FROM cases"):
				cases++
			}
		}
		if cases == 0 {
			t.Errorf("the changed case was not read (statements: %q)", rec.seen)
		}
		if dialect == "postgres" && len(rec.seen) != 1 {
			t.Errorf("a sync ran %d statements, want 1: %q", len(rec.seen), rec.seen)
		}
	})
}

// gated holds every query while its gate is shut, and says when one is waiting.
type gated struct {
	q       listindex.Querier
	mu      sync.Mutex
	shut    chan struct{} // nil: open
	waiting chan struct{}
}

func (g *gated) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut != nil {
		select {
		case g.waiting <- struct{}{}:
		default:
		}
		<-shut
	}
	return g.q.QueryContext(ctx, query, args...)
}

// TestSyncSinceJoinsARunningSync: a writer takes the index's mark right after its commit
// and begins a sync; whoever then waits for that write (the hub, for an event of this
// server) joins the running sync instead of beginning another after it, and finds the
// write applied. Sync, by contrast, cannot know when the running sync began and runs
// one more.
func TestSyncSinceJoinsARunningSync(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		w := newWorld(t, dialect, 3)
		db := w.srv.DB
		g := &gated{q: db.ReadSQL(), waiting: make(chan struct{}, 1)}
		feed := changefeed.New(db.ReadSQL(), db.Dialect).WithWriter(db) // rows are read through g
		ix, err := listindex.Open(w.sys, g, db.Dialect, feed, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		carol := w.users["carol"]
		bc := db.Client.BusinessCase.Create().SetName("Marked case").SetCreatorID(carol).SaveX(w.sys)
		mark := ix.Mark() // right after the commit
		if _, ok := ix.CaseReach(bc.ID); ok {
			t.Fatal("the new case is in the index before any sync")
		}

		// syncs runs first (a sync that is held once it reads rows), then second once
		// first is held, and returns how many syncs the two ran together.
		syncs := func(first, second func() error) uint64 {
			g.mu.Lock()
			g.shut = make(chan struct{})
			shut := g.shut
			g.mu.Unlock()
			select { // a sync reads cases and starters at once: the other's word may be left
			case <-g.waiting:
			default:
			}
			before := ix.SyncStats().Syncs
			errs := make(chan error, 2)
			go func() { errs <- first() }()
			<-g.waiting // it has begun
			go func() { errs <- second() }()
			time.Sleep(50 * time.Millisecond)
			g.mu.Lock()
			g.shut = nil
			g.mu.Unlock()
			close(shut)
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			return ix.SyncStats().Syncs - before
		}
		since := func(mark uint64) func() error { return func() error { return ix.SyncSince(w.sys, mark) } }

		// The writer's sync, then the hub's wait for the same write.
		if got := syncs(since(mark), since(mark)); got != 1 {
			t.Errorf("two waiters on one write ran %d syncs, want 1", got)
		}
		if r, ok := ix.CaseReach(bc.ID); !ok || !slices.Contains(r.Involved, carol) {
			t.Errorf("the write was not applied: reach %+v, %v", r, ok)
		}

		// Sync arriving while a sync runs waits for it and runs one more.
		db.Client.BusinessCase.UpdateOne(bc).SetName("Renamed marked case").ExecX(w.sys)
		if got := syncs(since(ix.Mark()), func() error { return ix.Sync(w.sys) }); got != 2 {
			t.Errorf("Sync beside a running sync: %d syncs, want 2", got)
		}
	})
}
