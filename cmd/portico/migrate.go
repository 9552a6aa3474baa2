package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"

	"ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
)

// runMigrate handles `portico migrate` (apply pending migrations),
// `portico migrate diff NAME` (write a new migration for each dialect from ent/schema) and
// `portico migrate hash` (refresh atlas.sum after hand-editing a migration).
func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbURL := fs.String("database-url", envOr("PORTICO_DATABASE_URL", database.DefaultURL), "database to migrate")
	devPG := fs.String("dev-postgres", envOr("PORTICO_DEV_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server where diff creates and drops a scratch database")
	dir := fs.String("dir", "migrations", "migrations folder (for diff)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Arg(0) == "hash" {
		return rehash(*dir)
	}
	if fs.Arg(0) != "diff" {
		d, db, err := database.Connect(*dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		applied, err := migrations.Apply(ctx, db, d, "")
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migrations %v\n", len(applied), applied)
		return nil
	}
	name := fs.Arg(1)
	if name == "" {
		return fmt.Errorf("usage: portico migrate diff NAME")
	}
	if err := diffSQLite(ctx, filepath.Join(*dir, "sqlite"), name); err != nil {
		return err
	}
	return diffPostgres(ctx, *devPG, filepath.Join(*dir, "postgres"), name)
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
