package database

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// openSQLite opens a migrated database in a temporary file with a scratch table t.
func openSQLite(t *testing.T) (*DB, *sqliteDriver, string) {
	t.Helper()
	url := "file:" + filepath.Join(t.TempDir(), "t.db")
	db, err := Open(context.Background(), url, Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := db.Driver.(*sqliteDriver)
	exec(t, d, "CREATE TABLE t (v INTEGER)")
	return db, d, url
}

func exec(t *testing.T, e dialect.ExecQuerier, query string, args ...any) {
	t.Helper()
	if err := e.Exec(context.Background(), query, args, new(sql.Result)); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, q dialect.ExecQuerier) int {
	t.Helper()
	return queryInt(t, q, "SELECT count(*) FROM t")
}

// queryInt runs a query of one integer.
func queryInt(t *testing.T, q dialect.ExecQuerier, query string, args ...any) int {
	t.Helper()
	var rows entsql.Rows
	if err := q.Query(context.Background(), query, args, &rows); err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, err := entsql.ScanInt(&rows)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSQLiteTxBeginsAtFirstStatement: a transaction that runs nothing never takes the
// writer (a mutation like login, which writes nothing, does not queue), and one that
// does holds it until it ends.
func TestSQLiteTxBeginsAtFirstStatement(t *testing.T) {
	_, d, _ := openSQLite(t)
	d.queue.wait = 200 * time.Millisecond
	ctx := context.Background()
	idle, err := d.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := d.Tx(ctx)
	exec(t, w, "INSERT INTO t (v) VALUES (1)")
	if err := w.Commit(); err != nil {
		t.Fatalf("a write beside an idle transaction: %v", err)
	}
	if err := idle.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("second commit: %v", err)
	}

	held, _ := d.Tx(ctx)
	exec(t, held, "INSERT INTO t (v) VALUES (2)")
	queued, _ := d.Tx(ctx)
	err = queued.Exec(ctx, "INSERT INTO t (v) VALUES (3)", []any{}, new(sql.Result))
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("a write while another transaction holds the writer: %v, want ErrBusy after the wait", err)
	}
	queued.Rollback()
	// Reads beside the open write see the last commit, not its uncommitted row.
	if n := count(t, d); n != 1 {
		t.Fatalf("reader sees %d rows, want 1", n)
	}
	if n := count(t, held); n != 2 {
		t.Fatalf("the transaction sees %d rows, want 2", n)
	}
	if err := held.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Freed: the next transaction gets the writer at once.
	next, _ := d.Tx(ctx)
	exec(t, next, "INSERT INTO t (v) VALUES (4)")
	if err := next.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}

// TestSQLiteBusyIsErrBusy: SQLITE_BUSY from the driver (here another process holds the
// write lock and this connection does not wait) is ErrBusy, which callers can tell apart
// from other failures and retry.
func TestSQLiteBusyIsErrBusy(t *testing.T) {
	_, _, url := openSQLite(t)
	other, err := sql.Open("sqlite", url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	ctx := context.Background()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec("INSERT INTO t (v) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	impatient, err := sql.Open("sqlite", url+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.Exec("INSERT INTO t (v) VALUES (2)")
	if err == nil {
		t.Fatal("no error writing while another connection holds the lock")
	}
	if err := busy(err); !errors.Is(err, ErrBusy) {
		t.Fatalf("%v is not ErrBusy", err)
	}
	if err := busy(errors.New("no such table: x")); errors.Is(err, ErrBusy) {
		t.Fatal("another error became ErrBusy")
	}
}

// TestSQLiteReadersAreReadOnly: statements route by what they do, and a reader refuses
// to write, so a misrouted write fails loudly instead of racing the writer.
func TestSQLiteReadersAreReadOnly(t *testing.T) {
	_, d, _ := openSQLite(t)
	for q, read := range map[string]bool{
		"SELECT 1": true, "  select 1": true, "(SELECT 1) UNION (SELECT 2)": true,
		"WITH x AS (SELECT 1) SELECT * FROM x": true, "EXPLAIN QUERY PLAN SELECT 1": true,
		"INSERT INTO t (v) VALUES (1) RETURNING rowid": false, "UPDATE t SET v = 1": false,
		"DELETE FROM t": false, "PRAGMA foreign_keys": false,
	} {
		if isRead(q) != read {
			t.Errorf("isRead(%q) = %v", q, !read)
		}
	}
	var rows entsql.Rows
	err := d.reader.Query(context.Background(), "INSERT INTO t (v) VALUES (1) RETURNING v", []any{}, &rows)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		t.Fatal("a reader wrote")
	}
	// Through the driver the same statement goes to the writer.
	if err := d.Query(context.Background(), "INSERT INTO t (v) VALUES (1) RETURNING v", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if n := count(t, d); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// TestSQLitePingBesideWrite: the readiness check answers while a transaction holds the
// writer's one connection (a long write is no outage).
func TestSQLitePingBesideWrite(t *testing.T) {
	db, d, _ := openSQLite(t)
	held, _ := d.Tx(context.Background())
	exec(t, held, "INSERT INTO t (v) VALUES (1)")
	defer held.Rollback()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping while the writer is held: %v", err)
	}
}
