package portico_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
	"github.com/portico-dev/portico/servertest"
)

func demo() portico.Config { return portico.Config{Demo: true} }

func TestLogin(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		login := `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token expiresAt user { name } } }`
		tests := []struct {
			name, user, password, code string
		}{
			{"right password", "demo", "demo", ""},
			{"admin in demo mode", "admin", "admin", ""},
			{"wrong password", "demo", "nope", "UNAUTHENTICATED"},
			{"unknown user", "nobody", "demo", "UNAUTHENTICATED"},
			{"empty password", "alice", "", "UNAUTHENTICATED"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := srv.Client().Do(t, login, map[string]any{"u": tt.user, "p": tt.password})
				if r.Code() != tt.code {
					t.Fatalf("code = %q, want %q (errors %+v)", r.Code(), tt.code, r.Errors)
				}
				if tt.code == "" && !strings.Contains(string(r.Data), `"name":"`+tt.user+`"`) {
					t.Fatalf("login returned %s", r.Data)
				}
			})
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	c := srv.Client()
	login := `mutation($p: String!) { login(input: {username: "bob", password: $p}) { token } }`
	for i := 0; i < 5; i++ {
		if code := c.Do(t, login, map[string]any{"p": "wrong"}).Code(); code != "UNAUTHENTICATED" {
			t.Fatalf("attempt %d: code %q", i, code)
		}
	}
	r := c.Do(t, login, map[string]any{"p": "bob"})
	if r.Code() != "FORBIDDEN" || !strings.Contains(r.Errors[0].Message, "too many failed logins") {
		t.Fatalf("6th attempt with the right password: %+v, want throttled", r.Errors)
	}
	// Another user from the same address is not yet throttled (the address allows 20).
	srv.Login(t, "alice", "alice")
}

func TestUnauthenticated(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		good := srv.Login(t, "demo", "demo").Token
		tests := []struct{ name, token, code string }{
			{"no token", "", "UNAUTHENTICATED"},
			{"garbage token", "not-a-jwt", "UNAUTHENTICATED"},
			{"tampered token", good[:len(good)-2] + "xx", "UNAUTHENTICATED"},
			{"valid token", good, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := &servertest.Client{URL: srv.URL + "/graphql", Token: tt.token}
				for _, q := range []string{`{ viewer { name } }`, `{ tasks(first: 5) { totalCount } }`} {
					if code := c.Do(t, q, nil).Code(); code != tt.code {
						t.Fatalf("%s: code %q, want %q", q, code, tt.code)
					}
				}
			})
		}
	})
}

func TestBadInput(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		c := srv.Login(t, "demo", "demo")
		tests := []struct{ name, query string }{
			{"syntax error", `{ viewer { name `},
			{"unknown field", `{ viewer { shoeSize } }`},
			{"wrong argument type", `{ tasks(first: "ten") { totalCount } }`},
			{"broken cursor", `{ tasks(after: "zzz") { totalCount } }`},
			{"unknown enum value", `{ tasks(where: {state: SLEEPING}) { totalCount } }`},
			{"too deep", `{ tasks { edges { node { case { tasks { edges { node { case { tasks { edges { node { case { tasks { edges { node { id } } } } } } } } } } } } } } } }`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.Do(t, tt.query, nil)
				if r.Code() != "BAD_USER_INPUT" {
					t.Fatalf("code %q, want BAD_USER_INPUT: %+v", r.Code(), r.Errors)
				}
				if r.Errors[0].Message == "" {
					t.Fatal("empty message")
				}
			})
		}
	})
}

func TestViewerAndTasks(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		query := `{ viewer { name roles { name } } tasks(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
			totalCount edges { cursor node { name state businessState priority responsibles { __typename ... on User { name } ... on Role { name } } } }
			pageInfo { hasNextPage endCursor } } }`
		// demo created the demo case, so with TaskReadOwnCaseTasks (an Everybody default)
		// it sees all its tasks; alice (First Level, under Support Group) sees her group's
		// task; bob (Team B, under Development) the Development one.
		want := map[string][]string{
			"demo":  {"Plan handover", "Check remaining holidays", "Approve leave request"},
			"alice": {"Check remaining holidays"},
			"bob":   {"Approve leave request"},
			"admin": {"Plan handover", "Check remaining holidays", "Approve leave request"},
		}
		for user, names := range want {
			var out struct {
				Viewer struct{ Name string }
				Tasks  struct {
					TotalCount int
					Edges      []struct {
						Node struct{ Name, State, BusinessState string }
					}
				}
			}
			srv.Login(t, user, user).MustDo(t, query, nil, &out)
			var got []string
			for _, e := range out.Tasks.Edges {
				got = append(got, e.Node.Name)
				if e.Node.BusinessState != "OPEN" {
					t.Errorf("%s: task %s business state %s", user, e.Node.Name, e.Node.BusinessState)
				}
			}
			if out.Viewer.Name != user || out.Tasks.TotalCount != len(names) || strings.Join(got, ",") != strings.Join(names, ",") {
				t.Errorf("%s sees %d %v, want %v", user, out.Tasks.TotalCount, got, names)
			}
		}
	})
}

