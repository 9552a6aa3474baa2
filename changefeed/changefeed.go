// Package changefeed tells an in-memory read model of the task and case lists which
// tasks and cases changed since it last looked, on SQLite and on PostgreSQL, whatever
// wrote them and on whichever server: every change committed before a Read is reported
// by it or an earlier one, none is ever missed.
//
// Triggers (migrations *_list_changes.sql) write a row to list_changes for every task,
// responsible, case and workflow event written: the task and/or case it concerns, or,
// for one PostgreSQL statement of more than 10,000 rows (a bulk load), a single row
// with reload set that tells every reader to reload everything.
//
// A reader calls Mark before its full load and then Read repeatedly with the position
// each call returns. Changes may be reported more than once (readers must be
// idempotent):
//
//   - On SQLite one writer commits after another, so seq order is commit order and a
//     position is the highest seq read.
//   - On PostgreSQL transactions commit in any order, so a position is the xmin of the
//     snapshot of the last Read: every transaction with an id below it had ended when
//     that snapshot was taken. Read returns the rows of transactions from that xmin on,
//     so a row is read again on every Read while a transaction older than it is still
//     open (a long transaction makes the rows written since it began come back each
//     time, until it ends). Transaction ids are the cluster's: an open transaction
//     in any database of the server holds positions back alike.
//
// Prune deletes old rows and records the highest one it deleted; a reader whose
// position is below it may have missed rows, and Read tells it to reload.
package changefeed

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"
)

// list returns the seqs (none for nil).
func (s *seqs) list() []int64 {
	out := []int64{}
	if s != nil {
		for seq := range *s {
			out = append(out, seq)
		}
	}
	return out
}

// m returns the map (nil for nil).
func (s *seqs) m() map[int64]uint64 {
	if s == nil {
		return nil
	}
	return *s
}

// Change names one changed task or case (zero when not set). A change of a task
// usually names its case too.
type Change struct{ TaskID, CaseID int }

// Position is where a reader stands in the feed. The zero Position stands nowhere:
// Read from it reports reload. Positions are comparable, and only meaningful to the
// feed of the database that returned them.
type Position struct {
	at  uint64 // SQLite: the highest seq read; PostgreSQL: the xmin of the last snapshot
	set bool
	// PostgreSQL: the rows read already of transactions from at on, which the next read
	// returns again (while an old transaction keeps the xmin back) but does not report.
	read *seqs
}

// seqs are list_changes rows by seq, with the transaction id of each.
type seqs map[int64]uint64

// IsZero reports whether p is the zero Position.
func (p Position) IsZero() bool { return !p.set }

// String shows the position for logs.
func (p Position) String() string {
	if !p.set {
		return "none"
	}
	return strconv.FormatUint(p.at, 10)
}

// Execer runs one statement outside a transaction: a *sql.DB, or database.DB (whose
// ExecContext queues for SQLite's writer).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Feed reads list_changes.
type Feed struct {
	db      *sql.DB
	writer  Execer
	dialect string
}

// New returns the feed of db, whose dialect is an entgo.io/ent/dialect name. On SQLite
// db must see the last commit: database.DB.ReadSQL(), the readers beside the writer (a
// query_only pool, so give Prune the writer with WithWriter). On PostgreSQL any pool of
// the database (database.DB.SQL).
func New(db *sql.DB, dialect string) *Feed {
	return &Feed{db: db, writer: db, dialect: dialect}
}

// WithWriter makes Prune delete through w instead of the pool given to New (on SQLite,
// where that pool is read-only: a database.DB). It returns f.
func (f *Feed) WithWriter(w Execer) *Feed {
	f.writer = w
	return f
}

// Mark returns the current position without reading changes. A reader calls it BEFORE
// a full load, so that anything committed during the load is reported by the next Read.
func (f *Feed) Mark(ctx context.Context) (Position, error) {
	switch f.dialect {
	case dialect.Postgres:
		var xmin string
		if err := f.db.QueryRowContext(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&xmin); err != nil {
			return Position{}, fmt.Errorf("changefeed: mark: %w", err)
		}
		at, err := strconv.ParseUint(xmin, 10, 64)
		if err != nil {
			return Position{}, fmt.Errorf("changefeed: mark: snapshot xmin %q: %w", xmin, err)
		}
		return Position{at: at, set: true}, nil
	case dialect.SQLite:
		var seq int64
		err := f.db.QueryRowContext(ctx, "SELECT max(coalesce((SELECT max(`seq`) FROM `list_changes`), 0), "+
			"(SELECT `seq` FROM `list_changes_pruned` WHERE `id` = 1))").Scan(&seq)
		if err != nil {
			return Position{}, fmt.Errorf("changefeed: mark: %w", err)
		}
		return Position{at: uint64(seq), set: true}, nil
	}
	return Position{}, fmt.Errorf("changefeed: no feed for dialect %q", f.dialect)
}

