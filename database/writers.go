package database

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// writerQueue hands the writers' connections to transactions in order of arrival (a
// channel serves its blocked senders first come, first served). database/sql wakes a
// random waiter instead, which under load left some transactions waiting while later
// ones went first (TestHostileConcurrentMix on PostgreSQL, 8 writers: write p99 2.2–2.5 s
// at random, 1.7 s in order).
type writerQueue struct {
	tokens  chan struct{} // one per transaction holding a writer
	wait    time.Duration // the longest wait, then ErrBusy; 0: until the context ends
	waiting atomic.Int32  // transactions in the queue
}

func newWriterQueue(writers int, wait time.Duration) *writerQueue {
	return &writerQueue{tokens: make(chan struct{}, max(1, writers)), wait: wait}
}

// take waits for a writer, in order of arrival.
func (q *writerQueue) take(ctx context.Context) error {
	select {
	case q.tokens <- struct{}{}:
		return nil
	default:
	}
	q.waiting.Add(1)
	defer q.waiting.Add(-1)
	var expired <-chan time.Time
	if q.wait > 0 {
		t := time.NewTimer(q.wait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case q.tokens <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return fmt.Errorf("%w: waited %v for the writer", ErrBusy, q.wait)
	}
}

func (q *writerQueue) release() { <-q.tokens }

// beginFunc begins a transaction on a writer.
type beginFunc func(context.Context, *sql.TxOptions) (dialect.Tx, error)

// tx returns a write transaction that takes a writer from q at its first statement and
// begins there.
func (q *writerQueue) tx(ctx context.Context, opts *sql.TxOptions, begin beginFunc) *lazyTx {
	return &lazyTx{ctx: ctx, opts: opts, q: q, beginTx: begin}
}

// lazyTx is a write transaction that takes its connection and begins at its first
// statement, on both databases: a mutation that writes nothing (login, which spends its
// time checking a password) never holds a writer, and one that computes before it writes
// holds it only from then on. SQLite's writer is one connection, PostgreSQL's writers a
// pool; on both they are taken in turn (writerQueue).
type lazyTx struct {
	ctx     context.Context // BeginTx's: database/sql ends the transaction with it
	opts    *sql.TxOptions
	q       *writerQueue
	beginTx beginFunc // on a writer

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
	if err := t.q.take(t.ctx); err != nil {
		return nil, err
	}
	tx, err := t.beginTx(t.ctx, t.opts)
	if err != nil {
		t.q.release()
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
	defer t.q.release()
	return busy(f(t.tx))
}
