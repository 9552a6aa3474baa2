package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/benchdata"
	"github.com/portico-dev/portico/servertest"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{d, 50, 50 * time.Millisecond},
		{d, 90, 90 * time.Millisecond},
		{d, 99, 99 * time.Millisecond},
		{d, 99.5, 100 * time.Millisecond},
		{d, 100, 100 * time.Millisecond},
		{d, 0, time.Millisecond},
		{d[:10], 50, 5 * time.Millisecond},
		{d[:10], 99, 10 * time.Millisecond},
		{d[:3], 50, 2 * time.Millisecond},
		{d[:1], 99, time.Millisecond},
		{nil, 50, 0},
	} {
		if got := percentile(c.values, c.p); got != c.want {
			t.Errorf("p%v of %d values: %v, want %v", c.p, len(c.values), got, c.want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8080/graphql":        true,
		"http://localhost:8080/graphql":        true,
		"https://[::1]/graphql":                true,
		"http://127.9.9.9/graphql":             true,
		"http://example.com/graphql":           false,
		"http://10.0.0.1:8080/graphql":         false,
		"http://127.0.0.1.example.com/graphql": false,
		"ftp://127.0.0.1/graphql":              false,
		"127.0.0.1:8080":                       false,
	} {
		if err := checkLoopback(raw); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed=%v", raw, err, ok)
		}
	}
}