// Read returns the changes committed since pos (it may repeat some already reported:
// readers must be idempotent), the position to pass next time, and reload=true when
// the reader must reload everything: a statement too large to list wrote a reload
// row, the feed was pruned past pos, or pos is the zero Position. A reader that
// reloads may use next as the position of its load.
func (f *Feed) Read(ctx context.Context, pos Position) (changes []Change, next Position, reload bool, err error) {
	if !pos.set {
		next, err := f.Mark(ctx)
		return nil, next, true, err
	}
	switch f.dialect {
	case dialect.Postgres:
		return f.readPostgres(ctx, f.db, pos, nil, nil)
	case dialect.SQLite:
		return f.readSQLite(ctx, pos)
	}
	return nil, Position{}, false, fmt.Errorf("changefeed: no feed for dialect %q", f.dialect)
}

// Querier runs a read statement: a *sql.DB, or database.DB.Reads (the readers' prepared
// statements: the feed's read, the same text each time, is then not planned again).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadAlong is Read on PostgreSQL that also evaluates, in the same statement run by q,
// the SQL expressions along and scans their values into dest (one each). An expression
// may read the CTE changes (seq, tx, task_id, case_id, reload): the feed rows the read
// reports. So a reader gets the changed rows it needs in the read's snapshot and its
// one round trip, instead of a round trip more after it. along is the reader's own SQL,
// never a request's.
func (f *Feed) ReadAlong(ctx context.Context, q Querier, pos Position, along []string, dest ...any) ([]Change, Position, bool, error) {
	if f.dialect != dialect.Postgres {
		return nil, Position{}, false, fmt.Errorf("changefeed: reading along is for PostgreSQL, not %q", f.dialect)
	}
	if len(along) != len(dest) {
		return nil, Position{}, false, fmt.Errorf("changefeed: %d expressions to read along, %d destinations", len(along), len(dest))
	}
	if !pos.set {
		next, err := f.Mark(ctx)
		return nil, next, true, err
	}
	return f.readPostgres(ctx, q, pos, along, dest)
}

// feedRow is a list_changes row as readPostgres's statement encodes it.
type feedRow struct {
	Seq    int64  `json:"seq"`
	Tx     string `json:"tx"`
	Task   *int64 `json:"task"`
	Case   *int64 `json:"case"`
	Reload bool   `json:"reload"`
}

