package benchdata_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/benchdata"
	"github.com/portico-dev/portico/bootstrap"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// prepared returns the URL of a new migrated and bootstrapped database and the open database.
func prepared(t *testing.T, dialect string) (string, *database.DB) {
	t.Helper()
	ctx := context.Background()
	url := servertest.DatabaseURL(t, dialect)
	db, err := database.Open(ctx, url, database.Options{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := bootstrap.Ensure(policy.SystemContext(ctx), db.Client, "adminadmin", false); err != nil {
		t.Fatal(err)
	}
	return url, db
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	opts := benchdata.Options{Scale: 0.001}
	want := opts.Counts()
	for _, dialect := range servertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			url, db := prepared(t, dialect)
			sum, err := benchdata.Generate(ctx, db, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *sum)

			// Counts are as scaled; the admin and Everybody come from bootstrap.
			for _, c := range []struct {
				name      string
				query     string
				got, want int
			}{
				{"users", "SELECT COUNT(*) FROM users", sum.Users + 1, want.Users + 3},
				{"roles", "SELECT COUNT(*) FROM roles", sum.Roles + 1, want.Roles + 2},
				{"member links", "SELECT COUNT(*) FROM role_members", sum.MemberLinks, want.MemberLinks},
				{"user roles", "SELECT COUNT(*) FROM user_roles", sum.UserRoles + 1, -1},
				{"cases", "SELECT COUNT(*) FROM cases", sum.Cases, want.Cases},
				{"tasks", "SELECT COUNT(*) FROM tasks", sum.Tasks, want.Tasks},
				{"responsibles", "SELECT COUNT(*) FROM task_responsibles", sum.Responsibles, -1},
			} {
				n := count(t, db.SQL, c.query)
				if n != c.got || (c.want >= 0 && n != c.want) {
					t.Errorf("%s: %d rows, summary %d, want %d", c.name, n, c.got, c.want)
				}
			}

			checks := []struct {
				name  string
				query string
				want  int
			}{
				{"tasks without 1-2 responsibles", `SELECT COUNT(*) FROM tasks t WHERE
					(SELECT COUNT(*) FROM task_responsibles r WHERE r.task_id = t.id) NOT IN (1, 2)`, 0},
				{"responsibles with both or neither user and role", `SELECT COUNT(*) FROM task_responsibles
					WHERE (user_id IS NULL) = (role_id IS NULL) OR expiry`, 0},
				{"depth of the role tree", `WITH RECURSIVE tree(id, depth) AS (
					SELECT id, 0 FROM roles WHERE parent_id IS NULL
					UNION ALL
					SELECT r.id, tree.depth + 1 FROM roles r JOIN tree ON r.parent_id = tree.id)
					SELECT MAX(depth) FROM tree`, 6},
				{"roles outside the tree", `WITH RECURSIVE tree(id) AS (
					SELECT id FROM roles WHERE parent_id IS NULL
					UNION ALL
					SELECT r.id FROM roles r JOIN tree ON r.parent_id = tree.id)
					SELECT (SELECT COUNT(*) FROM roles) - (SELECT COUNT(*) FROM tree)`, 0},
				{"users without a role", `SELECT COUNT(*) FROM users u
					WHERE NOT EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id)`, 0},
				{"bench users", `SELECT COUNT(*) FROM users WHERE name = 'bench'`, 1},
				{"small users with SmallRole alone", `SELECT COUNT(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id
					JOIN roles r ON r.id = ur.role_id WHERE u.name = 'small' AND r.name = 'bench-small'
					AND (SELECT COUNT(*) FROM user_roles x WHERE x.user_id = u.id) = 1`, 1},
				{"tasks of SmallRole", `SELECT COUNT(*) FROM task_responsibles
					WHERE role_id = (SELECT id FROM roles WHERE name = 'bench-small')`, want.SmallTasks},
				{"tasks without custom fields", `SELECT COUNT(*) FROM tasks WHERE custom_fields IS NULL`, 0},
				{"cases without custom fields", `SELECT COUNT(*) FROM cases WHERE custom_fields IS NULL`, 0},
				{"distinct task timestamps", `SELECT COUNT(DISTINCT created_at) FROM tasks`, want.Tasks},
				{"tasks in a missing case", `SELECT COUNT(*) FROM tasks t
					WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = t.case_id)`, 0},
			}
			for table, start := range benchdata.IDStarts {
				checks = append(checks, struct {
					name  string
					query string
					want  int
				}{table + " ids outside their range", "SELECT COUNT(*) FROM " + table + " WHERE id < " +
					strconv.FormatInt(start, 10) + " OR id >= " + strconv.FormatInt(start+1<<32, 10), 0})
			}
			for _, c := range checks {
				if n := count(t, db.SQL, c.query); n != c.want {
					t.Errorf("%s: %d, want %d", c.name, n, c.want)
				}
			}
			if sum.BenchUser != "bench" || sum.BenchEffectiveRoles < 2 || sum.BenchVisibleTasks < 1 ||
				sum.SmallUser != "small" || sum.SmallVisibleTasks != want.SmallTasks {
				t.Errorf("bench user: %+v", *sum)
			}
			// bench reaches some of its roles only through a member link.
			parentsOnly := count(t, db.SQL, `WITH RECURSIVE eff(id) AS (
				SELECT role_id FROM user_roles WHERE user_id = (SELECT id FROM users WHERE name = 'bench')
				UNION
				SELECT r.parent_id FROM roles r JOIN eff ON r.id = eff.id WHERE r.parent_id IS NOT NULL)
				SELECT COUNT(*) FROM eff`)
			if parentsOnly >= sum.BenchEffectiveRoles {
				t.Errorf("bench has %d roles through parents alone, %d in all: no member link used", parentsOnly, sum.BenchEffectiveRoles)
			}

			// Later inserts continue after the generated ids.
			sys := policy.SystemContext(ctx)
			r, err := db.Client.Role.Create().SetName("after-bench").Save(sys)
			if err != nil {
				t.Fatalf("create a role after generating: %v", err)
			}
			u, err := db.Client.User.Create().SetName("after-bench").AddRoles(r).Save(sys)
			if err != nil {
				t.Fatalf("create a user after generating: %v", err)
			}
			if r.ID>>32 != int(benchdata.IDStarts["roles"]>>32) || u.ID>>32 != int(benchdata.IDStarts["users"]>>32) {
				t.Errorf("new ids %d, %d outside their ranges", r.ID, u.ID)
			}
			db.Close()

			// The server sees exactly the tasks the generator counted for bench.
			srv := servertest.Start(t, dialect, portico.Config{DatabaseURL: url})
			c := srv.Login(t, "bench", "bench")
			var out struct {
				Tasks struct {
					TotalCount int
					Edges      []struct {
						Node struct{ ID, Name, State, Priority string }
					}
				}
			}
			c.MustDo(t, `query { tasks(first: 50, orderBy: {field: CREATED_AT, direction: DESC}) {
				totalCount edges { node { id name state priority } } } }`, nil, &out)
			if out.Tasks.TotalCount != sum.BenchVisibleTasks {
				t.Errorf("server: bench sees %d tasks, generator counted %d", out.Tasks.TotalCount, sum.BenchVisibleTasks)
			}
			if len(out.Tasks.Edges) != min(50, sum.BenchVisibleTasks) {
				t.Errorf("server: %d edges of %d tasks", len(out.Tasks.Edges), out.Tasks.TotalCount)
			}
			// small sees its role's tasks, filters on the custom fields and descriptions work.
			cs := srv.Login(t, "small", "bench")
			cs.MustDo(t, `query { tasks(first: 50) { totalCount edges { node { id } } } }`, nil, &out)
			if out.Tasks.TotalCount != want.SmallTasks {
				t.Errorf("server: small sees %d tasks, want %d", out.Tasks.TotalCount, want.SmallTasks)
			}
			for _, f := range []struct{ where, sql string }{
				{`{customFields: [{name: "region", equals: "EU"}]}`, `custom_fields LIKE '%"region":"EU"%'`},
				{`{text: "invoice"}`, `LOWER(name) LIKE '%invoice%' OR LOWER(description) LIKE '%invoice%'`},
			} {
				a := srv.Login(t, "admin", "adminadmin")
				a.MustDo(t, `query { tasks(first: 1, where: `+f.where+`) { totalCount } }`, nil, &out)
				q := "SELECT COUNT(*) FROM tasks WHERE " + f.sql
				if dialect == "postgres" {
					q = strings.Replace(q, "custom_fields LIKE", "custom_fields::text LIKE", 1)
					q = strings.ReplaceAll(q, `"region":"EU"`, `"region": "EU"`)
				}
				sdb, err := database.Open(ctx, url, database.Options{}, quiet)
				if err != nil {
					t.Fatal(err)
				}
				n := count(t, sdb.SQL, q)
				sdb.Close()
				if n == 0 || n == want.Tasks || out.Tasks.TotalCount != n {
					t.Errorf("admin, where %s: %d tasks, SQL counts %d of %d", f.where, out.Tasks.TotalCount, n, want.Tasks)
				}
			}
			// Other generated users log in with the same password.
			srv.Login(t, "user00001", "bench")
		})
	}
}

