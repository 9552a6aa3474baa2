package migrations_test

import (
	"context"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
	"github.com/portico-dev/portico/servertest"
)

// TestMigrationsMatchSchema fails when ent/schema changed without a new migration:
// replaying the committed migrations and diffing against the schema must yield nothing.
func TestMigrationsMatchSchema(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		d, db, err := database.Connect(servertest.DatabaseURL(t, dialect))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dir, err := migrations.Dir(d)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := dir.Files()
		scratch := &migrate.MemDir{}
		if err := scratch.CopyFiles(before); err != nil {
			t.Fatal(err)
		}
		sum, err := dir.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate.WriteSumFile(scratch, sum); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Diff(context.Background(), db, d, scratch, "drift"); err != nil {
			t.Fatal(err)
		}
		after, _ := scratch.Files()
		if len(after) != len(before) {
			b := after[len(after)-1].Bytes()
			t.Fatalf("ent/schema differs from the migrations; run `go run ./cmd/portico migrate diff <name>`:\n%s", b)
		}
	})
}

// TestDiffDetectsMissingMigration proves the drift check can fail: with the newest
// migration left out, the diff must write one.
func TestDiffDetectsMissingMigration(t *testing.T) {
	d, db, err := database.Connect(servertest.DatabaseURL(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir, err := migrations.Dir(d)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := dir.Files()
	scratch := &migrate.MemDir{}
	if err := scratch.CopyFiles(files[:len(files)-1]); err != nil {
		t.Fatal(err)
	}
	sum, _ := scratch.Checksum()
	if err := migrate.WriteSumFile(scratch, sum); err != nil {
		t.Fatal(err)
	}
	// Replay only what the scratch directory holds.
	for _, f := range files[:len(files)-1] {
		for _, stmt := range mustStmts(t, f) {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := migrations.DiffOnly(context.Background(), db, d, scratch, "missing"); err != nil {
		t.Fatal(err)
	}
	after, _ := scratch.Files()
	if len(after) != len(files) {
		t.Fatalf("diff wrote %d files for a directory missing its newest migration", len(after)-len(files)+1)
	}
}

func mustStmts(t *testing.T, f migrate.File) []string {
	t.Helper()
	s, err := f.Stmts()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestApplyIsIdempotent applies twice; the second run finds nothing to do.
func TestApplyIsIdempotent(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		d, db, err := database.Connect(servertest.DatabaseURL(t, dialect))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		first, err := migrations.Apply(context.Background(), db, d, "")
		if err != nil || len(first) == 0 {
			t.Fatalf("first apply: %v %v", first, err)
		}
		second, err := migrations.Apply(context.Background(), db, d, "")
		if err != nil || len(second) != 0 {
			t.Fatalf("second apply: %v %v", second, err)
		}
	})
}
