package tracing

import (
	"context"
	"database/sql"
	"fmt"

	"entgo.io/ent/dialect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Driver wraps an ent driver so that each statement is a span (the statement's text,
// which holds placeholders, never the values), in transactions too.
func Driver(d dialect.Driver, tp trace.TracerProvider) dialect.Driver {
	return &driver{Driver: d, t: tp.Tracer(scope)}
}

type driver struct {
	dialect.Driver
	t trace.Tracer
}

func span(ctx context.Context, t trace.Tracer, system, query string) (context.Context, trace.Span) {
	return t.Start(ctx, "sql", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system", system), attribute.String("db.statement", query)))
}

func end(s trace.Span, err error) {
	if err != nil {
		s.SetStatus(codes.Error, err.Error())
	}
	s.End()
}

func (d *driver) Exec(ctx context.Context, query string, args, v any) error {
	ctx, s := span(ctx, d.t, d.Dialect(), query)
	err := d.Driver.Exec(ctx, query, args, v)
	end(s, err)
	return err
}

func (d *driver) Query(ctx context.Context, query string, args, v any) error {
	ctx, s := span(ctx, d.t, d.Dialect(), query)
	err := d.Driver.Query(ctx, query, args, v)
	end(s, err)
	return err
}

func (d *driver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx begins a transaction of the wrapped driver (with options when it takes them).
func (d *driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	var tx dialect.Tx
	var err error
	if b, ok := d.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	}); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else if opts == nil {
		tx, err = d.Driver.Tx(ctx)
	} else {
		return nil, fmt.Errorf("the database driver takes no transaction options")
	}
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, d: d}, nil
}

// ExecContext and QueryContext pass ent's raw statements on (tracing them too).
func (d *driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	e, ok := d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, fmt.Errorf("the database driver has no ExecContext")
	}
	ctx, s := span(ctx, d.t, d.Dialect(), query)
	r, err := e.ExecContext(ctx, query, args...)
	end(s, err)
	return r, err
}

func (d *driver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, ok := d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("the database driver has no QueryContext")
	}
	ctx, s := span(ctx, d.t, d.Dialect(), query)
	r, err := q.QueryContext(ctx, query, args...)
	end(s, err)
	return r, err
}

type txn struct {
	dialect.Tx
	d *driver
}

func (t *txn) Exec(ctx context.Context, query string, args, v any) error {
	ctx, s := span(ctx, t.d.t, t.d.Dialect(), query)
	err := t.Tx.Exec(ctx, query, args, v)
	end(s, err)
	return err
}

func (t *txn) Query(ctx context.Context, query string, args, v any) error {
	ctx, s := span(ctx, t.d.t, t.d.Dialect(), query)
	err := t.Tx.Query(ctx, query, args, v)
	end(s, err)
	return err
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	e, ok := t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, fmt.Errorf("the database transaction has no ExecContext")
	}
	ctx, s := span(ctx, t.d.t, t.d.Dialect(), query)
	r, err := e.ExecContext(ctx, query, args...)
	end(s, err)
	return r, err
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, ok := t.Tx.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("the database transaction has no QueryContext")
	}
	ctx, s := span(ctx, t.d.t, t.d.Dialect(), query)
	r, err := q.QueryContext(ctx, query, args...)
	end(s, err)
	return r, err
}
