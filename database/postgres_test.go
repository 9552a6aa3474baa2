package database

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"
)

// openPostgres opens a new migrated PostgreSQL database (on PORTICO_TEST_POSTGRES, as
// servertest does) whose pools hold one connection each, with a scratch table t.
func openPostgres(t *testing.T) (*DB, *postgresDriver) {
	t.Helper()
	server := os.Getenv("PORTICO_TEST_POSTGRES")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := sql.Open("postgres", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("portico_test_%d", rand.Uint64())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database (is PostgreSQL running?): %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := Open(context.Background(), u.String(), Options{MaxConns: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := db.Driver.(*postgresDriver)
	exec(t, d, "CREATE TABLE t (seq bigserial, v integer)")
	return db, d
}

// TestPostgresReadBesideTransaction: with one writer and one reader, a transaction that
// holds the writer can still read outside itself (login's user, the list index's sync),
// and sees the last commit there; a transaction that has run nothing holds no writer.
func TestPostgresReadBesideTransaction(t *testing.T) {
	_, d := openPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	idle, err := d.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, _ := d.Tx(ctx)
	exec(t, held, "INSERT INTO t (v) VALUES (1)")
	if n := count(t, d); n != 0 {
		t.Fatalf("a read beside the open transaction sees %d rows, want 0", n)
	}
	if n := count(t, held); n != 1 {
		t.Fatalf("the transaction sees %d rows, want 1", n)
	}
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d); n != 1 {
		t.Fatalf("%d rows after the commit, want 1", n)
	}
}

// TestPostgresReadersAreReadOnly: a write sent to the readers fails instead of taking
// locks; through the driver the same statement goes to a writer.
func TestPostgresReadersAreReadOnly(t *testing.T) {
	_, d := openPostgres(t)
	ctx := context.Background()
	if _, err := d.readers.ExecContext(ctx, "INSERT INTO t (v) VALUES (1)"); err == nil {
		t.Fatal("a reader wrote")
	}
	var rows entsql.Rows
	if err := d.Query(ctx, "INSERT INTO t (v) VALUES (1) RETURNING v", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if n := count(t, d); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// TestPostgresTransactionsRunPrepared: a statement with arguments that a transaction
// runs for the first time runs as sent, and is prepared in the background (with the
// only writer held by that transaction: preparing must not wait for it); from then on
// transactions run it prepared, on their own connection.
func TestPostgresTransactionsRunPrepared(t *testing.T) {
	_, d := openPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const insert = "INSERT INTO t (v) VALUES ($1)"
	// runs counts the insert's prepared executions on the connection of tx.
	runs := func(tx dialect.ExecQuerier) int {
		return queryInt(t, tx, "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements WHERE statement = $1", insert)
	}
	first, _ := d.Tx(ctx)
	exec(t, first, insert, 1)
	if n := runs(first); n != 0 {
		t.Fatalf("the first run was prepared (%d prepared runs)", n)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	for !d.writes.cache.Contains(insert) {
		select {
		case <-ctx.Done():
			t.Fatal("the statement was never prepared")
		case <-time.After(10 * time.Millisecond):
		}
	}
	for v := 2; v <= 3; v++ {
		tx, _ := d.Tx(ctx)
		exec(t, tx, insert, v)
		if n := runs(tx); n != v-1 {
			t.Fatalf("after run %d: %d prepared runs of the insert, want %d", v, n, v-1)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, d); n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
}

// TestPostgresReadersBindArguments: the readers send arguments with their statement
// (binary_parameters); every kind of argument the reads bind still arrives as meant,
// hostile text included, and bytes arrive as bytea.
func TestPostgresReadersBindArguments(t *testing.T) {
	_, d := openPostgres(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 23, 30, 0, 123000, time.UTC)
	hostile := `') OR 1=1 -- "x" \ é`
	raw := []byte{0xff, 0x00, '\'', 0x80}
	var (
		n      int64
		text   string
		when   time.Time
		bytes  []byte
		inList bool
	)
	err := d.readers.QueryRowContext(ctx, `SELECT $1::bigint + 1, $2::text, $3::timestamptz, $4::bytea, 7 = ANY($5::bigint[])`,
		int64(41), hostile, at, raw, pq.Array([]int64{1, 7, 9})).Scan(&n, &text, &when, &bytes, &inList)
	if err != nil {
		t.Fatal(err)
	}
	if n != 42 || text != hostile || !when.Equal(at) || string(bytes) != string(raw) || !inList {
		t.Errorf("got %d %q %v %x %v", n, text, when, bytes, inList)
	}
}

// TestPostgresReadsRunPrepared: DB.Reads runs a read as the readers' prepared statement,
// from the cache ent's reads use: run twice, it is executed prepared twice, and the
// cache knows it.
func TestPostgresReadsRunPrepared(t *testing.T) {
	db, d := openPostgres(t)
	ctx := context.Background()
	const read = "SELECT count(*) FROM t WHERE v > $1"
	for range 2 {
		rows, err := db.Reads().QueryContext(ctx, read, 0)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if !d.reads.cache.Contains(read) {
		t.Error("the read is not in the readers' statement cache")
	}
	var runs int
	// The readers' pool holds one connection: the one that ran the read.
	if err := d.readers.QueryRowContext(ctx, "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements WHERE statement = $1", read).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Errorf("the read ran prepared %d times, want 2", runs)
	}
}
