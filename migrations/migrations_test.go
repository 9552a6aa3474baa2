package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

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
// migration of an ent change left out (and the files after it), the diff must write one.
// Migrations that only create hand-made objects (handmade.go) are no ent change.
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
	last := len(files) - 1
	for last > 0 && (strings.HasSuffix(files[last].Name(), "_search.sql") || strings.HasSuffix(files[last].Name(), "_list_changes.sql")) {
		last--
	}
	scratch := &migrate.MemDir{}
	if err := scratch.CopyFiles(files[:last]); err != nil {
		t.Fatal(err)
	}
	sum, _ := scratch.Checksum()
	if err := migrate.WriteSumFile(scratch, sum); err != nil {
		t.Fatal(err)
	}
	// Replay only what the scratch directory holds.
	for _, f := range files[:last] {
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
	if len(after) != last+1 {
		t.Fatalf("diff wrote %d files for a directory missing %s", len(after)-last, files[last].Name())
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

// TestBackfillOfResponsibleFlags upgrades a database holding a DELAYED task and a system
// task through the migrations that copy those flags, and each task's creation time, onto
// task_responsibles.
func TestBackfillOfResponsibleFlags(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		d, db, ph := migratedBefore(t, dialect, "_task_list_visibility.sql")
		ctx := context.Background()
		now := time.Now().UTC()
		mustExec(t, db, ph(`INSERT INTO cases (id, created_at, updated_at, name, state) VALUES (1, ?, ?, 'c', 'RUNNING')`), now, now)
		for _, row := range []struct {
			id     int
			state  string
			system bool
		}{{25769803777, "DELAYED", false}, {25769803778, "SUSPENDED", true}, {25769803779, "SUSPENDED", false}} {
			created := now.Add(time.Duration(row.id%10) * time.Hour)
			mustExec(t, db, ph(`INSERT INTO tasks (id, created_at, updated_at, state, `+"system"+`, case_id) VALUES (?, ?, ?, ?, ?, 1)`), row.id, created, now, row.state, row.system)
			mustExec(t, db, ph(`INSERT INTO task_responsibles (expiry, task_id) VALUES (?, ?)`), false, row.id)
		}
		if _, err := migrations.Apply(ctx, db, d, ""); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT task_id, delayed, ` + "system" + ` FROM task_responsibles ORDER BY task_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id int
			var delayed, system bool
			if err := rows.Scan(&id, &delayed, &system); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%v/%v", delayed, system))
		}
		if strings.Join(got, " ") != "true/false false/true false/false" {
			t.Fatalf("flags after the upgrade: %v", got)
		}
		var copied int
		if err := db.QueryRow(`SELECT count(*) FROM task_responsibles r JOIN tasks t ON t.id = r.task_id WHERE r.task_created_at = t.created_at`).Scan(&copied); err != nil {
			t.Fatal(err)
		}
		if copied != 3 {
			t.Fatalf("%d of 3 responsibles got their task's creation time", copied)
		}
	})
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestDriftCheckOfHandMadeObjects: the drift check ignores exactly the hand-made search
// and chart objects in the diff, still reports any other index ent expects, and fails when a
// hand-made object is gone.
func TestDriftCheckOfHandMadeObjects(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		d, db, err := database.Connect(servertest.DatabaseURL(t, dialect))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := migrations.Apply(ctx, db, d, ""); err != nil {
			t.Fatal(err)
		}
		if err := migrations.CheckHandMade(ctx, db, d); err != nil {
			t.Fatalf("after all migrations: %v", err)
		}
		diff := func() []byte {
			dir, _ := migrations.Dir(d)
			files, _ := dir.Files()
			scratch := &migrate.MemDir{}
			if err := scratch.CopyFiles(files); err != nil {
				t.Fatal(err)
			}
			sum, _ := scratch.Checksum()
			if err := migrate.WriteSumFile(scratch, sum); err != nil {
				t.Fatal(err)
			}
			if err := migrations.DiffOnly(ctx, db, d, scratch, "drift"); err != nil {
				t.Fatal(err)
			}
			after, _ := scratch.Files()
			if len(after) == len(files) {
				return nil
			}
			return after[len(after)-1].Bytes()
		}
		if b := diff(); b != nil {
			t.Fatalf("diff of a migrated database:\n%s", b)
		}
		// An index ent knows, dropped by hand, is still reported.
		mustExec(t, db, `DROP INDEX task_worker_id`)
		if b := diff(); !strings.Contains(string(b), "task_worker_id") {
			t.Fatalf("a dropped ent index is not reported; diff:\n%s", b)
		}
		// A hand-made object gone fails the check, naming it.
		for _, gone := range map[string][]struct{ stmt, name string }{
			// Each check reports the first object of handMade missing: drop them in
			// reverse list order.
			"postgres": {
				{`DROP STATISTICS task_ended_at_day`, "task_ended_at_day"},
				{`DROP INDEX cases_search`, "cases_search"},
				{`DROP TRIGGER tasks_copy_to_responsibles ON tasks`, "tasks_copy_to_responsibles"},
				{`ALTER TABLE tasks DROP COLUMN search_document`, "search_document"},
			},
			"sqlite": {{`DROP TRIGGER tasks_fts_update`, "tasks_fts_update"}},
		}[dialect] {
			mustExec(t, db, gone.stmt)
			err = migrations.CheckHandMade(ctx, db, d)
			if err == nil || !strings.Contains(err.Error(), gone.name) {
				t.Fatalf("check after %s: %v", gone.stmt, err)
			}
		}
	})
}

// migratedBefore returns a database of dialect migrated up to the migration whose file
// name ends in suffix (not included), and a function that writes a statement's ?
// placeholders for the dialect. The database closes when the test ends.
func migratedBefore(t *testing.T, dialect, suffix string) (string, *sql.DB, func(string) string) {
	t.Helper()
	d, db, err := database.Connect(servertest.DatabaseURL(t, dialect))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	versions, _ := migrations.Versions(d)
	dir, _ := migrations.Dir(d)
	files, _ := dir.Files()
	var before string
	for i, f := range files {
		if strings.HasSuffix(f.Name(), suffix) {
			before = versions[i-1]
		}
	}
	if before == "" {
		t.Fatalf("no migration *%s", suffix)
	}
	if _, err := migrations.Apply(context.Background(), db, d, before); err != nil {
		t.Fatal(err)
	}
	ph := func(q string) string {
		if d != "postgres" {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	}
	return d, db, ph
}
