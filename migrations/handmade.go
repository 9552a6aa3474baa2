package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entschema "entgo.io/ent/dialect/sql/schema"
)

// handMadeObject is a database object a hand-written migration creates and the ent
// schema cannot express.
type handMadeObject struct {
	kind  string // "column", "index", "statistics" (PostgreSQL), "function" (PostgreSQL), "table" or "trigger"
	table string // the ent table it belongs to
	name  string
}

// handMade lists, per dialect, the objects of the full-text search migrations (package
// search): generated document columns and their GIN indexes on PostgreSQL, with the
// keyed copies of each task's document and its case on its responsibles and the
// triggers that keep them in step (*_search_visibility.sql); FTS5 tables and the triggers that keep
// them in step on SQLite; and on PostgreSQL the statistics objects of the chart day
// buckets (package statistics); on both, the change feed's tables and triggers (package
// changefeed, *_list_changes.sql; the table field of a table is the table itself). The drift check knows them by
// name: the diff against the ent schema leaves exactly these alone (it would drop the
// columns and indexes, which ent does not know), and CheckHandMade fails when one is
// missing from a migrated database. Add an object here in the same commit as the
// migration that creates it.
var handMade = map[string][]handMadeObject{
	dialect.Postgres: {
		{"column", "tasks", "search_document"},
		{"trigger", "task_responsibles", "task_responsibles_copy_task"},
		{"trigger", "tasks", "tasks_copy_to_responsibles"},
		{"trigger", "cases", "cases_copy_to_responsibles"},
		{"index", "tasks", "tasks_search"},
		{"column", "cases", "search_document"},
		{"index", "cases", "cases_search"},
		{"column", "processes", "search_document"},
		{"index", "processes", "processes_search"},
		{"column", "task_responsibles", "search_document"},
		{"column", "task_responsibles", "case_id"},
		{"index", "task_responsibles", "taskresponsible_search"},
		// Chart day statistics (20261124173406_chart_day_statistics.sql).
		{"statistics", "tasks", "task_created_at_day"},
		{"statistics", "tasks", "task_ended_at_day"},
		{"statistics", "cases", "case_created_at_day"},
		{"statistics", "cases", "case_ended_at_day"},
		// The change feed (20261206120000_list_changes.sql).
		{"table", "list_changes", "list_changes"},
		{"index", "list_changes", "list_changes_tx"},
		{"table", "list_changes_pruned", "list_changes_pruned"},
		{"function", "tasks", "list_changes_tasks"},
		{"trigger", "tasks", "list_changes_tasks_insert"},
		{"trigger", "tasks", "list_changes_tasks_update"},
		{"trigger", "tasks", "list_changes_tasks_delete"},
		{"function", "task_responsibles", "list_changes_task_responsibles"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_insert"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_update"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_delete"},
		{"function", "cases", "list_changes_cases"},
		{"trigger", "cases", "list_changes_cases_insert"},
		{"trigger", "cases", "list_changes_cases_update"},
		{"trigger", "cases", "list_changes_cases_delete"},
		{"function", "workflow_events", "list_changes_workflow_events"},
		{"trigger", "workflow_events", "list_changes_workflow_events_insert"},
	},
	dialect.SQLite: {
		{"table", "tasks", "tasks_fts"},
		{"trigger", "tasks", "tasks_fts_insert"},
		{"trigger", "tasks", "tasks_fts_delete"},
		{"trigger", "tasks", "tasks_fts_update"},
		{"table", "cases", "cases_fts"},
		{"trigger", "cases", "cases_fts_insert"},
		{"trigger", "cases", "cases_fts_delete"},
		{"trigger", "cases", "cases_fts_update"},
		{"table", "processes", "processes_fts"},
		{"trigger", "processes", "processes_fts_insert"},
		{"trigger", "processes", "processes_fts_delete"},
		{"trigger", "processes", "processes_fts_update"},
		// The change feed (20261206120000_list_changes.sql).
		{"table", "list_changes", "list_changes"},
		{"table", "list_changes_pruned", "list_changes_pruned"},
		{"trigger", "tasks", "list_changes_tasks_insert"},
		{"trigger", "tasks", "list_changes_tasks_update"},
		{"trigger", "tasks", "list_changes_tasks_delete"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_insert"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_update"},
		{"trigger", "task_responsibles", "list_changes_task_responsibles_delete"},
		{"trigger", "cases", "list_changes_cases_insert"},
		{"trigger", "cases", "list_changes_cases_update"},
		{"trigger", "cases", "list_changes_cases_delete"},
		{"trigger", "workflow_events", "list_changes_workflow_events_insert"},
	},
}

// keepHandMade is a diff hook that removes from the diff the drops of the hand-made
// columns and indexes of dialect d, and nothing else. (SQLite's FTS tables and triggers
// never show up: ent inspects only its own tables, and atlas does not read triggers.)
func keepHandMade(d string) entschema.DiffHook {
	keep := map[string]bool{}
	for _, o := range handMade[d] {
		keep[o.kind+" "+o.table+"."+o.name] = true
	}
	handMadeDrop := func(table string, c schema.Change) bool {
		switch c := c.(type) {
		case *schema.DropColumn:
			return keep["column "+table+"."+c.C.Name]
		case *schema.DropIndex:
			return keep["index "+table+"."+c.I.Name]
		}
		return false
	}
	return func(next entschema.Differ) entschema.Differ {
		return entschema.DiffFunc(func(current, desired *schema.Schema) ([]schema.Change, error) {
			changes, err := next.Diff(current, desired)
			if err != nil {
				return nil, err
			}
			var kept []schema.Change
			for _, c := range changes {
				if m, ok := c.(*schema.ModifyTable); ok {
					var rest []schema.Change
					for _, tc := range m.Changes {
						if !handMadeDrop(m.T.Name, tc) {
							rest = append(rest, tc)
						}
					}
					if len(rest) == 0 {
						continue
					}
					m.Changes = rest
				}
				kept = append(kept, c)
			}
			return kept, nil
		})
	}
}

// CheckHandMade fails when a hand-made object of the dialect is missing from db, a
// database with all migrations applied: e.g. a later SQLite migration that rebuilt
// tasks (create, copy, drop, rename) and so dropped its search triggers.
func CheckHandMade(ctx context.Context, db *sql.DB, d string) error {
	for _, o := range handMade[d] {
		var n int
		var err error
		switch d {
		case dialect.Postgres:
			q := `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2`
			switch o.kind {
			case "column":
				q = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`
			case "trigger":
				q = `SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
					WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = $1 AND t.tgname = $2 AND NOT t.tgisinternal`
			case "table":
				q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1 AND table_name = $2`
			case "function":
				// The table names the table the function's triggers are on; the
				// function itself belongs to the schema.
				q = `SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND $1 <> '' AND proname = $2`
			case "statistics":
				q = `SELECT count(*) FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid
					WHERE s.stxnamespace = current_schema()::regnamespace AND c.relname = $1 AND s.stxname = $2`
			}
			err = db.QueryRowContext(ctx, q, o.table, o.name).Scan(&n)
		default:
			err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = ? AND name = ?`, o.kind, o.name).Scan(&n)
		}
		if err != nil {
			return fmt.Errorf("look for %s %s: %w", o.kind, o.name, err)
		}
		if n == 0 {
			return fmt.Errorf("the migrations leave no %s %s on %s (listed in migrations/handmade.go): a migration dropped it; create it again in that migration", o.kind, o.name, o.table)
		}
	}
	return nil
}
