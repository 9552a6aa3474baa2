package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrBusy is the error of a write that could not get the database in time: SQLite's
// SQLITE_BUSY, or WriteWait spent in the writer's queue. Nothing was written; the
// request may be sent again. errors.Is(err, ErrBusy) finds it under any wrapping.
var ErrBusy = errors.New("the database is busy; try again")

// WriteWait bounds how long a write waits for SQLite's writer before it fails with
// ErrBusy. The queue is milliseconds deep on a machine with CPU to spare; at 17 times
// more runnable work than cores, 64 clients saw waits of 35 s (a transaction holding
// the writer gets its share of the CPU like any request), and 30 s failed one. Two
// minutes outlasts the clients' own timeouts; a client that gives up leaves the queue.
const WriteWait = 2 * time.Minute

// busyTimeout is SQLite's own wait for a lock another connection holds (ms): readers
// during a checkpoint, or another process such as a `portico import` beside the server.
const busyTimeout = 10000

// sqliteDriver is the ent driver over a SQLite file. SQLite lets one connection write
// at a time; a pool of writers only makes them fight over the lock, and a deferred
// transaction that reads and then writes fails at once with SQLITE_BUSY, whatever the
// busy timeout (the review's logins failed so, and a transaction holding the lock while
// it waited for a pool connection stalled every request for 10 s). So:
//   - every transaction runs on the one writer connection, queued first come first
//     served (channel waiters are woken in order; database/sql picks a random waiter),
//     and starts (BEGIN IMMEDIATE) at its first statement: a mutation that never touches
//     the database, such as login, never queues;
//   - reads outside transactions run on a pool of read-only connections beside it,
//     which in WAL mode see the last commit and never wait for the writer;
//   - writes outside transactions (single statements) queue for the writer too.
type sqliteDriver struct {
	writer *entsql.Driver // MaxOpenConns(1), BEGIN IMMEDIATE
	reader *entsql.Driver // query_only connections
	queue  *writerQueue   // of one writer, waits at most WriteWait
}

func newSQLiteDriver(writer, reader *sql.DB) *sqliteDriver {
	return &sqliteDriver{
		writer: entsql.OpenDB(dialect.SQLite, writer),
		reader: entsql.OpenDB(dialect.SQLite, reader),
		queue:  newWriterQueue(1, WriteWait),
	}
}

// sqliteReaders is the size of SQLite's read pool: its reads are CPU work in this
// process.
func sqliteReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// Dialect returns SQLite.
func (d *sqliteDriver) Dialect() string { return dialect.SQLite }

// Close closes both pools.
func (d *sqliteDriver) Close() error { return errors.Join(d.reader.Close(), d.writer.Close()) }

// Exec runs a write on the writer, in its turn.
func (d *sqliteDriver) Exec(ctx context.Context, query string, args, v any) error {
	if err := d.queue.take(ctx); err != nil {
		return err
	}
	defer d.queue.release()
	return busy(d.writer.Exec(ctx, query, args, v))
}

// Query runs a read on a reader, anything else (INSERT … RETURNING) on the writer in
// its turn, which lasts until the rows are closed.
func (d *sqliteDriver) Query(ctx context.Context, query string, args, v any) error {
	if isRead(query) {
		return busy(d.reader.Query(ctx, query, args, v))
	}
	if err := d.queue.take(ctx); err != nil {
		return err
	}
	if err := d.writer.Query(ctx, query, args, v); err != nil {
		d.queue.release()
		return busy(err)
	}
	rows := v.(*entsql.Rows) // the writer's Query checked it
	rows.ColumnScanner = releasing{rows.ColumnScanner, sync.OnceFunc(d.queue.release)}
	return nil
}

// releasing frees the writer when its rows are closed.
type releasing struct {
	entsql.ColumnScanner
	release func()
}

func (r releasing) Close() error {
	defer r.release()
	return r.ColumnScanner.Close()
}

// ExecContext is Exec for ent's generated client.ExecContext.
func (d *sqliteDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := d.queue.take(ctx); err != nil {
		return nil, err
	}
	defer d.queue.release()
	r, err := d.writer.ExecContext(ctx, query, args...)
	return r, busy(err)
}

// QueryContext is Query for ent's generated client.QueryContext, for reads: a write
// through it would wait for the writer's connection outside the queue.
func (d *sqliteDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	on := d.writer
	if isRead(query) {
		on = d.reader
	}
	r, err := on.QueryContext(ctx, query, args...)
	return r, busy(err)
}

// Tx returns a write transaction.
func (d *sqliteDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx returns a write transaction, which takes the writer at its first statement,
// or for opts.ReadOnly a read transaction on a reader (one snapshot, no writer).
func (d *sqliteDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if opts != nil && opts.ReadOnly {
		tx, err := d.reader.BeginTx(ctx, opts)
		return tx, busy(err)
	}
	return d.queue.tx(ctx, opts, d.writer.BeginTx), nil
}

// isRead reports whether a statement only reads: it starts with SELECT, WITH or
// EXPLAIN. Readers are query_only, so one that writes after all fails loudly.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	for _, kw := range []string{"SELECT", "WITH", "EXPLAIN"} {
		if len(q) >= len(kw) && strings.EqualFold(q[:len(kw)], kw) {
			return true
		}
	}
	return false
}

// busy marks SQLite's SQLITE_BUSY (and its extended codes) as ErrBusy.
func busy(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}
