package portico_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/servertest"
)

// accessServer starts a SQLite demo server trusting proxies, logging JSON at debug
// level (every access line) into the returned buffer.
func accessServer(t *testing.T, proxies ...string) (*servertest.Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := demo()
	cfg.TrustedProxies = proxies
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return servertest.Start(t, "sqlite", cfg), logs
}

// postWith posts a GraphQL query with extra headers and returns the response's
// X-Request-Id and first error code.
func postWith(t *testing.T, srv *servertest.Server, query string, headers map[string]string) (id, code string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	return resp.Header.Get("X-Request-Id"), out.Code()
}

// accessLines returns the access lines logged.
func accessLines(t *testing.T, logs *logBuffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

const wrongLogin = `mutation Login { login(input: {username: "alice", password: "wrong"}) { token } }`

// failLogins sends five wrong passwords for alice (the throttle's burst per name and
// address), each with the X-Forwarded-For xff(i).
func failLogins(t *testing.T, srv *servertest.Server, xff func(i int) string) {
	t.Helper()
	for i := range 5 {
		if _, code := postWith(t, srv, wrongLogin, map[string]string{"X-Forwarded-For": xff(i)}); code != "UNAUTHENTICATED" {
			t.Fatalf("failure %d: %s", i, code)
		}
	}
}

// TestAccessUntrustedPeer: a peer that is no trusted proxy is the client, whatever its
// X-Forwarded-For and X-Request-Id say: in the access line, for the login throttle and
// for the request id.
func TestAccessUntrustedPeer(t *testing.T) {
	srv, logs := accessServer(t)
	failLogins(t, srv, func(i int) string { return "203.0.113." + string(rune('1'+i)) })
	// A sixth address in the header changes nothing: the throttle keys on the peer.
	id, code := postWith(t, srv, wrongLogin, map[string]string{"X-Forwarded-For": "198.51.100.99", "X-Request-Id": "spoofed-id"})
	if code != "FORBIDDEN" {
		t.Fatalf("sixth failure from the same peer: %s, want FORBIDDEN (throttled)", code)
	}
	if id == "spoofed-id" {
		t.Error("an untrusted peer chose the request id")
	}
	alice := srv.Client()
	alice.Token = srv.Login(t, "bob", "bob").Token
	alice.MustDo(t, `query Me { viewer { name } }`, nil, nil)
	lines := accessLines(t, logs)
	if len(lines) < 7 {
		t.Fatalf("%d access lines", len(lines))
	}
	for _, l := range lines {
		if l["client"] != "127.0.0.1" {
			t.Errorf("client %v, want the peer 127.0.0.1: %v", l["client"], l)
		}
		if _, ok := l["durationMs"].(float64); !ok {
			t.Errorf("no durationMs: %v", l)
		}
	}
	last := lines[len(lines)-1]
	if last["operation"] != "Me" || last["userId"] == nil || last["route"] != "/graphql" {
		t.Errorf("last line %v: want operation Me, a userId and route /graphql", last)
	}
	if lines[0]["operation"] != "Login" || lines[0]["userId"] != nil {
		t.Errorf("first line %v: want operation Login and no user", lines[0])
	}
}

// TestAccessTrustedProxy: behind a trusted proxy the client is the forwarded address,
// in the access line and for the throttle, and the proxy's request id is kept.
func TestAccessTrustedProxy(t *testing.T) {
	srv, logs := accessServer(t, "127.0.0.0/8")
	failLogins(t, srv, func(int) string { return "203.0.113.7" })
	if _, code := postWith(t, srv, wrongLogin, map[string]string{"X-Forwarded-For": "203.0.113.7"}); code != "FORBIDDEN" {
		t.Fatalf("sixth failure from 203.0.113.7: %s, want FORBIDDEN", code)
	}
	// Another client behind the same proxy is not throttled.
	id, code := postWith(t, srv, wrongLogin, map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.8", "X-Request-Id": "proxy-id.42"})
	if code != "UNAUTHENTICATED" {
		t.Fatalf("another client behind the proxy: %s, want UNAUTHENTICATED", code)
	}
	if id != "proxy-id.42" {
		t.Errorf("request id %q, want the proxy's", id)
	}
	lines := accessLines(t, logs)
	last := lines[len(lines)-1]
	if last["client"] != "203.0.113.8" || last["requestId"] != "proxy-id.42" {
		t.Errorf("last line %v: want client 203.0.113.8 and the proxy's request id", last)
	}
	if lines[0]["client"] != "203.0.113.7" {
		t.Errorf("first line %v: want client 203.0.113.7", lines[0])
	}
}

// TestAccessHostileHeaders: garbage, many hops and huge values in the forwarding
// headers of a trusted proxy neither fail the request nor reach the log raw.
func TestAccessHostileHeaders(t *testing.T) {
	srv, logs := accessServer(t, "127.0.0.0/8")
	huge := strings.Repeat("A", 200<<10)
	cases := []map[string]string{
		{"X-Forwarded-For": "<script>alert(1)</script>", "X-Request-Id": "id <with> \"control\""},
		{"X-Forwarded-For": strings.Repeat("10.0.0.1, ", 5000) + "127.0.0.1", "X-Request-Id": strings.Repeat("x", 65)},
		{"X-Forwarded-For": huge, "X-Request-Id": huge},
		{"X-Forwarded-For": "1.2.3.4:99999, ::ffff:zz, [::1", "X-Request-Id": "ünïcode"},
	}
	for _, h := range cases {
		id, _ := postWith(t, srv, `query Hostile { viewer { name } }`, h)
		if len(id) != 16 {
			t.Errorf("request id %q: want a fresh one for a hostile value", id)
		}
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if len(l) > 2000 {
			t.Errorf("log line of %d bytes: %.200s", len(l), l)
		}
		for _, bad := range []string{"<script>", "control", "ünïcode", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if strings.Contains(l, bad) {
				t.Errorf("log line carries %q: %.200s", bad, l)
			}
		}
	}
	if n := len(accessLines(t, logs)); n != len(cases) {
		t.Errorf("%d access lines for %d requests", n, len(cases))
	}
}
