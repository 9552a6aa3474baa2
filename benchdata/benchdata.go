// Package benchdata fills an empty Portico database with the data set of the task-list
// benchmark: 10,000 users, a six-level tree of 2,000 roles with member-role links,
// 200,000 cases and 1,000,000 tasks with their responsibles, plus the user "bench"
// (password "bench") who sees about 12,000 tasks through about 20 effective roles and the
// user "small" (password "bench") whose one role, SmallRole, is responsible for about 100.
// Tasks and cases carry custom fields (region, amount; region, customer).
//
// Everything derives from Options.Seed; Options.Scale shrinks the data set for tests.
// On PostgreSQL the big tables are loaded with COPY, on SQLite with multi-row INSERTs,
// in one transaction either way, with explicit ids inside each table's global-id range.
package benchdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/bootstrap"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/policy"
)

// BenchUser is the name, and the password, of the user the benchmark logs in as.
const BenchUser = "bench"

// SmallUser is the name of the user with one role that sees about 100 tasks (scaled).
const SmallUser = "small"

// SmallRole is the name of SmallUser's role, under Everybody.
const SmallRole = "bench-small"

// Password is the password of every generated user, bench included.
const Password = "bench"

// IDStarts are the first ids of the tables Generate fills: each ent type owns the id range
// [start, start+1<<32) (ent/internal/globalid.go). Node ids outside it do not resolve.
var IDStarts = map[string]int64{
	"cases":             0,
	"roles":             4 << 32,
	"tasks":             6 << 32,
	"task_responsibles": 7 << 32,
	"users":             8 << 32,
}

// Options configure Generate and Run.
type Options struct {
	Seed          uint64       // random seed; 0 means 1
	Scale         float64      // multiplies every count (with small minimums); 0 means 1.0
	AdminPassword string       // Run: admin password of an empty database; "" means "admin"
	Logger        *slog.Logger // progress messages; nil means none
}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.AdminPassword == "" {
		o.AdminPassword = "admin"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Counts are the sizes of the data set at some scale.
type Counts struct {
	Users       int // generated users besides bench
	Roles       int // roles below Everybody
	MemberLinks int // member-role links between top-level branches
	Cases       int
	Tasks       int
	SmallTasks  int // tasks SmallRole is responsible for
}

// Counts returns the sizes Generate produces for the options' scale.
func (o Options) Counts() Counts {
	o = o.withDefaults()
	n := func(full, least int) int { return max(least, int(math.Round(float64(full)*o.Scale))) }
	return Counts{
		Users:       n(10_000, 10),
		Roles:       n(2_000, 30),
		MemberLinks: n(40, 2),
		Cases:       n(200_000, 10),
		Tasks:       n(1_000_000, 50),
		SmallTasks:  n(100, 5),
	}
}

// Targets of the bench user: effective roles and visible tasks at scale 1.
const (
	targetEffectiveRoles = 20
	targetVisibleShare   = 12_000.0 / 1_000_000
)

// Summary reports what Generate wrote.
type Summary struct {
	Users               int // users written, bench and small included (the admin is not counted)
	Roles               int // roles written, SmallRole included (Everybody is not counted)
	MemberLinks         int
	UserRoles           int
	Cases               int
	Tasks               int
	Responsibles        int
	BenchUser           string
	BenchDirectRoles    int
	BenchEffectiveRoles int // its roles, their ancestors and linked holders, Everybody included
	BenchVisibleTasks   int // tasks whose responsibles include bench or an effective role
	SmallUser           string
	SmallVisibleTasks   int // tasks of SmallRole: the tasks small sees
	Elapsed             time.Duration
}

// LogValue lets a Summary be logged as one group.
func (s Summary) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("users", s.Users), slog.Int("roles", s.Roles), slog.Int("memberLinks", s.MemberLinks),
		slog.Int("userRoles", s.UserRoles), slog.Int("cases", s.Cases), slog.Int("tasks", s.Tasks),
		slog.Int("responsibles", s.Responsibles), slog.String("benchUser", s.BenchUser),
		slog.Int("benchDirectRoles", s.BenchDirectRoles), slog.Int("benchEffectiveRoles", s.BenchEffectiveRoles),
		slog.Int("benchVisibleTasks", s.BenchVisibleTasks), slog.String("smallUser", s.SmallUser),
		slog.Int("smallVisibleTasks", s.SmallVisibleTasks), slog.Duration("elapsed", s.Elapsed))
}

// Run opens and migrates the database at dbURL, refuses it if it already has tasks,
// prepares it (Everybody, admin) and generates the data set, logging the Summary.
func Run(ctx context.Context, dbURL string, opts Options, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if opts.Logger == nil {
		opts.Logger = log
	}
	opts = opts.withDefaults()
	db, err := database.Open(ctx, dbURL, database.Options{}, log)
	if err != nil {
		return err
	}
	defer db.Close()
	var hasTasks bool
	if err := db.SQL.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM tasks)").Scan(&hasTasks); err != nil {
		return fmt.Errorf("check for tasks: %w", err)
	}
	if hasTasks {
		return errors.New("the database already has tasks: benchmark data needs an empty database")
	}
	if _, err := bootstrap.Ensure(policy.SystemContext(ctx), db.Client, opts.AdminPassword, false); err != nil {
		return err
	}
	sum, err := Generate(ctx, db, opts)
	if err != nil {
		return err
	}
	log.Info("benchmark data generated", "summary", sum)
	return nil
}

