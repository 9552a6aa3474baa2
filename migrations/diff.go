package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/portico-dev/portico/ent/migrate"
)

// Diff writes into dir a new migration named name with what the ent schema needs beyond
// the migrations already applied to devDB, a scratch database of dialect d that Diff
// first brings up to date. It writes nothing when the schema and the migrations agree.
// It fails when the migrations leave out a hand-made object (handmade.go).
func Diff(ctx context.Context, devDB *sql.DB, d string, dir migrate.Dir, name string) error {
	if _, err := Apply(ctx, devDB, d, ""); err != nil {
		return fmt.Errorf("replay migrations on the dev database: %w", err)
	}
	if err := DiffOnly(ctx, devDB, d, dir, name); err != nil {
		return err
	}
	return CheckHandMade(ctx, devDB, d)
}

// DiffOnly is Diff on a dev database the caller has already brought up to date, without
// the check of the hand-made objects. The hand-made indexes are left out of the diff.
func DiffOnly(ctx context.Context, devDB *sql.DB, d string, dir migrate.Dir, name string) error {
	err := entmigrate.NewSchema(entsql.OpenDB(d, devDB)).NamedDiff(ctx, name,
		schema.WithDir(dir),
		schema.WithDialect(d),
		schema.WithMigrationMode(schema.ModeInspect),
		schema.WithFormatter(migrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithDiffHook(keepHandMade(d)),
	)
	if err != nil {
		return fmt.Errorf("diff %s schema: %w", d, err)
	}
	return nil
}
