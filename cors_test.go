package portico_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/servertest"
)

// TestCORSPreflight: a preflight from a configured origin gets the CORS headers
// (Authorization and Content-Type allowed, no credentials), one from another origin
// gets none, and with no origins configured (the default) no origin gets any; the
// answer to the actual request carries Access-Control-Allow-Origin for the allowed
// origin only.
func TestCORSPreflight(t *testing.T) {
	const portal, other = "https://portal.example.com", "https://evil.example.com"
	cfg := demo()
	cfg.AllowedOrigins = []string{portal}
	srv := servertest.Start(t, "sqlite", cfg)
	plain := servertest.Start(t, "sqlite", demo())

	preflight := func(base, origin string) http.Header {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, base+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	h := preflight(srv.URL, portal)
	if got := h.Get("Access-Control-Allow-Origin"); got != portal {
		t.Errorf("allowed origin: Access-Control-Allow-Origin %q, want %q", got, portal)
	}
	if got := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") || !strings.Contains(got, "content-type") {
		t.Errorf("allowed origin: Access-Control-Allow-Headers %q, want authorization and content-type", got)
	}
	if got := h.Get("Access-Control-Allow-Methods"); got != "POST" {
		t.Errorf("allowed origin: Access-Control-Allow-Methods %q, want POST", got)
	}
	if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("allowed origin: Access-Control-Allow-Credentials %q, want none", got)
	}
	for name, h := range map[string]http.Header{
		"other origin":        preflight(srv.URL, other),
		"default, no origins": preflight(plain.URL, portal),
		"default, other":      preflight(plain.URL, other),
	} {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: preflight answered with %s: %q", name, k, h.Get(k))
			}
		}
	}

	post := func(base, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(srv.URL, portal); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != portal {
		t.Errorf("request from the allowed origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	for _, resp := range []*http.Response{post(srv.URL, other), post(plain.URL, portal)} {
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("request from an origin not allowed: Access-Control-Allow-Origin %q", got)
		}
	}
}

// TestCORSBrowser loads a page from another origin into headless Chromium; the page
// calls /graphql with a bearer token through fetch and puts the outcome in its title.
// From the allowed origin the viewer's name comes back; from another one the browser
// refuses the answer (fetch fails with a TypeError). Chromium is installed by
// .ci/chromium when missing; without it (and it cannot be installed) the test is
// skipped, except under CI=true, where it fails.
func TestCORSBrowser(t *testing.T) {
	chromium := findChromium(t)
	var api, token string
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>pending</title></head><body><pre id="out">pending</pre>
<script>
fetch(%q, {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer " + %q},
  body: JSON.stringify({query: "{ viewer { name } }"})})
  .then(r => r.json())
  .then(j => { document.title = "ok:" + j.data.viewer.name; document.getElementById("out").textContent = JSON.stringify(j); })
  .catch(e => { document.title = "failed:" + e.name; document.getElementById("out").textContent = String(e); });
</script></body></html>`, api, token)
	}
	allowed := httptest.NewServer(http.HandlerFunc(page))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(page))
	defer other.Close()

	cfg := demo()
	cfg.AllowedOrigins = []string{allowed.URL}
	srv := servertest.Start(t, "sqlite", cfg)
	api, token = srv.URL+"/graphql", srv.Login(t, "demo", "demo").Token

	for _, tt := range []struct{ name, url, want string }{
		{"allowed origin", allowed.URL, "<title>ok:demo</title>"},
		{"other origin", other.URL, "<title>failed:TypeError</title>"},
	} {
		dom := dumpDOM(t, chromium, tt.url)
		if !strings.Contains(dom, tt.want) {
			t.Errorf("%s: page has no %s:\n%s", tt.name, tt.want, dom)
		}
	}
}

// findChromium returns headless Chromium's path, having .ci/chromium install it if
// needed.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	_, file, _, _ := runtime.Caller(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(file), ".ci", "chromium"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI: headless Chromium is required and .ci/chromium could not install it: %v\n%s", err, stderr.String())
		}
		t.Skipf("skipped: headless Chromium is not installed and .ci/chromium could not install it (%v: %s); install the Debian package chromium to run this test", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out))
}

// dumpDOM loads url in headless Chromium, lets the page's scripts run (virtual time,
// waiting for the network) and returns the DOM.
func dumpDOM(t *testing.T, chromium, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}
