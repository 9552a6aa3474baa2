package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/cachestats"
)

// postgresDriver is the ent driver over PostgreSQL's two pools, the shape of SQLite's
// writer and readers: transactions and writes run on the writers' pool, reads outside
// transactions on the readers'. A request that holds a transaction and reads outside
// it (login's user, the list index's sync) then takes a reader, and a reader waits for
// nothing but its statement, so no request waits for a connection of a pool it holds
// one of. With a single pool of 8, eight mutations each holding a connection and each
// waiting for a second stalled every request for good (CI saw 5-minute hangs in
// TestHostileConcurrentMix; TestOneConnectionPerPool reproduces it with a pool of 1).
//
// Reads and the statements of transactions may also run prepared (statements).
type postgresDriver struct {
	*entsql.Driver                    // the writers: transactions and writes
	readers        *sql.DB            // reads outside transactions
	reader         *entsql.Driver     // over readers, when reads are not prepared
	reads, writes  *statements        // prepared; nil: not prepared
	lookups        cachestats.Counter // of reads' and writes' prepared statements
	queue          *writerQueue       // transactions wait for a writer in order
}

// newPostgresDriver returns the driver over the writers' pool and the readers'; prepare
// runs reads and the statements of transactions prepared (PlainDriver's callers see
// every statement as sent, so it does not).
func newPostgresDriver(pool, readers *sql.DB, prepare bool) *postgresDriver {
	n := pool.Stats().MaxOpenConnections // as many tokens as writers
	if n <= 0 {
		n = writers()
	}
	d := &postgresDriver{Driver: entsql.OpenDB(dialect.Postgres, pool), readers: readers,
		reader: entsql.OpenDB(dialect.Postgres, readers), queue: newWriterQueue(n, 0)}
	if prepare {
		d.reads, d.writes = newStatements(readers, &d.lookups), newStatements(pool, &d.lookups)
	}
	return d
}

// Close closes both pools.
func (d *postgresDriver) Close() error { return errors.Join(d.readers.Close(), d.Driver.Close()) }

// Tx returns a write transaction that takes a writer at its first statement.
func (d *postgresDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx returns a write transaction that takes a writer at its first statement, or
// for opts.ReadOnly a read transaction on a reader (one snapshot).
func (d *postgresDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if opts != nil && opts.ReadOnly {
		return d.reader.BeginTx(ctx, opts)
	}
	return d.queue.tx(ctx, opts, d.begin), nil
}

// begin begins a transaction on a writer.
func (d *postgresDriver) begin(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if d.writes == nil {
		return d.Driver.BeginTx(ctx, opts)
	}
	tx, err := d.DB().BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &entsql.Tx{Conn: entsql.Conn{ExecQuerier: d.writes.inTx(tx)}, Tx: tx}, nil
}

// Query runs a read on a reader, anything else (INSERT … RETURNING) on a writer.
func (d *postgresDriver) Query(ctx context.Context, query string, args, v any) error {
	if !isRead(query) {
		return d.Driver.Query(ctx, query, args, v)
	}
	if d.reads == nil {
		return d.reader.Query(ctx, query, args, v)
	}
	rows, ok := v.(*entsql.Rows)
	if !ok {
		return fmt.Errorf("prepared read: invalid rows type %T", v)
	}
	argv, ok := args.([]any)
	if !ok {
		return fmt.Errorf("prepared read: invalid args type %T", args)
	}
	stmt, err := d.reads.get(ctx, query)
	if err != nil {
		return err
	}
	r, err := stmt.QueryContext(ctx, argv...)
	if err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: r}
	return nil
}

// QueryContext is Query for ent's generated client.QueryContext.
func (d *postgresDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if isRead(query) {
		return d.readers.QueryContext(ctx, query, args...)
	}
	return d.Driver.QueryContext(ctx, query, args...)
}
