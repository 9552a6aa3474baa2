package playground_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/playground"
)

// get serves one request to h and returns the response and its body.
func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestPage(t *testing.T) {
	tests := []struct {
		name, title, endpoint string
		want, notWant         []string
	}{
		{
			name: "plain", title: "Portico", endpoint: "/graphql",
			want: []string{"<title>Portico</title>", `data-endpoint="/graphql"`, "isHeadersEditorEnabled",
				`'{"Authorization": "Bearer "}'`, `login(input: {username: "admin", password: "admin"})`, "graphqlWs.createClient"},
		},
		{
			name: "escaped", title: `</title><script>alert(1)</script>`, endpoint: `/q"><script>x</script>`,
			want:    []string{"<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>", `data-endpoint="/q&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`},
			notWant: []string{"<script>alert(1)", "<script>x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, playground.Handler(tt.title, tt.endpoint), http.MethodGet, "/")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want text/html", ct)
			}
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("page does not contain %q", s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q", s)
				}
			}
		})
	}
}

func TestNoExternalURL(t *testing.T) {
	_, page := get(t, playground.Handler("Portico", "/graphql"), http.MethodGet, "/")
	urlRE := regexp.MustCompile(`(?i)\b(?:https?|wss?|ftp)://[a-z0-9\[][^\s"'<>]*`)
	tests := []struct {
		name, text string
		want       int
	}{
		{"page", page, 0},
		{"matcher finds a CDN", `<script src="https://unpkg.com/graphiql/graphiql.min.js">`, 1},
		{"matcher finds a websocket", `new WebSocket("wss://example.com/graphql")`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m := urlRE.FindAllString(tt.text, -1); len(m) != tt.want {
				t.Errorf("found URLs %q, want %d", m, tt.want)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	h := playground.Handler("Portico", "/graphql")
	_, page := get(t, h, http.MethodGet, "/")
	refs := regexp.MustCompile(`<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	wantType := map[string]string{".js": "text/javascript", ".css": "text/css"}
	if len(refs) != 5 {
		t.Fatalf("page references %d assets, want 5 (4 scripts, 1 stylesheet)", len(refs))
	}
	for _, ref := range refs {
		url := strings.ReplaceAll(ref[1], "&amp;", "&")
		t.Run(url, func(t *testing.T) {
			if !strings.HasPrefix(url, playground.AssetPrefix) {
				t.Fatalf("asset %q is not under %s", url, playground.AssetPrefix)
			}
			file := strings.SplitN(url, "?", 2)[0]
			res, body := get(t, h, http.MethodGet, url)
			if res.StatusCode != http.StatusOK || body == "" {
				t.Fatalf("GET %s: status %d, %d bytes", url, res.StatusCode, len(body))
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType[path.Ext(file)]) || wantType[path.Ext(file)] == "" {
				t.Errorf("Content-Type = %q, want %q", ct, wantType[path.Ext(file)])
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control = %q, want a long max-age", cc)
			}
			licence := path.Dir(file) + "/LICENSE"
			if res, body := get(t, h, http.MethodGet, licence); res.StatusCode != http.StatusOK || !strings.Contains(body, "MIT License") {
				t.Errorf("GET %s: status %d, want an MIT licence", licence, res.StatusCode)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	h := playground.Handler("Portico", "/graphql")
	tests := []struct {
		method, target string
		want           int
	}{
		{http.MethodGet, "/playground/assets/nope.js", http.StatusNotFound},
		{http.MethodGet, "/playground/assets/graphiql/nope.css", http.StatusNotFound},
		{http.MethodGet, "/playground/assets/", http.StatusNotFound},
		{http.MethodGet, "/playground/assets/graphiql", http.StatusNotFound},
		{http.MethodGet, "/playground/assets/../page.html", http.StatusNotFound},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodHead, "/", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			if res, _ := get(t, h, tt.method, tt.target); res.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}
