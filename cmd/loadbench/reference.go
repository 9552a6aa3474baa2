package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/policy"
)

// reference counts in SQL what a viewer's list should count, mirroring policy's
// visibility rules (policy/visibility.go) for viewers without substitutes:
//   - a viewer with TaskReadAll and CaseReadAll (viewer.All) sees every non-system task
//     and every case;
//   - otherwise the tasks whose task_responsibles row (not expiry, not delayed, not
//     system) names the user or one of its effective roles (its roles and Everybody, then
//     every role reached through parents and member links: the holders of role_members
//     rows whose member_of_id is the role), the tasks it works on, and
//     (TaskReadOwnCaseTasks) the tasks of the cases it is involved in (created, owns,
//     works a task of, or started a task of); and the cases it is involved in or has a
//     visible task in.
type reference struct {
	db      *sql.DB
	dialect string
}

func openReference(dbURL string) (*reference, error) {
	d, db, err := database.Connect(dbURL) // no migration: the server's database as it is
	if err != nil {
		return nil, fmt.Errorf("reference counts: %w", err)
	}
	return &reference{db: db, dialect: d}, nil
}

func (r *reference) Close() error { return r.db.Close() }

func (r *reference) userID(ctx context.Context, name string) (int64, error) {
	var id int64
	if err := r.db.QueryRowContext(ctx, r.rebind("SELECT id FROM users WHERE name = ?"), name).Scan(&id); err != nil {
		return 0, fmt.Errorf("find user %s in the database: %w", name, err)
	}
	return id, nil
}

// visibleCTE defines vis (the ids of the viewer's visible tasks) and involved (its
// cases); its placeholders all take the user id.
const visibleCTE = `WITH RECURSIVE edges(src, dst) AS (
	SELECT id, parent_id FROM roles WHERE parent_id IS NOT NULL
	UNION ALL
	SELECT member_of_id, role_id FROM role_members
), eff(id) AS (
	SELECT role_id FROM user_roles WHERE user_id = ?
	UNION
	SELECT id FROM roles WHERE parent_id IS NULL AND name = '` + policy.EverybodyName + `'
	UNION
	SELECT edges.dst FROM edges JOIN eff ON edges.src = eff.id
), involved(id) AS (
	SELECT id FROM cases WHERE creator_id = ? OR owner_id = ?
	UNION
	SELECT case_id FROM tasks WHERE worker_id = ?
	UNION
	SELECT case_id FROM workflow_events WHERE user_id = ? AND kind = '` + policy.EventStarted + `' AND case_id IS NOT NULL
), vis(id) AS (
	SELECT task_id FROM task_responsibles
	WHERE expiry = FALSE AND delayed = FALSE AND system = FALSE AND (user_id = ? OR role_id IN (SELECT id FROM eff))
	UNION
	SELECT id FROM tasks WHERE system = FALSE AND (worker_id = ? OR case_id IN (SELECT id FROM involved))
)
`

const visibleCTEArgs = 7

// query returns the SQL counting what the shape's list shows v and its arguments.
func (r *reference) query(s shape, v *viewer, creator string) (string, []any) {
	table, alias := "tasks", "t"
	if s.List == "cases" {
		table, alias = "cases", "c"
	}
	var conds []string
	var args []any
	head := ""
	switch {
	case v.All && s.List == "tasks":
		conds = append(conds, "t.system = FALSE")
	case v.All:
	default:
		head = visibleCTE
		for range visibleCTEArgs {
			args = append(args, v.id)
		}
		if s.List == "tasks" {
			conds = append(conds, "t.id IN (SELECT id FROM vis)")
		} else {
			conds = append(conds, "c.id IN (SELECT id FROM involved UNION SELECT case_id FROM tasks WHERE id IN (SELECT id FROM vis))")
		}
	}
	if s.Where != nil {
		w := s.Where(r.dialect)
		if strings.Contains(w, "%CREATOR%") {
			w = strings.ReplaceAll(w, "%CREATOR%", "?")
			args = append(args, creator)
		}
		conds = append(conds, w)
	}
	q := head + "SELECT COUNT(*) FROM " + table + " " + alias
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return r.rebind(q), args
}

func (r *reference) count(ctx context.Context, s shape, v *viewer, creator string) (int, error) {
	q, args := r.query(s, v, creator)
	var n int
	if err := r.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("reference count: %w", err)
	}
	return n, nil
}

// rebind turns ? placeholders into PostgreSQL's $n.
func (r *reference) rebind(q string) string {
	if r.dialect != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
