// Package migrations holds the versioned SQL migrations of each dialect and applies the
// pending ones at start-up, all in one transaction.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
)

//go:embed sqlite postgres
var files embed.FS

// table records which migration files have been applied.
const table = "portico_migrations"

// dirName maps an ent dialect to its migration folder.
func dirName(d string) (string, error) {
	switch d {
	case dialect.SQLite:
		return "sqlite", nil
	case dialect.Postgres:
		return "postgres", nil
	}
	return "", fmt.Errorf("no migrations for dialect %q", d)
}

// Dir returns the embedded migration directory of a dialect, checked against its atlas.sum.
func Dir(d string) (migrate.Dir, error) {
	name, err := dirName(d)
	if err != nil {
		return nil, err
	}
	mem := &migrate.MemDir{}
	entries, err := fs.ReadDir(files, name)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") && e.Name() != migrate.HashFileName {
			continue
		}
		b, err := files.ReadFile(path.Join(name, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if err := mem.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	if len(entries) == 1 { // only the README: nothing generated yet
		return mem, nil
	}
	if err := migrate.Validate(mem); err != nil {
		return nil, fmt.Errorf("migrations of %s do not match atlas.sum: %w", d, err)
	}
	return mem, nil
}

// Apply applies, in one transaction, the pending migrations of the dialect, up to and
// including version upTo ("" for all). It returns the versions it applied. On PostgreSQL
// an advisory lock keeps servers starting together from applying the same files twice.
func Apply(ctx context.Context, db *sql.DB, d, upTo string) ([]string, error) {
	dir, err := Dir(d)
	if err != nil {
		return nil, err
	}
	mfiles, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Slice(mfiles, func(i, j int) bool { return mfiles[i].Version() < mfiles[j].Version() })

	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for migration: %w", err)
	}
	defer conn.Close()
	if d == dialect.SQLite {
		// SQLite changes a table by rebuilding it; with foreign keys on, dropping the old
		// table would cascade-delete the rows that reference it. The pragma only works
		// outside a transaction, so it is set on this connection around it, and the keys
		// are checked before commit instead (SQLite's documented procedure).
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return nil, fmt.Errorf("disable foreign keys for migration: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if d == dialect.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7243001)`); err != nil {
			return nil, fmt.Errorf("lock migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+
		` (version VARCHAR(64) PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return nil, fmt.Errorf("create %s: %w", table, err)
	}
	done, err := appliedVersions(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := refuseNewer(done, mfiles); err != nil {
		return nil, err
	}
	var applied []string
	for _, f := range mfiles {
		if upTo != "" && f.Version() > upTo {
			break
		}
		if done[f.Version()] {
			continue
		}
		if err := applyFile(ctx, tx, d, f); err != nil {
			return nil, err
		}
		applied = append(applied, f.Version())
	}
	if d == dialect.SQLite {
		if err := checkForeignKeys(ctx, tx); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit migrations: %w", err)
	}
	return applied, nil
}

// refuseNewer fails when the database holds migrations the binary does not know: a
// newer Portico migrated it, and this one would run on a schema it was not built for.
func refuseNewer(done map[string]bool, files []migrate.File) error {
	if unknown := unknownVersions(done, files); len(unknown) > 0 {
		newest := "none"
		if len(files) > 0 {
			newest = files[len(files)-1].Version()
		}
		return fmt.Errorf("the database was migrated by a newer Portico: it has migrations %s that this binary does not know (its newest is %s); run that newer Portico, or restore a backup taken before it migrated",
			strings.Join(unknown, ", "), newest)
	}
	return nil
}

func unknownVersions(done map[string]bool, files []migrate.File) []string {
	known := map[string]bool{}
	for _, f := range files {
		known[f.Version()] = true
	}
	var unknown []string
	for v := range done {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// State is what a database holds of the embedded migrations: those applied and those
// pending (oldest first), and any it holds that this binary does not know (a newer
// Portico's).
type State struct {
	Applied, Pending, Unknown []string
}

// Status reads the migration state of a database without changing anything (it does
// not even create the migrations table).
func Status(ctx context.Context, db *sql.DB, d string) (State, error) {
	dir, err := Dir(d)
	if err != nil {
		return State{}, err
	}
	files, err := dir.Files()
	if err != nil {
		return State{}, fmt.Errorf("list migrations: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Version() < files[j].Version() })
	exists := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '` + table + `'`
	if d == dialect.Postgres {
		exists = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '` + table + `'`
	}
	var n int
	if err := db.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return State{}, fmt.Errorf("look for %s: %w", table, err)
	}
	done := map[string]bool{}
	if n > 0 {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return State{}, fmt.Errorf("read %s: %w", table, err)
		}
		defer tx.Rollback()
		if done, err = appliedVersions(ctx, tx); err != nil {
			return State{}, err
		}
	}
	var st State
	for _, f := range files {
		if done[f.Version()] {
			st.Applied = append(st.Applied, f.Version())
		} else {
			st.Pending = append(st.Pending, f.Version())
		}
	}
	st.Unknown = unknownVersions(done, files)
	return st, nil
}

// checkForeignKeys fails when the migrated SQLite database has dangling references.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("check foreign keys: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int
		_ = rows.Scan(&table, &rowid, &parent, &fkid)
		return fmt.Errorf("migration leaves %s rows referencing missing %s rows", table, parent)
	}
	return rows.Err()
}

func appliedVersions(ctx context.Context, tx *sql.Tx) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM `+table)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		done[v] = true
	}
	return done, rows.Err()
}

func applyFile(ctx context.Context, tx *sql.Tx, d string, f migrate.File) error {
	stmts, err := f.Stmts()
	if err != nil {
		return fmt.Errorf("parse migration %s: %w", f.Name(), err)
	}
	for _, s := range stmts {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("migration %s: %w", f.Name(), err)
		}
	}
	ins := `INSERT INTO ` + table + ` (version) VALUES (?)`
	if d == dialect.Postgres {
		ins = `INSERT INTO ` + table + ` (version) VALUES ($1)`
	}
	if _, err := tx.ExecContext(ctx, ins, f.Version()); err != nil {
		return fmt.Errorf("record migration %s: %w", f.Name(), err)
	}
	return nil
}

// Versions lists the embedded migration versions of a dialect, oldest first.
func Versions(d string) ([]string, error) {
	dir, err := Dir(d)
	if err != nil {
		return nil, err
	}
	mfiles, err := dir.Files()
	if err != nil {
		return nil, err
	}
	vs := make([]string, len(mfiles))
	for i, f := range mfiles {
		vs[i] = f.Version()
	}
	sort.Strings(vs)
	return vs, nil
}
