package portico_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestProductionSwitches: GraphQL answers are never cached (Cache-Control: no-store);
// NoPlayground serves no playground and NoIntrospection refuses __schema, while queries
// still work.
func TestProductionSwitches(t *testing.T) {
	open := servertest.Start(t, "sqlite", portico.Config{Demo: true})
	closed := servertest.Start(t, "sqlite", portico.Config{Demo: true, NoPlayground: true, NoIntrospection: true})
	for _, tt := range []struct {
		srv        *servertest.Server
		playground int
		schema     bool
	}{{open, http.StatusOK, true}, {closed, http.StatusNotFound, false}} {
		resp, err := http.Get(tt.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.playground {
			t.Errorf("GET /: %d, want %d", resp.StatusCode, tt.playground)
		}
		c := tt.srv.Login(t, "demo", "demo")
		r := c.Do(t, `{ __schema { queryType { name } } }`, nil)
		if got := r.Code() == ""; got != tt.schema {
			t.Errorf("introspection answered %v, want %v (code %q)", got, tt.schema, r.Code())
		}
		var v struct{ Viewer struct{ Name string } }
		c.MustDo(t, `{ viewer { name } }`, nil, &v)
		if v.Viewer.Name != "demo" {
			t.Errorf("a query: %+v", v)
		}
		req, _ := http.NewRequest("POST", tt.srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { name } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
	}
}

// TestFailedStartLeavesNothingRunning: a configuration New refuses part way (after the
// bus is open) is an error naming it, and what New had started is stopped: no goroutine
// (bus listener, fan-out) outlives the failed call.
func TestFailedStartLeavesNothingRunning(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		url := servertest.DatabaseURL(t, dialect)
		before := runtime.NumGoroutine()
		_, err := portico.New(context.Background(), portico.Config{DatabaseURL: url, Demo: true, PasswordResetURL: "ftp://reset.example.com"})
		if err == nil || !strings.Contains(err.Error(), "password reset URL") {
			t.Fatalf("New with an ftp reset URL: %v, want an error naming it", err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines after the failed New, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	})
}
