package lists_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"testing"

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
// feed may name rows again that an earlier read named: those are read by id too.
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
	})
}
