package database

import (
	"strings"
	"testing"
)

// TestCheckURL: PostgreSQL URLs and plain SQLite files pass; a bare host name, another
// scheme or a name without a SQLite ending is refused (it would become a new file).
func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"", "file:portico.db", "portico.db", "data/portico", "/var/lib/portico.sqlite3",
		"sqlite:x.db", "file:diff?mode=memory&cache=shared", "postgres://u@h/db", "postgresql://h/db?sslmode=disable"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"pg-host.internal", "mysql://h/db", "portico", "') OR 1=1 --", "http://h/x.db"} {
		if err := CheckURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for url, want := range map[string]string{"": "portico.db", "file:/tmp/a.db?x=1": "/tmp/a.db", "postgres://h/d": "", "file:m?mode=memory": ""} {
		if got := SQLitePath(url); got != want {
			t.Errorf("SQLitePath(%q) = %q, want %q", url, got, want)
		}
	}
}

// TestPostgresDSN: readers are read-only and send arguments with their statement (one
// round trip); writers keep the text protocol that binds ent's JSON arguments; a
// setting in the URL wins over the defaults.
func TestPostgresDSN(t *testing.T) {
	reader, writer := postgresDSN("postgres://h/d", true), postgresDSN("postgres://h/d?jit=on", false)
	for _, want := range []string{"default_transaction_read_only=on", "binary_parameters=yes", "jit=off", "timezone=UTC"} {
		if !strings.Contains(reader, want) {
			t.Errorf("reader DSN %q lacks %s", reader, want)
		}
	}
	for _, unwanted := range []string{"binary_parameters", "default_transaction_read_only", "jit=off"} {
		if strings.Contains(writer, unwanted) {
			t.Errorf("writer DSN %q has %s", writer, unwanted)
		}
	}
}
