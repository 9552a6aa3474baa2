package database

import (
	"context"
	"database/sql"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	lru "github.com/hashicorp/golang-lru/v2"
)

// maxStatements bounds the prepared statements kept per pool (each is prepared on a
// connection the first time it runs there).
const maxStatements = 512

// preparedReads is an ent driver whose reads outside transactions run as prepared
// statements: PostgreSQL then skips parsing and, once it settles on a generic plan,
// planning, and lib/pq needs one round trip instead of two. Writes and transactions go
// through the plain driver.
type preparedReads struct {
	*entsql.Driver
	db    *sql.DB
	stmts *lru.Cache[string, *sql.Stmt]
}

// PreparedReads wraps the driver over db so that its reads outside transactions are
// prepared once and reused.
func PreparedReads(drv *entsql.Driver, db *sql.DB) dialect.Driver {
	stmts, _ := lru.NewWithEvict(maxStatements, func(_ string, s *sql.Stmt) { s.Close() })
	return &preparedReads{Driver: drv, db: db, stmts: stmts}
}

// Query runs query as a prepared statement.
func (d *preparedReads) Query(ctx context.Context, query string, args, v any) error {
	rows, ok := v.(*entsql.Rows)
	if !ok {
		return fmt.Errorf("prepared read: invalid rows type %T", v)
	}
	argv, ok := args.([]any)
	if !ok {
		return fmt.Errorf("prepared read: invalid args type %T", args)
	}
	stmt, ok := d.stmts.Get(query)
	if !ok {
		var err error
		if stmt, err = d.db.PrepareContext(ctx, query); err != nil {
			return err
		}
		if prev, loaded, _ := d.stmts.PeekOrAdd(query, stmt); loaded {
			stmt.Close()
			stmt = prev
		}
	}
	r, err := stmt.QueryContext(ctx, argv...)
	if err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: r}
	return nil
}
