package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
)

const migrateUsage = `usage: portico migrate <status|up|diff NAME|hash> [flags]

  status       show the applied and pending migrations of the database; changes nothing
  up           apply the pending migrations (--dry-run: list them, apply nothing)
  diff NAME    write a new migration for each dialect from ent/schema (developers)
  hash         refresh atlas.sum after hand-editing a migration (developers)

"portico migrate" alone is "portico migrate status".
`

// runMigrate handles `portico migrate status` (show applied and pending migrations),
// `portico migrate up [--dry-run]` (apply them), `portico migrate diff NAME` (write a new
// migration for each dialect from ent/schema) and `portico migrate hash` (refresh
// atlas.sum after hand-editing a migration).
func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", migrateUsage)
	dbURL := fs.String("database-url", fs.env("PORTICO_DATABASE_URL", database.DefaultURL), "database to migrate")
	dryRun := fs.Bool("dry-run", false, "with up: list the pending migrations, apply nothing")
	devPG := fs.String("dev-postgres", fs.env("PORTICO_DEV_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server where diff creates and drops a scratch database")
	dir := fs.String("dir", "migrations", "migrations folder (for diff)")
	// The subcommand comes first; its flags after it (the flag package stops at the
	// first argument that is not a flag).
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if sub == "" && fs.NArg() > 0 { // flags first: portico migrate --database-url … up
		sub = fs.Arg(0)
		if err := parse(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	switch sub {
	case "hash":
		return rehash(*dir)
	case "", "status", "up":
		if path := database.SQLitePath(*dbURL); path != "" && (sub != "up" || *dryRun) {
			if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
				// Looking must not create the file (SQLite would, on connecting).
				pending, err := migrations.Versions(dialect.SQLite)
				if err != nil {
					return err
				}
				fmt.Printf("no database at %s yet\n", path)
				printStatus(os.Stdout, dialect.SQLite, migrations.State{Pending: pending}, sub == "up")
				return nil
			}
		}
		d, db, err := database.Connect(*dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		st, err := migrations.Status(ctx, db, d)
		if err != nil {
			return err
		}
		if sub != "up" || *dryRun {
			printStatus(os.Stdout, d, st, sub == "up")
			if len(st.Unknown) > 0 {
				return fmt.Errorf("the database has migrations this binary does not know (%s): a newer Portico migrated it", strings.Join(st.Unknown, ", "))
			}
			return nil
		}
		applied, err := migrations.Apply(ctx, db, d, "")
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migrations %v\n", len(applied), applied)
		return nil
	case "diff":
	default:
		return usageError(fmt.Errorf("unknown migrate command %q", sub), fs)
	}
	name := fs.Arg(0)
	if name == "" {
		return fmt.Errorf("usage: portico migrate diff NAME")
	}
	if err := diffSQLite(ctx, filepath.Join(*dir, "sqlite"), name); err != nil {
		return err
	}
	return diffPostgres(ctx, *devPG, filepath.Join(*dir, "postgres"), name)
}

// printStatus writes the applied and pending migrations; dry says they would be applied.
func printStatus(w io.Writer, d string, st migrations.State, dry bool) {
	fmt.Fprintf(w, "%s: %d applied, %d pending\n", d, len(st.Applied), len(st.Pending))
	for _, v := range st.Applied {
		fmt.Fprintf(w, "  applied  %s\n", v)
	}
	verb := "pending "
	if dry {
		verb = "would apply"
	}
	for _, v := range st.Pending {
		fmt.Fprintf(w, "  %s  %s\n", verb, v)
	}
	for _, v := range st.Unknown {
		fmt.Fprintf(w, "  unknown  %s (applied by a newer Portico)\n", v)
	}
}

func diffSQLite(ctx context.Context, path, name string) error {
	_, db, err := database.Connect("file:diff?mode=memory&cache=shared")
	if err != nil {
		return err
	}
	defer db.Close()
	return writeDiff(ctx, db, dialect.SQLite, path, name)
}

// diffPostgres diffs against a scratch database created for the purpose and dropped after.
func diffPostgres(ctx context.Context, server, path, name string) error {
	_, admin, err := database.Connect(server)
	if err != nil {
		return err
	}
	defer admin.Close()
	scratch := fmt.Sprintf("portico_diff_%d", rand.Uint32())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		return fmt.Errorf("create scratch database: %w", err)
	}
	defer admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)")
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("parse %s: %w", server, err)
	}
	u.Path = "/" + scratch
	_, db, err := database.Connect(u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	return writeDiff(ctx, db, dialect.Postgres, path, name)
}

func writeDiff(ctx context.Context, db *sql.DB, d, path, name string) error {
	dir, err := migrate.NewLocalDir(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return migrations.Diff(ctx, db, d, dir, name)
}

// rehash rewrites each dialect's atlas.sum after a hand-written addition to a migration
// (a data backfill), so the start-up integrity check accepts it.
func rehash(root string) error {
	for _, d := range []string{"sqlite", "postgres"} {
		dir, err := migrate.NewLocalDir(filepath.Join(root, d))
		if err != nil {
			return err
		}
		sum, err := dir.Checksum()
		if err != nil {
			return fmt.Errorf("checksum %s: %w", d, err)
		}
		if err := migrate.WriteSumFile(dir, sum); err != nil {
			return fmt.Errorf("write %s/atlas.sum: %w", d, err)
		}
	}
	return nil
}
