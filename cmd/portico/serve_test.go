package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeShutsDownGracefully runs `portico serve --demo` and cancels its context, as
// SIGTERM does: the server stops accepting, returns without error, and the same database
// opens again (it was closed cleanly).
func TestServeShutsDownGracefully(t *testing.T) {
	db := "file:" + filepath.Join(t.TempDir(), "portico.db")
	for round := range 2 {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- runServe(ctx, []string{"--demo", "--addr", addr, "--database-url", db, "--log-level", "error"})
		}()
		waitHealthy(t, "http://"+addr+"/healthz")
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: serve returned %v", round, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: serve did not stop within 20 s of SIGTERM", round)
		}
		if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
			t.Fatalf("round %d: still serving after shutdown", round)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}

// TestServeDebugListener: --debug-addr serves pprof on its own loopback listener, not on
// the main one, and a non-loopback address is refused before anything starts.
func TestServeDebugListener(t *testing.T) {
	db := "file:" + filepath.Join(t.TempDir(), "portico.db")
	addr, debug := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--demo", "--addr", addr, "--debug-addr", debug, "--database-url", db, "--log-level", "error"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitHealthy(t, "http://"+addr+"/healthz")
	get := func(url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if body := get("http://" + debug + "/debug/pprof/goroutine?debug=1"); !strings.HasPrefix(body, "goroutine profile: total ") {
		t.Errorf("debug listener: goroutine profile starts %.80q", body)
	}
	if body := get("http://" + addr + "/debug/pprof/goroutine?debug=1"); strings.Contains(body, "goroutine profile") {
		t.Error("the main listener serves pprof")
	}

	// A cancelled context: should the check let an address through, serve fails (or stops)
	// at once with another error instead of listening on it.
	stopped, stop := context.WithCancel(context.Background())
	stop()
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "127.0.0.1"} {
		err := runServe(stopped, []string{"--demo", "--addr", freeAddr(t), "--debug-addr", bad,
			"--database-url", "file:" + filepath.Join(t.TempDir(), "other.db"), "--log-level", "error"})
		if err == nil || !strings.Contains(err.Error(), "--debug-addr") {
			t.Errorf("--debug-addr %s: %v, want refused", bad, err)
		}
	}
}

// TestServeMetricsListener: --metrics-addr serves /metrics on its own listener, after
// traffic on the main one; the main listener does not serve it, and a bad
// --trusted-proxies is refused.
func TestServeMetricsListener(t *testing.T) {
	db := "file:" + filepath.Join(t.TempDir(), "portico.db")
	addr, metrics := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--demo", "--addr", addr, "--metrics-addr", metrics, "--trusted-proxies", "10.0.0.0/8, 127.0.0.1",
			"--database-url", db, "--log-level", "error"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitHealthy(t, "http://"+addr+"/healthz")
	get := func(url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := get("http://" + metrics + "/metrics"); !strings.Contains(body, `portico_http_requests_total{method="GET",route="GET /healthz",status="200"}`) {
		t.Errorf("metrics listener: no healthz requests counted in %.300q", body)
	}
	if body := get("http://" + addr + "/metrics"); strings.Contains(body, "portico_http_requests_total") {
		t.Error("the main listener serves metrics")
	}

	err := runServe(context.Background(), []string{"--demo", "--addr", freeAddr(t), "--trusted-proxies", "proxy.internal",
		"--database-url", "file:" + filepath.Join(t.TempDir(), "other.db")})
	if err == nil || !strings.Contains(err.Error(), "proxy.internal") {
		t.Errorf("--trusted-proxies proxy.internal: %v, want refused", err)
	}
}
