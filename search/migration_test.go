package search_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/servertest"
)

// TestSearchAfterUpgrade upgrades a database holding a task, a case and a process from
// before the search migration, and finds them: the migration indexes existing rows.
func TestSearchAfterUpgrade(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		url := servertest.DatabaseURL(t, dialect)
		d, db, err := database.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		versions, _ := migrations.Versions(d)
		dir, _ := migrations.Dir(d)
		files, _ := dir.Files()
		var before string
		for i, f := range files {
			if strings.HasSuffix(f.Name(), "_search.sql") {
				before = versions[i-1]
			}
		}
		if before == "" {
			t.Fatal("no search migration")
		}
		if _, err := migrations.Apply(ctx, db, d, before); err != nil {
			t.Fatal(err)
		}
		// Plain SQL of the tables as they were, ids from the tables' own sequences.
		ph := func(q string) string {
			if d != "postgres" {
				return q
			}
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
			return q
		}
		now := time.Now().UTC()
		var caseID int
		if err := db.QueryRow(ph(`INSERT INTO cases (created_at, updated_at, name, description, state) VALUES (?, ?, 'Old walrus case', '', 'RUNNING') RETURNING id`), now, now).Scan(&caseID); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, ph(`INSERT INTO tasks (created_at, updated_at, name, description, case_id) VALUES (?, ?, 'Feed', 'the old walrus', ?)`), now, now, caseID)
		mustExec(t, db, ph(`INSERT INTO processes (created_at, updated_at, name, description) VALUES (?, ?, 'Walrus process', '')`), now, now)
		db.Close()

		srv := servertest.Start(t, dialect, portico.Config{DatabaseURL: url, AdminPassword: "adminadmin"})
		admin := srv.Login(t, "admin", "adminadmin")
		got := keys(all(t, admin, "walrus", 10))
		want := []string{"Case:Old walrus case", "Process:Walrus process", "Task:Feed"}
		if !slices.Equal(got, want) {
			t.Fatalf("after the upgrade admin finds %v, want %v", got, want)
		}
	})
}

// TestIndexUsed: the match is answered from the search index of each kind (on
// PostgreSQL by the GIN index over the generated document column).
func TestIndexUsed(t *testing.T) {
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
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if d == "postgres" {
			// Tables this small would be scanned; the point is whether the index can serve.
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			explain = "EXPLAIN "
		}
		for k, index := range map[search.Kind][2]string{
			search.KindTask:    {"tasks_search", "tasks_fts VIRTUAL TABLE INDEX"},
			search.KindCase:    {"cases_search", "cases_fts VIRTUAL TABLE INDEX"},
			search.KindProcess: {"processes_search", "processes_fts VIRTUAL TABLE INDEX"},
		} {
			q, args, err := search.MatchStatement(d, k, "walrus fee")
			if err != nil {
				t.Fatal(err)
			}
			rows, err := conn.QueryContext(ctx, explain+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				for i := range vals {
					vals[i] = new(any)
				}
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(*vals[len(vals)-1].(*any)))
			}
			rows.Close()
			want := index[0]
			if d != "postgres" {
				want = index[1]
			}
			if !strings.Contains(strings.Join(plan, "\n"), want) {
				t.Errorf("%s: plan of %s does not use %s:\n%s", k, q, want, strings.Join(plan, "\n"))
			}
		}
	})
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
