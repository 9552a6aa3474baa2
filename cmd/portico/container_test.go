package main

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
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

// TestContainerImage builds the image from Containerfile with podman and checks it:
// the config (non-root user, health check, entrypoint) and, in a build stage on top of
// it, that portico runs there as that user and migrates a SQLite file in /data. Skipped
// where podman is absent (a failure under CI=true, where .ci/run installs it).
//
// Where the base images cannot be pulled (these machines reach the Go proxy, Debian and
// npm, no container registry), it builds local stand-ins FROM scratch and passes them as
// GO_IMAGE and BASE_IMAGE: the go toolchain running this test, bind-mounted at
// /usr/local/go with the module and build caches, and a distroless-like base (CA
// certificates, /etc/passwd with nonroot 65532). RUN steps use chroot isolation: the
// sandbox here refuses the OCI runtime (setrlimit), so podman run cannot be used and the
// image is exercised by RUN steps instead.
func TestContainerImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI: podman is required (.ci/run installs it with .ci/debian podman)")
		}
		t.Skip("skipped: podman is not installed; the image is not built here (TestStaticBinary checks the binary it holds)")
	}
	if testing.Short() {
		t.Skip("skipped in -short: builds the whole module in a container")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	stamp := time.Now().Format("20060102150405")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, podman, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
		}
		return string(out)
	}
	// --layers=false keeps no intermediate images: with its tags removed at the end, the
	// test leaves nothing in podman's storage (about 80 MB a run otherwise).
	build := []string{"build", "--isolation", "chroot", "--format", "docker", "--layers=false"}
	var cleanup []string
	defer func() {
		for _, tag := range cleanup {
			exec.Command(podman, "rmi", "-f", tag).Run()
		}
	}()
	if !pullable(ctx, podman, "docker.io/library/golang:1.26-bookworm", "gcr.io/distroless/static-debian12:nonroot") {
		t.Log("the base images cannot be pulled here: building from local stand-ins")
		goImage, baseImage := "localhost/portico-test-go:"+stamp, "localhost/portico-test-static:"+stamp
		cleanup = append(cleanup, goImage, baseImage)
		run(append(build, "-t", baseImage, standIn(t, ""))...)
		env := goEnv(t)
		run(append(build, "-t", goImage, standIn(t, fmt.Sprintf(
			"ENV PATH=/usr/local/go/bin:/go/bin HOME=/root GOPATH=/go GOTOOLCHAIN=local GOFLAGS= GOPROXY=%q GOSUMDB=%q GONOSUMDB=%q",
			env["GOPROXY"], env["GOSUMDB"], env["GONOSUMDB"])))...)
		build = append(build, "--build-arg", "GO_IMAGE="+goImage, "--build-arg", "BASE_IMAGE="+baseImage,
			"-v", env["GOROOT"]+":/usr/local/go:ro", "-v", env["GOMODCACHE"]+":/go/pkg/mod", "-v", env["GOCACHE"]+":/root/.cache/go-build")
	}
	tag := "localhost/portico-test:" + stamp
	cleanup = append(cleanup, tag)
	run(append(build, "-t", tag, "-f", "Containerfile", "../..")...)

	config := run("image", "inspect", "--format", "{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Healthcheck}}", tag)
	for _, want := range []string{"65532:65532|", `["/usr/local/bin/portico"]`, `"/usr/local/bin/portico","health"`} {
		if !strings.Contains(config, want) {
			t.Errorf("image config %s lacks %s", strings.TrimSpace(config), want)
		}
	}
	check := filepath.Join(t.TempDir(), "Containerfile")
	if err := os.WriteFile(check, []byte("FROM "+tag+"\n"+
		`RUN ["/usr/local/bin/portico", "version"]`+"\n"+
		`RUN ["/usr/local/bin/portico", "migrate", "up", "--database-url", "file:/data/check.db"]`+"\n"+
		`RUN ["/usr/local/bin/portico", "migrate", "status", "--database-url", "file:/data/check.db"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checked := "localhost/portico-test-check:" + stamp
	cleanup = append(cleanup, checked)
	out := run("build", "--isolation", "chroot", "--layers=false", "-t", checked, "-f", check, filepath.Dir(check))
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "portico ") || strings.Contains(line, " pending") {
			t.Logf("in the image: %s", line)
		}
	}
	for _, want := range []string{"portico ", ", 0 pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("portico in the image: output lacks %q\n%s", want, tail([]byte(out), 4000))
		}
	}
}

// pullable reports whether every image is present or can be pulled (within a minute each).
func pullable(ctx context.Context, podman string, images ...string) bool {
	for _, image := range images {
		if exec.CommandContext(ctx, podman, "image", "exists", image).Run() == nil {
			continue
		}
		pull, cancel := context.WithTimeout(ctx, time.Minute)
		err := exec.CommandContext(pull, podman, "pull", "-q", image).Run()
		cancel()
		if err != nil {
			return false
		}
	}
	return true
}

// standIn writes the context of a FROM scratch base image: CA certificates, passwd and
// group with root and nonroot (65532), /tmp, and the extra Containerfile lines.
func standIn(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"etc/passwd":         "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":          "root:x:0:\nnonroot:x:65532:\n",
		"tmp/.keep":          "", // WORKDIR alone makes no directory in an image of no RUN steps
		"home/nonroot/.keep": "",
		"Containerfile":      "FROM scratch\nCOPY etc /etc\nCOPY tmp /tmp\nCOPY home /home\n" + extra + "\n",
	}
	if certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files["etc/ssl/certs/ca-certificates.crt"] = string(certs)
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goEnv is the go command's environment (go env -json), for the stand-in go image.
func goEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "env", "-json").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatalf("go env -json: %v", err)
	}
	return env
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