// Generate fills db, migrated and prepared by bootstrap.Ensure but otherwise empty, with
// the data set of opts. It returns what it wrote and the bench user's numbers as the
// database computes them.
func Generate(ctx context.Context, db *database.DB, opts Options) (*Summary, error) {
	opts = opts.withDefaults()
	began := time.Now()
	g := &gen{
		rng: rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15)),
		// A stream of its own for descriptions and custom fields, so that adding them
		// left the rest of the data set as it was.
		extra: rand.New(rand.NewPCG(opts.Seed, 0x2545f4914f6cdd1d)),
		c:     opts.Counts(),
		now:   time.Now().UTC().Truncate(time.Second),
		log:   opts.Logger,
		pg:    db.Dialect == dialect.Postgres,
		d:     db.Dialect,
	}
	if err := g.prepare(ctx, db.SQL); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(Password)
	if err != nil {
		return nil, err
	}
	g.hash = hash
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var s sink = &insertSink{tx: tx}
	if g.pg {
		s = &copySink{tx: tx}
	}
	sum, err := g.write(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if err := g.finish(ctx, db.SQL); err != nil {
		return nil, err
	}
	eff, vis, err := BenchNumbers(ctx, db.SQL, db.Dialect, g.userID(g.c.Users))
	if err != nil {
		return nil, err
	}
	if eff != g.benchEff || vis != g.benchVis {
		return nil, fmt.Errorf("bench user: the database counts %d effective roles and %d visible tasks, the generator %d and %d",
			eff, vis, g.benchEff, g.benchVis)
	}
	sum.BenchEffectiveRoles, sum.BenchVisibleTasks = eff, vis
	_, vis, err = BenchNumbers(ctx, db.SQL, db.Dialect, g.userID(g.c.Users+1))
	if err != nil {
		return nil, err
	}
	if vis != g.c.SmallTasks {
		return nil, fmt.Errorf("small user: the database counts %d visible tasks, the generator wrote %d", vis, g.c.SmallTasks)
	}
	sum.SmallVisibleTasks = vis
	sum.Elapsed = time.Since(began)
	return sum, nil
}

// BenchNumbers returns, as the database computes them, the number of effective roles of a
// user (its roles and Everybody, then every role reached through parents and member
// links) and the number of tasks it sees through those roles or by name.
func BenchNumbers(ctx context.Context, db *sql.DB, d string, userID int64) (effective, visible int, err error) {
	q := `WITH RECURSIVE edges(src, dst) AS (
	SELECT id, parent_id FROM roles WHERE parent_id IS NOT NULL
	UNION ALL
	SELECT member_of_id, role_id FROM role_members
), eff(id) AS (
	SELECT role_id FROM user_roles WHERE user_id = ?
	UNION
	SELECT id FROM roles WHERE parent_id IS NULL AND name = ?
	UNION
	SELECT edges.dst FROM edges JOIN eff ON edges.src = eff.id
)
SELECT (SELECT COUNT(*) FROM eff),
	(SELECT COUNT(DISTINCT task_id) FROM task_responsibles
	 WHERE expiry = ? AND (user_id = ? OR role_id IN (SELECT id FROM eff)))`
	err = db.QueryRowContext(ctx, rebind(d, q), userID, policy.EverybodyName, false, userID).Scan(&effective, &visible)
	if err != nil {
		return 0, 0, fmt.Errorf("count the bench user's roles and tasks: %w", err)
	}
	return effective, visible, nil
}

// rebind turns ? placeholders into PostgreSQL's $n.
func rebind(d, q string) string {
	if d != dialect.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// prepare checks that db is empty but prepared, and finds the ids to continue from.
func (g *gen) prepare(ctx context.Context, db *sql.DB) error {
	err := db.QueryRowContext(ctx, rebind(g.d, "SELECT id FROM roles WHERE parent_id IS NULL AND name = ?"), policy.EverybodyName).Scan(&g.everybody)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("no Everybody role: run bootstrap.Ensure first")
	}
	if err != nil {
		return fmt.Errorf("find Everybody: %w", err)
	}
	for _, t := range []string{"cases", "tasks"} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return fmt.Errorf("count %s: %w", t, err)
		}
		if n > 0 {
			return fmt.Errorf("the database already has %d %s: benchmark data needs an empty database", n, t)
		}
	}
	g.base = map[string]int64{}
	for t, start := range IDStarts {
		var last sql.NullInt64
		if err := db.QueryRowContext(ctx, "SELECT MAX(id) FROM "+t).Scan(&last); err != nil {
			return fmt.Errorf("find the last id of %s: %w", t, err)
		}
		g.base[t] = max(last.Int64, start) + 1
	}
	return nil
}

// finish makes later inserts continue after the generated ids and refreshes statistics.
// SQLite's AUTOINCREMENT sequence follows explicit ids by itself.
func (g *gen) finish(ctx context.Context, db *sql.DB) error {
	g.log.Info("bench data: analyzing")
	if !g.pg {
		_, err := db.ExecContext(ctx, "ANALYZE")
		return err
	}
	for t := range IDStarts {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), MAX(id)) FROM %s", t, t)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("set the id sequence of %s: %w", t, err)
		}
	}
	// VACUUM as well as ANALYZE: it sets the visibility map (index-only scans) the way
	// autovacuum would on a settled database, so benchmarks do not depend on its timing.
	for _, t := range []string{"users", "roles", "role_members", "user_roles", "cases", "tasks", "task_responsibles"} {
		if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	return nil
}