// page is a tasks response with total tasks and n edges.
func page(total, n int) string {
	edges := make([]string, n)
	for i := range edges {
		edges[i] = fmt.Sprintf(`{"node":{"id":"%d","name":"t","state":"SUSPENDED","priority":"NORMAL"}}`, i+1)
	}
	return fmt.Sprintf(`{"data":{"tasks":{"totalCount":%d,"edges":[%s]}}}`, total, strings.Join(edges, ","))
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"full page", 200, page(12000, 50), true},
		{"all of few tasks", 200, page(7, 7), true},
		{"no tasks", 200, page(0, 0), true},
		{"short page", 200, page(12000, 49), false},
		{"too many edges", 200, page(7, 8), false},
		{"graphql error", 200, `{"errors":[{"message":"boom"}],"data":null}`, false},
		{"error beside data", 200, `{"errors":[{"message":"boom"}],` + page(12000, 50)[1:], false},
		{"http error", 500, page(12000, 50), false},
		{"no tasks field", 200, `{"data":{}}`, false},
		{"not json", 200, `<html>`, false},
	} {
		var out response
		_ = json.Unmarshal([]byte(c.body), &out) // as post does: not JSON leaves it empty
		if err := check(c.status, []byte(c.body), out, TasksQuery); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// fake is a GraphQL endpoint for login and the tasks query; every third tasks response
// is bad, alternating between a GraphQL error and a short page.
type fake struct {
	served, bad atomic.Int64
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string
		Variables map[string]string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(req.Query, "mutation") {
		if req.Variables["u"] != "bench" || req.Variables["p"] != "bench" {
			fmt.Fprint(w, `{"errors":[{"message":"wrong user name or password"}],"data":null}`)
			return
		}
		fmt.Fprint(w, `{"data":{"login":{"token":"tok"}}}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok" || req.Query != TasksQuery {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	time.Sleep(time.Millisecond)
	switch n := f.served.Add(1); {
	case n%6 == 0:
		f.bad.Add(1)
		fmt.Fprint(w, `{"errors":[{"message":"boom"}],"data":null}`)
	case n%3 == 0:
		f.bad.Add(1)
		fmt.Fprint(w, page(12000, 20))
	default:
		fmt.Fprint(w, page(12000, 50))
	}
}

func TestRun(t *testing.T) {
	f := &fake{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := config{URL: srv.URL + "/graphql", User: "bench", Password: "bench", Levels: []int{1, 4},
		Duration: 400 * time.Millisecond, Warmup: 50 * time.Millisecond}
	start := time.Now()
	results, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("two levels of 450ms took %v", took)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	total, failures := 0, 0
	for i, r := range results {
		t.Logf("%+v", r)
		if r.Concurrency != cfg.Levels[i] || r.Requests < 20 || r.Failures == 0 || r.Failures >= r.Requests {
			t.Errorf("level %d: %+v", cfg.Levels[i], r)
		}
		// A third of the responses are bad; the window cuts a few at either end.
		if share := float64(r.Failures) / float64(r.Requests); share < 0.25 || share > 0.42 {
			t.Errorf("level %d: failure share %.2f, want about 1/3", r.Concurrency, share)
		}
		if !(r.P50 >= 1 && r.P50 <= r.P90 && r.P90 <= r.P99 && r.P99 <= r.Max) {
			t.Errorf("level %d: latencies out of order: %+v", r.Concurrency, r)
		}
		if want := float64(r.Requests-r.Failures) / cfg.Duration.Seconds(); r.Throughput != want {
			t.Errorf("level %d: throughput %v, want %v", r.Concurrency, r.Throughput, want)
		}
		if r.FirstError == "" {
			t.Errorf("level %d: no first error", r.Concurrency)
		}
		total += r.Requests
		failures += r.Failures
	}
	if int64(total) > f.served.Load() || int64(failures) > f.bad.Load() {
		t.Errorf("counted %d requests, %d failures; the server sent %d, %d bad", total, failures, f.served.Load(), f.bad.Load())
	}
	var out strings.Builder
	printTable(&out, results)
	if !strings.Contains(out.String(), "p99 ms") || strings.Count(out.String(), "\n") < 3 {
		t.Errorf("table:\n%s", out.String())
	}

	cfg.Password = "wrong"
	if _, err := run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("wrong password: %v", err)
	}
	cfg.URL = "http://example.com/graphql"
	if _, err := run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("remote URL: %v", err)
	}
}

// TestWindow checks what a level keeps: requests answered after the warmup, even if sent
// during it, and not those unanswered at the end, which count as unfinished.
func TestWindow(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			fmt.Fprint(w, `{"data":{"login":{"token":"tok"}}}`)
			return
		}
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, page(3, 3))
	}))
	defer srv.Close()
	// Requests are answered at 300 ms (kept: after the 100 ms warmup) and would be at
	// 600 ms (cut off by the end at 500 ms).
	cfg := config{URL: srv.URL, User: "u", Password: "p", Levels: []int{2},
		Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond}
	results, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Requests != 2 || r.Failures != 0 || r.Unfinished != 2 || r.Throughput != 5 || r.P50 < 300 || r.Max > 450 {
		t.Errorf("%+v, want 2 requests of ~300 ms and 2 unfinished", r)
	}
}

func TestSingleOrderBy(t *testing.T) {
	for in, want := range map[string]string{
		`orderBy: [{field: CREATED_AT, direction: DESC}]`:                                                                          `orderBy: {field: CREATED_AT, direction: DESC}`,
		`where: {businessState: [OPEN]}, orderBy: [{field: PRIORITY, direction: DESC}, {field: EXPIRY_TIMESTAMP, direction: ASC}]`: `where: {businessState: [OPEN]}, orderBy: {field: PRIORITY, direction: DESC}`,
		`where: {businessState: [OPEN]}`:                                                                                           `where: {businessState: [OPEN]}`,
	} {
		if got := singleOrderBy(in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	for _, s := range Shapes {
		q := s.query("42", false)
		if strings.Contains(s.Args, "orderBy") && !strings.Contains(q, "orderBy: [") {
			t.Errorf("%s: order not in the list form: %s", s.Name, q)
		}
		if strings.Contains(q, "%CREATOR%") || !strings.Contains(q, "totalCount") || !strings.Contains(q, "pageInfo") {
			t.Errorf("%s: %s", s.Name, q)
		}
	}
}

func TestParseViewers(t *testing.T) {
	vs, err := parseViewers("bench:bench, small:bench,admin:secret:all")
	if err != nil || len(vs) != 3 || vs[1].Name != "small" || vs[2].Password != "secret" || !vs[2].All || vs[0].All {
		t.Errorf("%+v, %v", vs, err)
	}
	for _, bad := range []string{"bench", "admin:pw:root", ":pw", "a:b:all:x"} {
		if _, err := parseViewers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckPage(t *testing.T) {
	for _, c := range []struct {
		name   string
		page   int
		writes bool
		body   string
		ok     bool
	}{
		{"first page", 1, false, page(12000, 50), true},
		{"short first page", 1, false, page(12000, 49), false},
		{"short first page under writes", 1, true, page(12000, 49), true},
		{"fifth page", 5, false, page(230, 30), true},
		{"fifth page beyond the end", 5, false, page(100, 0), true},
		{"wrong fifth page", 5, false, page(230, 50), false},
		{"too many edges under writes", 1, true, page(12000, 51), false},
		{"error", 1, false, `{"errors":[{"message":"boom"}],"data":null}`, false},
	} {
		if err := checkPage("tasks", c.page, c.writes)(200, []byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if err := checkPage("cases", 1, false)(200, []byte(page(3, 3))); err == nil {
		t.Error("a tasks page passed as cases")
	}
}

// TestMatrix runs every shape as the three viewers, read-only and with writes, against
// a server on a small benchmark data set, and checks every totalCount against SQL.
func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		url := servertest.DatabaseURL(t, dialect)
		quiet := slog.New(slog.DiscardHandler)
		if err := benchdata.Run(ctx, url, benchdata.Options{Scale: 0.001, AdminPassword: "adminadmin"}, quiet); err != nil {
			t.Fatal(err)
		}
		srv := servertest.Start(t, dialect, portico.Config{DatabaseURL: url, Logger: quiet})
		vs, _ := parseViewers("bench:bench,small:bench,admin:adminadmin:all")
		cfg := config{URL: srv.URL + "/graphql", Matrix: true, Shapes: Shapes, Viewers: vs, Levels: []int{1, 4},
			Duration: 50 * time.Millisecond, Warmup: 10 * time.Millisecond,
			// The server's orderBy takes one object until the list form lands; a single
			// object is also a valid list, so this stays right afterwards.
			SingleOrder: true,
			Writes:      40, WriteResponsible: "#user00001", DatabaseURL: url, Checks: 2, CheckGap: 30 * time.Millisecond,
			TargetP99: 15, TargetRPS: 300, TargetRatio: 1.5}
		cells, err := runMatrix(ctx, cfg, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 2*len(Shapes)*3 {
			t.Errorf("%d cells, want %d", len(cells), 2*len(Shapes)*3)
		}
		var out strings.Builder
		printMatrix(&out, cfg, cells)
		t.Log("\n" + out.String())
		if n := problems(cells); n > 0 {
			t.Errorf("%d cells with problems", n)
		}
		requests := 0
		for _, c := range cells {
			if c.Checks == 0 || len(c.Levels) != 2 {
				t.Errorf("%+v", c)
			}
			for _, r := range c.Levels {
				requests += r.Requests
			}
		}
		if requests < len(cells) {
			t.Errorf("%d requests in %d cells", requests, len(cells))
		}
		if strings.Count(out.String(), "\n") < len(Shapes)*3+2 || !strings.Contains(out.String(), "W 4c req/s") {
			t.Errorf("table:\n%s", out.String())
		}
	})
}

// TestPrintMatrix checks the table's figures, ratios and targets on made-up cells.
func TestPrintMatrix(t *testing.T) {
	cfg := config{Levels: []int{1, 32}, Writes: 10, TargetP99: 15, TargetRPS: 300, TargetRatio: 1.5}
	cells := []Cell{
		{Shape: "fast", Viewer: "bench", TotalCount: 7, Checks: 1, Levels: []Result{
			{Concurrency: 1, Requests: 100, P50: 2, P99: 10}, {Concurrency: 32, Requests: 1000, Throughput: 500, P99: 80}}},
		{Shape: "slow", Viewer: "bench", TotalCount: 7, Checks: 1, Levels: []Result{
			{Concurrency: 1, Requests: 3, P50: 400, P99: 500}, {Concurrency: 32, Unfinished: 32}}},
		{Shape: "fast", Viewer: "bench", Writes: true, TotalCount: 7, Checks: 3, Levels: []Result{
			{Concurrency: 1, Requests: 100, P50: 2, P99: 12}, {Concurrency: 32, Requests: 500, Throughput: 250, P99: 100}}},
		{Shape: "slow", Viewer: "bench", Writes: true, TotalCount: 7, Checks: 3, Mismatches: []string{"totalCount 8, the database counts 7"},
			Levels: []Result{{Concurrency: 1, Unfinished: 1}, {Concurrency: 32, Unfinished: 32}}},
	}
	var b strings.Builder
	printMatrix(&b, cfg, cells)
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	fast, slow := strings.Fields(lines[1]), strings.Fields(lines[2])
	// shape viewer total 1c-p50 1c-p99 32c-req/s 32c-p99, W the same, ×1c ×32c, fail, counts, missed
	if got := strings.Join(fast[3:13], " "); got != "2.0 10.0 500 80.0 2.0 12.0 250 100.0 1.20 2.00" {
		t.Errorf("fast row figures: %s", got)
	}
	if got := strings.Join(fast[13:], " "); got != "0 4/4 ok W req/s@32, ×2.00" {
		t.Errorf("fast row checks and targets: %s", got)
	}
	if got := strings.Join(slow[3:], " "); got != "400.0 500.0 - - - - - - - - 0 3/4 ok p99@1, req/s@32, W p99@1, W req/s@32" {
		t.Errorf("slow row: %s", got)
	}
	if !strings.Contains(out, "! slow / bench (writes): totalCount 8, the database counts 7") || problems(cells) != 1 {
		t.Errorf("the mismatch is not reported:\n%s", out)
	}
}
