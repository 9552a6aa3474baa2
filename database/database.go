// Package database opens Portico's database (embedded SQLite by default, PostgreSQL for
// production), brings its schema up to date and returns the ent client over it.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	_ "github.com/lib/pq"  // PostgreSQL driver "postgres"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/migrations"
)

// DefaultURL is the embedded default: a SQLite file in the working directory.
const DefaultURL = "file:portico.db"

// DB is an open, migrated database.
type DB struct {
	Client *ent.Client
	// Driver is Client's: on PostgreSQL reads run as prepared statements; on SQLite
	// transactions queue for the one writer connection and reads run beside it.
	Driver dialect.Driver
	// SQL is the writers' pool, for transactions and writes: on SQLite its single
	// connection. Reads outside transactions through Driver and Client go to a pool of
	// readers beside it (ReadSQL), on both databases.
	SQL     *sql.DB
	Dialect string
	URL     string // the connection URL (PostgreSQL listeners open their own connection)
	// TimeZone is the sessions' time zone: PostgreSQL's TimeZone setting (UTC unless the
	// URL sets another, see postgresDSN), which date_trunc and to_char work in; "UTC" on
	// SQLite, whose date functions read the stored UTC text.
	TimeZone string

	readers *sql.DB // the read pool
}

// Close closes the database.
func (d *DB) Close() error { return d.Client.Close() }

// Statements counts the lookups of PostgreSQL's prepared statements; nil on SQLite,
// which keeps none.
func (d *DB) Statements() *cachestats.Counter {
	if pg, ok := d.Driver.(*postgresDriver); ok && pg.reads != nil {
		return &pg.lookups
	}
	return nil
}

// Ping checks that the database answers. It asks a reader: SQLite's one writer may be
// busy for a while with a transaction, which is no outage.
func (d *DB) Ping(ctx context.Context) error { return d.readers.PingContext(ctx) }

// PlainDriver returns an ent driver over the database without PostgreSQL's prepared
// reads, for tests that wrap it to see every statement. On SQLite it is Driver.
func (d *DB) PlainDriver() dialect.Driver {
	if d.Dialect == dialect.SQLite {
		return d.Driver
	}
	return newPostgresDriver(d.SQL, d.readers, false)
}

// Options are the operator's settings of the connection pool.
type Options struct {
	// MaxConns bounds each of PostgreSQL's two pools (writers and readers), or SQLite's
	// read pool (its writer is always one connection); 0 keeps the defaults.
	MaxConns int
	// StatementTimeout cancels a PostgreSQL statement that runs longer (its session
	// setting statement_timeout); 0 keeps the server's. SQLite has no such setting.
	StatementTimeout time.Duration
}

// Open connects to rawURL ("" for DefaultURL; postgres:// or postgresql:// for PostgreSQL,
// a SQLite file otherwise: see CheckURL) and applies pending migrations.
func Open(ctx context.Context, rawURL string, opts Options, log *slog.Logger) (*DB, error) {
	if opts.StatementTimeout > 0 {
		var err error
		if rawURL, err = withStatementTimeout(rawURL, opts.StatementTimeout); err != nil {
			return nil, err
		}
	}
	d, db, err := Connect(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 && d == dialect.Postgres { // SQLite's writer stays one
		setPoolSize(db, opts.MaxConns)
	}
	applied, err := migrations.Apply(ctx, db, d, "")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	if len(applied) > 0 {
		log.Info("database migrated", "dialect", d, "applied", applied)
	}
	readers, err := openReaders(rawURL)
	if err != nil {
		db.Close()
		return nil, err
	}
	if opts.MaxConns > 0 {
		setPoolSize(readers, opts.MaxConns)
	}
	var drv dialect.Driver
	zone := "UTC"
	if d == dialect.SQLite {
		drv = newSQLiteDriver(db, readers)
	} else {
		drv = newPostgresDriver(db, readers, true)
		// Every session of the pools gets the same startup parameters from the URL.
		if err := db.QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&zone); err != nil {
			drv.Close()
			return nil, fmt.Errorf("read the session time zone: %w", err)
		}
	}
	return &DB{Client: ent.NewClient(ent.Driver(drv)), Driver: drv, SQL: db, Dialect: d, URL: rawURL, TimeZone: zone, readers: readers}, nil
}