// TestGenerateDeterministic checks that a seed reproduces the data set and another changes it.
func TestGenerateDeterministic(t *testing.T) {
	ctx := context.Background()
	run := func(seed uint64) benchdata.Summary {
		_, db := prepared(t, "sqlite")
		sum, err := benchdata.Generate(ctx, db, benchdata.Options{Scale: 0.001, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		s := *sum
		s.Elapsed = 0
		return s
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("seed 7 twice: %+v and %+v", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same summary %+v", a)
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	url := servertest.DatabaseURL(t, "sqlite")
	opts := benchdata.Options{Scale: 0.001, AdminPassword: "adminadmin"}
	if err := benchdata.Run(ctx, url, opts, quiet); err != nil {
		t.Fatal(err)
	}
	err := benchdata.Run(ctx, url, opts, quiet)
	if err == nil || !strings.Contains(err.Error(), "already has tasks") {
		t.Fatalf("second run on the same database: %v, want a refusal", err)
	}
	// Generate refuses a database without bootstrap.
	db, err := database.Open(ctx, servertest.DatabaseURL(t, "sqlite"), database.Options{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := benchdata.Generate(ctx, db, opts); err == nil {
		t.Fatal("Generate on a database without Everybody succeeded")
	}
}

func TestCounts(t *testing.T) {
	for _, c := range []struct {
		scale float64
		want  benchdata.Counts
	}{
		{0, benchdata.Counts{Users: 10_000, Roles: 2_000, MemberLinks: 40, Cases: 200_000, Tasks: 1_000_000, SmallTasks: 100}},
		{1, benchdata.Counts{Users: 10_000, Roles: 2_000, MemberLinks: 40, Cases: 200_000, Tasks: 1_000_000, SmallTasks: 100}},
		{0.1, benchdata.Counts{Users: 1_000, Roles: 200, MemberLinks: 4, Cases: 20_000, Tasks: 100_000, SmallTasks: 10}},
		{0.001, benchdata.Counts{Users: 10, Roles: 30, MemberLinks: 2, Cases: 200, Tasks: 1_000, SmallTasks: 5}},
	} {
		if got := (benchdata.Options{Scale: c.scale}).Counts(); got != c.want {
			t.Errorf("scale %v: %+v, want %+v", c.scale, got, c.want)
		}
	}
}
