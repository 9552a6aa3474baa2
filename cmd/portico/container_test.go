package main

import (
	"context"
	"debug/elf"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthCommand: portico health exits 0 (nil) on a 200 and fails on another status
// or no server; without --url it asks /healthz on --addr's port at 127.0.0.1.
func TestHealthCommand(t *testing.T) {
	status := http.StatusOK
	var asked string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.Path
		w.WriteHeader(status)
		w.Write([]byte("ok\n"))
	}))
	defer hs.Close()
	ctx := context.Background()
	if err := runHealth(ctx, []string{"--url", hs.URL + "/readyz"}); err != nil || asked != "/readyz" {
		t.Errorf("healthy server: %v (asked %s)", err, asked)
	}
	port := hs.URL[strings.LastIndex(hs.URL, ":")+1:]
	if err := runHealth(ctx, []string{"--addr", ":" + port}); err != nil || asked != "/healthz" {
		t.Errorf("default URL from --addr: %v (asked %s)", err, asked)
	}
	status = http.StatusServiceUnavailable
	if err := runHealth(ctx, []string{"--url", hs.URL + "/healthz"}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v, want an error naming it", err)
	}
	if err := runHealth(ctx, []string{"--addr", freeAddr(t), "--timeout", "2s"}); err == nil {
		t.Error("no server: no error")
	}
}

// TestStaticBinary builds portico as the Containerfile does (CGO_ENABLED=0) and checks
// the binary is static (no ELF interpreter, no shared libraries), serves on SQLite (the
// pure Go driver works without cgo), passes its own health check, and drains and exits 0
// on a real SIGTERM. The image itself is built by TestContainerImage where podman is.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: builds the whole module again with CGO off")
	}
	bin := filepath.Join(t.TempDir(), "portico")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/portico: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	if f.Section(".interp") != nil || len(libs) > 0 {
		t.Errorf("not a static binary: interpreter %v, libraries %v", f.Section(".interp") != nil, libs)
	}
	f.Close()

	addr := freeAddr(t)
	serve := exec.Command(bin, "serve", "--demo", "--addr", addr, "--drain-delay", "0s",
		"--database-url", "file:"+filepath.Join(t.TempDir(), "portico.db"), "--log-level", "warn")
	var log strings.Builder
	serve.Stderr = &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
		}
	}()
	waitHealthy(t, "http://"+addr+"/healthz")
	health := func() error {
		return exec.Command(bin, "health", "--addr", addr).Run()
	}
	if err := health(); err != nil {
		t.Errorf("portico health on a serving server: %v", err)
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM\n%s", log.String())
	}
	if err := health(); err == nil {
		t.Error("portico health succeeds with the server stopped")
	}
}

// TestContainerImage builds the image from Containerfile with podman; skipped where
// podman is absent (it needs the golang and distroless base images from their
// registries).
func TestContainerImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("skipped: podman is not installed; the image is not built here (TestStaticBinary checks the binary it holds)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The build starts from the golang and distroless images; a machine that cannot reach
	// their registries cannot build it (these machines reach the Go proxy, Debian and npm
	// only; podman build of a FROM scratch image works there, podman run is refused by
	// their sandbox's rlimits).
	for _, base := range []string{"docker.io/library/golang:1.26-bookworm", "gcr.io/distroless/static-debian12:nonroot"} {
		if exec.CommandContext(ctx, podman, "image", "exists", base).Run() == nil {
			continue
		}
		pull, cancelPull := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(pull, podman, "pull", "-q", base).CombinedOutput()
		cancelPull()
		if err != nil {
			t.Skipf("skipped: podman cannot pull the base image %s here (no registry reachable): %v\n%s", base, err, out)
		}
	}
	tag := "localhost/portico-test:" + time.Now().Format("20060102150405")
	out, err := exec.CommandContext(ctx, podman, "build", "--format", "docker", "-t", tag, "-f", "Containerfile", "../..").CombinedOutput()
	if err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	defer exec.Command(podman, "rmi", tag).Run()
	out, err = exec.CommandContext(ctx, podman, "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "portico ") {
		t.Errorf("podman run %s version: %v\n%s", tag, err, out)
	}
}
