package migrations_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/ent/schema"
	"github.com/portico-dev/portico/migrations"
	"github.com/portico-dev/portico/servertest"
)

// TestBackfillOfSortRanks: the sort_ranks migration fills state_rank and priority_rank of
// existing tasks and cases with the ranks the hook computes (ent/schema/rank.go), for
// every value of every enum.
func TestBackfillOfSortRanks(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		d, db, ph := migratedBefore(t, dialect, "_sort_ranks.sql")
		ctx := context.Background()
		now := time.Now().UTC()
		for i, s := range schema.CaseStates {
			mustExec(t, db, ph(`INSERT INTO cases (id, created_at, updated_at, name, state) VALUES (?, ?, ?, 'c', ?)`), i+1, now, now, s)
		}
		for i, s := range schema.TaskStates {
			p := schema.Priorities[i%len(schema.Priorities)]
			mustExec(t, db, ph(`INSERT INTO tasks (id, created_at, updated_at, state, priority, case_id) VALUES (?, ?, ?, ?, ?, 1)`),
				25769803777+i, now, now, s, p)
		}
		if _, err := migrations.Apply(ctx, db, d, ""); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(`SELECT state, priority, state_rank, priority_rank FROM tasks ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var s, p string
			var sr, pr int16
			if err := rows.Scan(&s, &p, &sr, &pr); err != nil {
				t.Fatal(err)
			}
			if sr != schema.TaskStateRank(s) || pr != schema.PriorityRank(p) || sr == 0 || pr == 0 {
				t.Errorf("task %s/%s: ranks %d/%d, want %d/%d", s, p, sr, pr, schema.TaskStateRank(s), schema.PriorityRank(p))
			}
			n++
		}
		if n != len(schema.TaskStates) {
			t.Fatalf("%d tasks", n)
		}
		crows, err := db.Query(`SELECT state, state_rank FROM cases ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer crows.Close()
		for crows.Next() {
			var s string
			var r int16
			if err := crows.Scan(&s, &r); err != nil {
				t.Fatal(err)
			}
			if r != schema.CaseStateRank(s) || r == 0 {
				t.Errorf("case %s: rank %d, want %d", s, r, schema.CaseStateRank(s))
			}
		}
	})
}
