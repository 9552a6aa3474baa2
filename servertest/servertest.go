// Package servertest starts real Portico servers for tests, on SQLite and on a fresh
// PostgreSQL database, and talks GraphQL to them over HTTP.
package servertest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/lib/pq"

	"github.com/portico-dev/portico"
)

// PostgresEnv names the variable with the PostgreSQL server tests create databases on.
const PostgresEnv = "PORTICO_TEST_POSTGRES"

// DefaultPostgres is the server used when PostgresEnv is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Dialects are the databases every test runs against.
var Dialects = []string{"sqlite", "postgres"}

// EachDialect runs fn as a subtest per database.
func EachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// DatabaseURL returns a URL of a new empty database of the dialect, removed after the test.
func DatabaseURL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return "file:" + filepath.Join(t.TempDir(), "portico.db")
	}
	server := os.Getenv(PostgresEnv)
	if server == "" {
		server = DefaultPostgres
	}
	admin, err := sql.Open("postgres", server)
	if err != nil {
		t.Fatalf("open PostgreSQL %s: %v", server, err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("portico_test_%d", rand.Uint64())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database on %s (is PostgreSQL running?): %v", server, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Server is a running test server.
type Server struct {
	*portico.Server
	URL  string
	HTTP *httptest.Server
}

// Start starts a server on cfg; with an empty DatabaseURL, on a new database of dialect.
// Demo data is loaded unless cfg says otherwise through AdminPassword.
//
// Its database pools hold one connection each (PostgreSQL's writers and readers,
// SQLite's readers beside its one writer) unless cfg.DB.MaxConns says otherwise: a
// request that waits for a connection of a pool it holds one of then hangs in every test
// that sends it, not only under a production load (CI once hung for 5 minutes so).
func Start(t testing.TB, dialect string, cfg portico.Config) *Server {
	t.Helper()
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = DatabaseURL(t, dialect)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testLogOut(), nil))
	}
	switch cfg.DB.MaxConns {
	case 0:
		cfg.DB.MaxConns = 1
	case ProductionPools:
		cfg.DB.MaxConns = 0
	}
	srv, err := portico.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	hs := httptest.NewServer(srv.Handler)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &Server{Server: srv, URL: hs.URL, HTTP: hs}
}

// ProductionPools, as Config.DB.MaxConns, gives Start's server the pools' production
// sizes instead of one connection each.
const ProductionPools = -1

// Response is a GraphQL response.
type Response struct {
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the extensions.code of the first error, or "" without errors.
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Client sends GraphQL requests with an optional bearer token.
type Client struct {
	URL   string
	Token string
}

// Client returns an anonymous client of the server.
func (s *Server) Client() *Client { return &Client{URL: s.URL + "/graphql"} }

// Do posts a query and decodes the response; transport failures fail the test.
func (c *Client) Do(t testing.TB, query string, vars map[string]any) *Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", c.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode response (HTTP %d): %v: %s", resp.StatusCode, err, raw)
	}
	return &out
}

// MustDo posts a query, fails the test on any GraphQL error and decodes data into out.
func (c *Client) MustDo(t testing.TB, query string, vars map[string]any, out any) {
	t.Helper()
	r := c.Do(t, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("query failed: %+v\nquery: %s", r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatalf("decode data: %v: %s", err, r.Data)
		}
	}
}

// Login returns a client logged in as name.
func (s *Server) Login(t testing.TB, name, password string) *Client {
	t.Helper()
	var out struct {
		Login struct{ Token string } `json:"login"`
	}
	c := s.Client()
	c.MustDo(t, `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": name, "p": password}, &out)
	c.Token = out.Login.Token
	return c
}

// testLogOut is where test servers log: nowhere, unless PORTICO_TEST_LOG=1.
func testLogOut() io.Writer {
	if os.Getenv("PORTICO_TEST_LOG") == "1" {
		return os.Stderr
	}
	return io.Discard
}
