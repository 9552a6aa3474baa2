package benchdata

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// rowFunc writes one row, its values in the order of the table's columns.
type rowFunc func(values ...any) error

// sink writes rows into tables of one transaction.
type sink interface {
	open(ctx context.Context, table string, cols []string) (rowFunc, func() error, error)
}

// table writes the rows fill produces into a table of the sink.
func table(ctx context.Context, s sink, name string, cols []string, fill func(rowFunc) error) error {
	row, done, err := s.open(ctx, name, cols)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := fill(row); err != nil {
		_ = done()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := done(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func quoted(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"`
	}
	return strings.Join(q, ", ")
}

// copySink streams rows with PostgreSQL's COPY FROM STDIN (lib/pq's CopyIn protocol: a
// prepared COPY statement executed once per row and once without arguments to finish).
type copySink struct{ tx *sql.Tx }

func (s *copySink) open(ctx context.Context, table string, cols []string) (rowFunc, func() error, error) {
	stmt, err := s.tx.PrepareContext(ctx, fmt.Sprintf(`COPY %q (%s) FROM STDIN`, table, quoted(cols)))
	if err != nil {
		return nil, nil, err
	}
	row := func(v ...any) error {
		_, err := stmt.ExecContext(ctx, v...)
		return err
	}
	done := func() error {
		_, err := stmt.ExecContext(ctx)
		if cerr := stmt.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return row, done, nil
}

// insertSink writes rows with multi-row INSERTs (SQLite).
type insertSink struct{ tx *sql.Tx }

func (s *insertSink) open(ctx context.Context, table string, cols []string) (rowFunc, func() error, error) {
	per := max(1, min(500, 30000/len(cols))) // rows per statement, within SQLite's variable limit
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	head := fmt.Sprintf(`INSERT INTO %q (%s) VALUES `, table, quoted(cols))
	var full *sql.Stmt
	args := make([]any, 0, per*len(cols))
	flush := func() error {
		n := len(args) / len(cols)
		if n == 0 {
			return nil
		}
		var err error
		if n == per {
			if full == nil {
				full, err = s.tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(tuple+", ", per), ", "))
				if err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = s.tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", "), args...)
		}
		args = args[:0]
		return err
	}
	row := func(v ...any) error {
		if len(v) != len(cols) {
			return fmt.Errorf("row of %d values for %d columns", len(v), len(cols))
		}
		args = append(args, v...)
		if len(args) == per*len(cols) {
			return flush()
		}
		return nil
	}
	done := func() error {
		err := flush()
		if full != nil {
			if cerr := full.Close(); err == nil {
				err = cerr
			}
		}
		return err
	}
	return row, done, nil
}
