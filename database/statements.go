package database

import (
	"context"
	"database/sql"
	"sync"

	entsql "entgo.io/ent/dialect/sql"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/portico-dev/portico/cachestats"
)

// maxStatements bounds the prepared statements kept per pool (each is prepared on a
// connection the first time it runs there).
const maxStatements = 512

// statements are one PostgreSQL pool's prepared statements, by query text. A prepared
// statement runs in one round trip (lib/pq sends an unprepared statement with arguments
// as a parse, then a bind: two), and PostgreSQL skips parsing it and, once it settles on
// a generic plan, planning it. A startProcess runs about a dozen statements in its
// transaction, so this halves its round trips.
type statements struct {
	pool    *sql.DB
	cache   *lru.Cache[string, *sql.Stmt]
	lookups *cachestats.Counter // shared by a driver's two pools

	mu      sync.Mutex
	pending map[string]bool // being prepared for transactions
}

func newStatements(pool *sql.DB, lookups *cachestats.Counter) *statements {
	c, _ := lru.NewWithEvict(maxStatements, func(_ string, s *sql.Stmt) { s.Close() })
	return &statements{pool: pool, cache: c, lookups: lookups, pending: map[string]bool{}}
}

// get returns the statement of query, preparing it on a connection of the pool first
// when it is new. Only for callers that hold no connection of the pool: preparing
// takes one.
func (s *statements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, ok := s.cache.Get(query)
	s.lookups.Record(ok)
	if ok {
		return stmt, nil
	}
	return s.prepare(ctx, query)
}

// prepare prepares query on a connection of the pool and keeps it, unless another
// caller kept one first.
func (s *statements) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if stmt, ok := s.cache.Peek(query); ok {
		return stmt, nil
	}
	stmt, err := s.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded, _ := s.cache.PeekOrAdd(query, stmt); loaded {
		stmt.Close()
		stmt = prev
	}
	return stmt, nil
}

// prepareLater prepares query in the background for the transactions that run it
// next. A transaction holds a connection of the pool and must not wait for another
// (with every connection held by such transactions none would ever come).
func (s *statements) prepareLater(query string) {
	s.mu.Lock()
	if s.pending[query] {
		s.mu.Unlock()
		return
	}
	s.pending[query] = true
	s.mu.Unlock()
	go func() {
		// A failure (a closed pool, a statement that cannot be prepared alone) leaves
		// the query to run unprepared; its transaction already saw any real error.
		_, _ = s.prepare(context.Background(), query)
		s.mu.Lock()
		delete(s.pending, query)
		s.mu.Unlock()
	}()
}

// inTx returns what runs a transaction's statements: those with arguments as the
// pool's prepared statements once prepared (on the transaction's connection, by
// database/sql, the first time they run there), the others as sent.
func (s *statements) inTx(tx *sql.Tx) entsql.ExecQuerier { return preparedTx{tx: tx, stmts: s} }

type preparedTx struct {
	tx    *sql.Tx
	stmts *statements
}

// stmt returns the transaction's statement of query, or nil to run it as sent.
func (p preparedTx) stmt(ctx context.Context, query string, args []any) *sql.Stmt {
	if len(args) == 0 {
		return nil // lib/pq sends it in one round trip already
	}
	stmt, ok := p.stmts.cache.Get(query)
	p.stmts.lookups.Record(ok)
	if !ok {
		p.stmts.prepareLater(query)
		return nil
	}
	return p.tx.StmtContext(ctx, stmt)
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := p.stmt(ctx, query, args); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := p.stmt(ctx, query, args); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}