func TestSurvivesRestart(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		url := servertest.DatabaseURL(t, dialect)
		first := servertest.Start(t, dialect, portico.Config{DatabaseURL: url, Demo: true})
		token := first.Login(t, "demo", "demo").Token
		first.HTTP.Close()
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		// No --demo and no admin password: the database is not empty, so it just opens.
		second := servertest.Start(t, dialect, portico.Config{DatabaseURL: url})
		c := second.Client()
		c.Token = token // the signing key lives in the database, so tokens survive too
		var out struct{ Tasks struct{ TotalCount int } }
		c.MustDo(t, `{ tasks { totalCount } }`, nil, &out)
		if out.Tasks.TotalCount != 3 {
			t.Fatalf("after restart demo sees %d tasks, want 3", out.Tasks.TotalCount)
		}
	})
}

func TestEmptyDatabaseNeedsAdminPassword(t *testing.T) {
	_, err := portico.New(context.Background(), portico.Config{DatabaseURL: servertest.DatabaseURL(t, "sqlite")})
	if err == nil || !strings.Contains(err.Error(), "admin-password") {
		t.Fatalf("err = %v, want a request for --admin-password", err)
	}
	srv := servertest.Start(t, "sqlite", portico.Config{AdminPassword: "s3cret-pw"})
	srv.Login(t, "admin", "s3cret-pw")
	if code := srv.Client().Do(t, `mutation { login(input: {username: "admin", password: "admin"}) { token } }`, nil).Code(); code != "UNAUTHENTICATED" {
		t.Fatalf("default password accepted outside demo mode: %q", code)
	}
}

// TestOldDatabaseMigrates brings a database to each earlier migration version, stores a
// user there with plain SQL, and checks the server upgrades it and the user can log in.
func TestOldDatabaseMigrates(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		entDialect := map[string]string{"sqlite": "sqlite3", "postgres": "postgres"}[dialect]
		versions, err := migrations.Versions(entDialect)
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) < 2 {
			t.Fatalf("need at least two migrations to test an upgrade, have %v", versions)
		}
		for _, v := range versions[:len(versions)-1] {
			t.Run(v, func(t *testing.T) {
				url := servertest.DatabaseURL(t, dialect)
				d, db, err := database.Connect(url)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := migrations.Apply(context.Background(), db, d, v); err != nil {
					t.Fatal(err)
				}
				insertOldUser(t, db, d)
				db.Close()
				srv := servertest.Start(t, dialect, portico.Config{DatabaseURL: url, AdminPassword: "unused-pw"})
				var out struct{ Viewer struct{ FullName string } }
				srv.Login(t, "old", "old-pw").MustDo(t, `{ viewer { fullName } }`, nil, &out)
				if out.Viewer.FullName != "Old Timer" {
					t.Fatalf("viewer after upgrade: %+v", out)
				}
			})
		}
	})
}

func insertOldUser(t *testing.T, db *sql.DB, dialect string) {
	t.Helper()
	// bcrypt hash of "old-pw"
	const hash = "$2a$11$VrA5B9gy7jkGbF4Vl9Gguu5.wvZPHCdhjrscElKDswWSQp5MPIiPW"
	q := `INSERT INTO users (created_at, updated_at, name, full_name, password_hash) VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'old', 'Old Timer', ?)`
	if dialect == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	if _, err := db.Exec(q, hash); err != nil {
		t.Fatalf("insert user into old schema: %v", err)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	tests := []struct {
		path, contains string
		status         int
	}{
		{"/healthz", "ok", 200},
		{"/readyz", "ok", 200},
		{"/", "graphiql", 200},
		{"/graphql?query=%7Bviewer%7Bname%7D%7D", "UNAUTHENTICATED", 200},
	}
	for _, tt := range tests {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tt.contains)) {
			t.Errorf("GET %s: %d %.200s", tt.path, resp.StatusCode, body)
		}
	}
	// A body over the cap is refused, and the server keeps serving.
	big := strings.NewReader(`{"query":"{ viewer { name } }","variables":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`)
	resp, err := http.Post(srv.URL+"/graphql", "application/json", big)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("2 MiB body accepted with %d", resp.StatusCode)
	}
	srv.Login(t, "demo", "demo")
}