// CheckURL refuses a database URL that is neither PostgreSQL's (postgres://,
// postgresql://) nor plainly a SQLite file: file: or sqlite: URLs, paths with a
// directory, or names ending .db, .sqlite or .sqlite3. A bare host name such as
// pg-host.internal would otherwise silently become a new SQLite file.
func CheckURL(rawURL string) error {
	switch {
	case rawURL == "",
		isPostgres(rawURL),
		strings.HasPrefix(rawURL, "file:"), strings.HasPrefix(rawURL, "sqlite:"):
		return nil
	case strings.Contains(rawURL, "://"):
		scheme, _, _ := strings.Cut(rawURL, "://")
		return fmt.Errorf("database URL scheme %q: use postgres://… for PostgreSQL or a SQLite file (file:portico.db)", scheme)
	}
	path, _, _ := strings.Cut(rawURL, "?")
	ext := strings.ToLower(filepath.Ext(path))
	if strings.ContainsRune(path, '/') || ext == ".db" || ext == ".sqlite" || ext == ".sqlite3" {
		return nil
	}
	return fmt.Errorf("database URL %q is neither a postgres:// URL nor a SQLite file: write postgres://user@%s/dbname for PostgreSQL, or file:%s.db (a name ending .db, .sqlite or .sqlite3, or a path with a /) for SQLite", rawURL, path, path)
}

func isPostgres(rawURL string) bool {
	return strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://")
}

