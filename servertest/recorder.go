package servertest

import (
	"context"
	"database/sql"
	"sync"

	"entgo.io/ent/dialect"
)

// Recorder is a database driver that keeps the statements matching Match that run
// between Start and Stop, in transactions too; benchmarks explain them afterwards.
// Install it with portico.Config.WrapDriver:
//
//	rec := &servertest.Recorder{Match: …}
//	cfg.WrapDriver = rec.Wrap
type Recorder struct {
	dialect.Driver
	Match func(query string) bool

	mu        sync.Mutex
	recording bool
	got       []Statement
}

// Statement is a recorded statement with its arguments.
type Statement struct {
	Query string
	Args  []any
}

// Wrap makes r record what d runs.
func (r *Recorder) Wrap(d dialect.Driver) dialect.Driver {
	r.Driver = d
	return r
}

// Start begins recording, forgetting what was recorded before.
func (r *Recorder) Start() { r.mu.Lock(); r.recording, r.got = true, nil; r.mu.Unlock() }

// Stop ends recording and returns the statements recorded.
func (r *Recorder) Stop() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recording = false
	return r.got
}

// Query records and runs a statement.
func (r *Recorder) Query(ctx context.Context, query string, args, v any) error {
	r.record(query, args)
	return r.Driver.Query(ctx, query, args, v)
}

func (r *Recorder) record(query string, args any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recording && r.Match(query) {
		argv, _ := args.([]any)
		r.got = append(r.got, Statement{query, argv})
	}
}

// BeginTx starts a transaction whose statements are recorded too.
func (r *Recorder) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := r.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
	return &recordingTx{Tx: tx, r: r}, err
}

type recordingTx struct {
	dialect.Tx
	r *Recorder
}

func (t *recordingTx) Query(ctx context.Context, query string, args, v any) error {
	t.r.record(query, args)
	return t.Tx.Query(ctx, query, args, v)
}

func (t *recordingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}).ExecContext(ctx, query, args...)
}
