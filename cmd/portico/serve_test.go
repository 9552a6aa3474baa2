package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
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