// withStatementTimeout sets PostgreSQL's statement_timeout (in ms) on the URL's sessions
// (lib/pq passes unknown parameters on as session settings) unless the URL sets it.
func withStatementTimeout(rawURL string, d time.Duration) (string, error) {
	if !isPostgres(rawURL) {
		return "", fmt.Errorf("a statement timeout needs PostgreSQL; SQLite statements are bounded by the request's own deadline")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	if !q.Has("statement_timeout") {
		q.Set("statement_timeout", strconv.FormatInt(d.Milliseconds(), 10))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Connect opens the connection pool for rawURL without migrating, and pings it. On
// SQLite that is the writer: one connection, whose transactions begin IMMEDIATE.
func Connect(rawURL string) (string, *sql.DB, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	if err := CheckURL(rawURL); err != nil {
		return "", nil, err
	}
	d, driver, dsn := dialect.SQLite, "sqlite", sqliteDSN(rawURL, false)
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		d, driver, dsn = dialect.Postgres, "postgres", postgresDSN(rawURL, false)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open %s database: %w", d, err)
	}
	if d == dialect.SQLite {
		// One writer at a time is all SQLite allows: more connections would only queue
		// inside SQLite's lock, where a read→write upgrade fails at once (sqliteDriver).
		db.SetMaxOpenConns(1)
	} else {
		setPoolSize(db, writers())
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("connect to %s database: %w", d, err)
	}
	return d, db, nil
}

// openReaders opens the read pool beside the writers: on SQLite query_only connections
// that WAL mode lets read the last commit while the writer writes; on PostgreSQL
// connections whose transactions are read-only, so that a write sent to them fails
// loudly instead of taking row locks a reader would then wait on.
func openReaders(rawURL string) (*sql.DB, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	driver, dsn := "sqlite", sqliteDSN(rawURL, true)
	if isPostgres(rawURL) {
		driver, dsn = "postgres", postgresDSN(rawURL, true)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s readers: %w", driver, err)
	}
	if driver == "postgres" {
		setPoolSize(db, readers())
		db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		setPoolSize(db, sqliteReaders())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s readers: %w", driver, err)
	}
	return db, nil
}

// PostgreSQL's pools' default sizes, a few connections per core each: more only make
// its backends fight for the same cores (measured on 2 cores: one pool of 32 gave 20%
// less throughput than 8). Each gets the size the single pool had: with 4 writers,
// 64 clients' writes queued for seconds (p99 2.7 s against 2.2 s with 8).
func writers() int { return max(8, 4*runtime.GOMAXPROCS(0)) }
func readers() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// setPoolSize keeps n connections open at most, and as many idle: opening one costs a
// PostgreSQL backend or SQLite's pragmas again.
func setPoolSize(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
}

// SQLitePath returns the file of a SQLite database URL: "" for PostgreSQL and for an
// in-memory database.
func SQLitePath(rawURL string) string {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	if isPostgres(rawURL) {
		return ""
	}
	raw := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite://"), "sqlite:")
	path, query, _ := strings.Cut(strings.TrimPrefix(raw, "file:"), "?")
	if q, _ := url.ParseQuery(query); path == "" || path == ":memory:" || q.Get("mode") == "memory" {
		return ""
	}
	return path
}

// sqliteDSN turns a path or file: URL into a modernc DSN with a busy timeout, keeping any
// parameters the caller gave. The writer also turns foreign keys and WAL on and begins
// transactions IMMEDIATE (taking the write lock at BEGIN, never upgrading to it later);
// a reader is query_only.
func sqliteDSN(raw string, reader bool) string {
	raw = strings.TrimPrefix(raw, "sqlite://")
	raw = strings.TrimPrefix(raw, "sqlite:")
	if !strings.HasPrefix(raw, "file:") {
		raw = "file:" + raw
	}
	path, query, _ := strings.Cut(raw, "?")
	q, _ := url.ParseQuery(query)
	pragmas := []string{"foreign_keys(1)", "journal_mode(WAL)"}
	if reader {
		pragmas = []string{"query_only(1)"}
	}
	for _, p := range append(pragmas, fmt.Sprintf("busy_timeout(%d)", busyTimeout)) {
		q.Add("_pragma", p)
	}
	if !reader {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// postgresDSN turns JIT compilation off unless the URL sets it (lib/pq passes unknown
// parameters on as session settings). The visibility predicates carry high cost
// estimates, so PostgreSQL compiled every task-list count: 790 ms of a 1,060 ms query
// at a million tasks (benchdata/EXPLAIN.md), for queries that run in milliseconds.
// Sessions also run in UTC unless the URL says otherwise: times are stored and shown in
// UTC, and chart buckets (date_trunc) then need no per-row time zone conversion.
// A reader's sessions are also read-only (see openReaders), and send a statement's
// arguments with it: lib/pq otherwise parses a statement with arguments in one round
// trip and binds them in a second, so every raw read (the list index's feed read and
// row reads, which each request and each live event wait for) took two. The cost of
// binary_parameters is that a []byte argument goes out as binary, which is right for
// bytea and wrong for jsonb; readers bind no jsonb ([]byte) arguments, and the writers,
// whose ent statements bind JSON as []byte, keep the text protocol (they run prepared,
// one round trip already).
func postgresDSN(raw string, reader bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if reader {
		q.Set("default_transaction_read_only", "on")
		q.Set("binary_parameters", "yes")
	}
	for k, v := range map[string]string{"jit": "off", "timezone": "UTC"} {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ReadSQL returns the pool for plain reads that see the last commit without waiting
// for a writer: the read-only readers beside the writers (on SQLite, WAL mode shows
// them the last commit).
func (d *DB) ReadSQL() *sql.DB { return d.readers }

// Querier runs a read statement.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Reads returns what runs plain read statements on the readers, as ReadSQL does, but
// on PostgreSQL as the readers' prepared statements (the cache ent's reads use): a
// statement run again and again, like the list index's sync, is then neither parsed nor
// planned again.
func (d *DB) Reads() Querier {
	if pg, ok := d.Driver.(*postgresDriver); ok && pg.reads != nil {
		return preparedReads{pg.reads}
	}
	return d.readers
}

// preparedReads runs reads as prepared statements of one pool.
type preparedReads struct{ stmts *statements }

func (p preparedReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := p.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// ExecContext runs one write statement outside a transaction: on SQLite in the
// writer's queue, like every write through Driver; on PostgreSQL on SQL.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if w, ok := d.Driver.(*sqliteDriver); ok {
		return w.ExecContext(ctx, query, args...)
	}
	return d.SQL.ExecContext(ctx, query, args...)
}
