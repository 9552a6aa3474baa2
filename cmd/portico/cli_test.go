package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/migrations"
	"github.com/portico-dev/portico/servertest"
)

// TestHelp: help and every command's -h/--help end in flag.ErrHelp (main exits 0), and
// a command's help lists the environment variables its flags read.
func TestHelp(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"help"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "migrate") {
		t.Errorf("help: %v, %q", err, out.String())
	}
	for name := range commands {
		for _, h := range []string{"-h", "--help"} {
			if err := run(ctx, []string{name, h}, &out); !errors.Is(err, flag.ErrHelp) {
				t.Errorf("%s %s: %v, want flag.ErrHelp (exit 0)", name, h, err)
			}
		}
	}
	fs := newFlagSet("serve", serveUsage)
	fs.String("addr", fs.env("PORTICO_ADDR", ":8080"), "listen address")
	var usage bytes.Buffer
	fs.printUsage(&usage)
	if !strings.Contains(usage.String(), "PORTICO_ADDR") || !strings.Contains(usage.String(), "-addr") {
		t.Errorf("serve usage lists no environment: %s", usage.String())
	}
	if err := run(ctx, []string{"no-such-command"}, &out); !errors.Is(err, errUsage) {
		t.Errorf("an unknown command: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, &out); err != nil || !strings.HasPrefix(out.String(), "portico ") {
		t.Errorf("version: %v, %q", err, out.String())
	}
}

// TestEnvironmentIsChecked: a bad environment value is an error naming the variable
// (not silently the default); a boolean takes what a flag takes (PORTICO_DEMO=1).
func TestEnvironmentIsChecked(t *testing.T) {
	for _, tt := range []struct{ name, value, says string }{
		{"PORTICO_TOKEN_TTL", "abc", "PORTICO_TOKEN_TTL"},
		{"PORTICO_DEMO", "yes please", "PORTICO_DEMO"},
		{"PORTICO_MAX_SOCKETS_PER_USER", "') OR 1=1 --", "PORTICO_MAX_SOCKETS_PER_USER"},
		{"PORTICO_STATEMENT_TIMEOUT", "-5s", "may not be negative"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.name, tt.value)
			err := runServe(context.Background(), []string{"--database-url", "file:" + filepath.Join(t.TempDir(), "x.db"), "--addr", "127.0.0.1:0"})
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("%s=%q: %v", tt.name, tt.value, err)
			}
		})
	}
	t.Setenv("PORTICO_DEMO", "1") // accepted as a flag would be: the next error is the URL's
	err := runServe(context.Background(), []string{"--database-url", "pg-host.internal"})
	if err == nil || !strings.Contains(err.Error(), "neither a postgres:// URL nor a SQLite file") {
		t.Errorf("PORTICO_DEMO=1 with a bare host name: %v", err)
	}
}

// TestMigrateStatus: status and up --dry-run change nothing, up applies, and a database
// migrated by a newer Portico is refused by serve and shown by status, on both databases.
func TestMigrateStatus(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		url := servertest.DatabaseURL(t, dialect)
		if dialect == "sqlite" {
			path := strings.TrimPrefix(url, "file:")
			for _, args := range [][]string{{"status"}, {"up", "--dry-run"}} {
				if err := runMigrate(ctx, append(args, "--database-url", url)); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("status and a dry run created %s", path)
			}
		}
		st := status(t, url)
		if len(st.Applied) != 0 || len(st.Pending) == 0 {
			t.Fatalf("before up: %+v", st)
		}
		if err := runMigrate(ctx, []string{"up", "--dry-run", "--database-url", url}); err != nil {
			t.Fatal(err)
		}
		if st := status(t, url); len(st.Applied) != 0 {
			t.Fatalf("a dry run applied %v", st.Applied)
		}
		if err := runMigrate(ctx, []string{"--database-url", url, "up"}); err != nil {
			t.Fatal(err)
		}
		if st := status(t, url); len(st.Pending) != 0 || len(st.Applied) == 0 {
			t.Fatalf("after up: %+v", st)
		}
		_, db, err := database.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		insert := "INSERT INTO portico_migrations (version) VALUES ('29991231000000')"
		if _, err := db.Exec(insert); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := runMigrate(ctx, []string{"status", "--database-url", url}); err == nil || !strings.Contains(err.Error(), "29991231000000") {
			t.Errorf("status of a newer database: %v", err)
		}
		err = runServe(ctx, []string{"--database-url", url, "--addr", "127.0.0.1:0", "--log-level", "error"})
		if err == nil || !strings.Contains(err.Error(), "newer Portico") {
			t.Errorf("serve on a newer database: %v", err)
		}
	})
}

func status(t *testing.T, url string) struct{ Applied, Pending []string } {
	t.Helper()
	d, db, err := database.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := migrations.Status(context.Background(), db, d)
	if err != nil {
		t.Fatal(err)
	}
	return struct{ Applied, Pending []string }{st.Applied, st.Pending}
}