// readPostgres reads in one statement, so one snapshot: its xmin (the next position),
// the pruning horizon, the rows of every transaction from pos on (as one JSON array:
// one result row, whatever else rides along) and the expressions along.
func (f *Feed) readPostgres(ctx context.Context, q Querier, pos Position, along []string, dest []any) ([]Change, Position, bool, error) {
	var query strings.Builder
	query.WriteString(`WITH changes AS (SELECT seq, tx, task_id, case_id, coalesce(reload, false) AS reload FROM list_changes
			WHERE tx >= $1::text::xid8 AND NOT (seq = ANY($2::bigint[])))
		SELECT pg_snapshot_xmin(pg_current_snapshot())::text, p.tx::text,
			(SELECT json_agg(json_build_object('seq', seq, 'tx', tx::text, 'task', task_id, 'case', case_id, 'reload', reload)) FROM changes)`)
	for _, a := range along {
		query.WriteString(",\n\t\t\t")
		query.WriteString(a)
	}
	query.WriteString("\n\t\tFROM list_changes_pruned AS p WHERE p.id = 1")
	fail := func(err error) ([]Change, Position, bool, error) {
		return nil, Position{}, false, fmt.Errorf("changefeed: read from %v: %w", pos, err)
	}
	rows, err := q.QueryContext(ctx, query.String(), strconv.FormatUint(pos.at, 10), pq.Array(pos.read.list()))
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fail(err)
		}
		return nil, Position{}, false, errors.New("changefeed: read: list_changes_pruned has no row (migrations not applied?)")
	}
	var xmin, pruned string
	var encoded []byte
	if err := rows.Scan(append([]any{&xmin, &pruned, &encoded}, dest...)...); err != nil {
		return fail(err)
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	var feed []feedRow
	if len(encoded) > 0 {
		if err := json.Unmarshal(encoded, &feed); err != nil {
			return fail(fmt.Errorf("decode the feed's rows: %w", err))
		}
	}
	var (
		changes []Change
		reload  bool
		seen    = map[Change]bool{}
		read    = map[int64]uint64{} // seq → tx of every row returned (none read before)
	)
	for _, r := range feed {
		at, err := strconv.ParseUint(r.Tx, 10, 64)
		if err != nil {
			return fail(fmt.Errorf("transaction id %q: %w", r.Tx, err))
		}
		read[r.Seq] = at
		reload = reload || r.Reload
		add(&changes, seen, nullInt(r.Task), nullInt(r.Case))
	}
	next, err := strconv.ParseUint(xmin, 10, 64)
	if err != nil {
		return nil, Position{}, false, fmt.Errorf("changefeed: read: snapshot xmin %q: %w", xmin, err)
	}
	horizon, err := strconv.ParseUint(pruned, 10, 64)
	if err != nil {
		return nil, Position{}, false, fmt.Errorf("changefeed: read: pruning horizon %q: %w", pruned, err)
	}
	// Prune deleted rows of transactions up to horizon: if one was at or after pos,
	// this reader may not have read it.
	if horizon >= pos.at {
		reload = true
	}
	// The xmin of a later snapshot is never lower; keep pos if it were. The rows from
	// it on come again next time: remember them.
	next = max(next, pos.at)
	again := seqs{}
	for _, m := range []map[int64]uint64{read, pos.read.m()} {
		for seq, tx := range m {
			if tx >= next {
				again[seq] = tx
			}
		}
	}
	return changes, Position{at: next, set: true, read: &again}, reload, nil
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

// readSQLite reads in one statement the rows after pos and the pruning horizon.
func (f *Feed) readSQLite(ctx context.Context, pos Position) ([]Change, Position, bool, error) {
	rows, err := f.db.QueryContext(ctx, "SELECT p.`seq`, c.`seq`, c.`task_id`, c.`case_id`, coalesce(c.`reload`, false) "+
		"FROM `list_changes_pruned` AS p LEFT JOIN `list_changes` AS c ON c.`seq` > ? WHERE p.`id` = 1", int64(pos.at))
	if err != nil {
		return nil, Position{}, false, fmt.Errorf("changefeed: read from %v: %w", pos, err)
	}
	defer rows.Close()
	var (
		changes []Change
		reload  bool
		found   bool
		next    = pos.at
		seen    = map[Change]bool{}
	)
	for rows.Next() {
		var horizon int64
		var seq, task, kase sql.NullInt64
		var r bool
		if err := rows.Scan(&horizon, &seq, &task, &kase, &r); err != nil {
			return nil, Position{}, false, fmt.Errorf("changefeed: read from %v: %w", pos, err)
		}
		found = true
		if uint64(horizon) > pos.at {
			// Prune deleted rows up to horizon, after pos: reload, and go on after them.
			reload = true
			next = max(next, uint64(horizon))
		}
		if seq.Valid {
			next = max(next, uint64(seq.Int64))
		}
		reload = reload || r
		add(&changes, seen, task, kase)
	}
	if err := rows.Err(); err != nil {
		return nil, Position{}, false, fmt.Errorf("changefeed: read from %v: %w", pos, err)
	}
	if !found {
		return nil, Position{}, false, errors.New("changefeed: read: list_changes_pruned has no row (migrations not applied?)")
	}
	return changes, Position{at: next, set: true}, reload, nil
}

// add appends the change of a row once.
func add(changes *[]Change, seen map[Change]bool, task, kase sql.NullInt64) {
	if !task.Valid && !kase.Valid {
		return
	}
	c := Change{TaskID: int(task.Int64), CaseID: int(kase.Int64)}
	if !seen[c] {
		seen[c] = true
		*changes = append(*changes, c)
	}
}

// Prune deletes the rows written more than keep ago (by the database's clock; on
// PostgreSQL only those of transactions below the current snapshot xmin) and
// records the highest one deleted, so that a reader still before it reloads. One
// server runs it periodically; running it on several is safe.
func (f *Feed) Prune(ctx context.Context, keep time.Duration) error {
	secs := keep.Seconds()
	switch f.dialect {
	case dialect.Postgres:
		// One statement: the rows and the horizon change together. Only rows of
		// transactions below this snapshot's xmin go, so the horizon stays below the
		// position of any later Read, which then need not reload again. (PostgreSQL 15
		// has no max(xid8): through numeric.)
		_, err := f.writer.ExecContext(ctx, `WITH d AS (DELETE FROM list_changes
				WHERE at < now() - make_interval(secs => $1) AND tx < pg_snapshot_xmin(pg_current_snapshot()) RETURNING seq, tx)
			UPDATE list_changes_pruned SET
				tx = greatest(tx, (SELECT max(tx::text::numeric)::text::xid8 FROM d)),
				seq = greatest(seq, (SELECT max(seq) FROM d))
			WHERE id = 1`, secs)
		if err != nil {
			return fmt.Errorf("changefeed: prune rows older than %v: %w", keep, err)
		}
		return nil
	case dialect.SQLite:
		// First raise the horizon, then delete up to it: a reader in between, or a
		// failure between the two, only reloads once more than needed.
		if _, err := f.writer.ExecContext(ctx, "UPDATE `list_changes_pruned` SET `seq` = max(`seq`, "+
			"coalesce((SELECT max(`seq`) FROM `list_changes` WHERE `at` < datetime('now', ?)), 0)) WHERE `id` = 1",
			fmt.Sprintf("-%f seconds", secs)); err != nil {
			return fmt.Errorf("changefeed: prune rows older than %v: %w", keep, err)
		}
		if _, err := f.writer.ExecContext(ctx, "DELETE FROM `list_changes` WHERE `seq` <= (SELECT `seq` FROM `list_changes_pruned` WHERE `id` = 1)"); err != nil {
			return fmt.Errorf("changefeed: prune rows older than %v: %w", keep, err)
		}
		return nil
	}
	return fmt.Errorf("changefeed: no feed for dialect %q", f.dialect)
}
