package database

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// lazyTx is a write transaction that takes its connection and begins at its first
// statement, on both databases: a mutation that writes nothing (login, which spends its
// time checking a password) never holds a writer, and one that computes before it writes
// holds it only from then on. SQLite's writer is one connection taken in turn;
// PostgreSQL's writers are a pool.
type lazyTx struct {
	ctx  context.Context // BeginTx's: database/sql ends the transaction with it
	opts *sql.TxOptions
	open func(context.Context, *sql.TxOptions) (dialect.Tx, error) // takes a writer and begins
	end  func()                                                    // frees the writer after a begun transaction ends; may be nil

	mu   sync.Mutex
	tx   dialect.Tx // nil until the first statement
	done bool
}

// begin returns the open transaction, beginning it the first time.
func (t *lazyTx) begin() (dialect.Tx, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.done:
		return nil, sql.ErrTxDone
	case t.tx != nil:
		return t.tx, nil
	}
	tx, err := t.open(t.ctx, t.opts)
	if err != nil {
		return nil, busy(fmt.Errorf("begin: %w", err))
	}
	t.tx = tx
	return tx, nil
}

func (t *lazyTx) Exec(ctx context.Context, query string, args, v any) error {
	tx, err := t.begin()
	if err != nil {
		return err
	}
	return busy(tx.Exec(ctx, query, args, v))
}

func (t *lazyTx) Query(ctx context.Context, query string, args, v any) error {
	tx, err := t.begin()
	if err != nil {
		return err
	}
	return busy(tx.Query(ctx, query, args, v))
}

// ExecContext and QueryContext serve ent's generated tx.ExecContext and tx.QueryContext.
func (t *lazyTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := t.begin()
	if err != nil {
		return nil, err
	}
	r, err := tx.(*entsql.Tx).ExecContext(ctx, query, args...)
	return r, busy(err)
}

func (t *lazyTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx, err := t.begin()
	if err != nil {
		return nil, err
	}
	r, err := tx.(*entsql.Tx).QueryContext(ctx, query, args...)
	return r, busy(err)
}

// Commit commits what ran and frees the writer; with nothing run it does nothing.
func (t *lazyTx) Commit() error { return t.finish((dialect.Tx).Commit) }

// Rollback rolls back what ran and frees the writer.
func (t *lazyTx) Rollback() error { return t.finish((dialect.Tx).Rollback) }

func (t *lazyTx) finish(f func(dialect.Tx) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	if t.tx == nil {
		return nil
	}
	if t.end != nil {
		defer t.end()
	}
	return busy(f(t.tx))
}
