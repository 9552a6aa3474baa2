package portico_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// scrape reads the server's /metrics as Prometheus text: each sample line
// (`name{labels} value`) keyed by what precedes the value.
func scrape(t *testing.T, srv *servertest.Server) map[string]float64 {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.Metrics.Handler())
	hs := httptest.NewServer(mux)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d, %v", resp.StatusCode, err)
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// scraped scrapes until every counter in least has reached its value, for at most
// five seconds, and returns the last scrape.
func scraped(t *testing.T, srv *servertest.Server, least map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, done := scrape(t, srv), true
		for k, min := range least {
			done = done && s[k] >= min
		}
		if done || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// want checks samples: each key's value must be at least the given one (exactly, with
// exact).
func want(t *testing.T, samples map[string]float64, exact bool, expect map[string]float64) {
	t.Helper()
	for k, min := range expect {
		v, ok := samples[k]
		switch {
		case !ok:
			t.Errorf("no sample %s", k)
		case exact && v != min, v < min:
			t.Errorf("%s = %v, want %v", k, v, min)
		}
	}
}

// TestMetricsAfterTraffic: a scrape after real traffic (a failed login, a query, a
// mutation with an error, a subscription with an event, a timer round) counts each of
// them, by route and operation name, never by raw path or a client's invented names.
func TestMetricsAfterTraffic(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	anon := srv.Client()
	if r := anon.Do(t, `mutation Login { login(input: {username: "alice", password: "wrong"}) { token } }`, nil); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("wrong password: %+v", r.Errors)
	}
	alice, carol := srv.Login(t, "alice", "alice"), srv.Login(t, "carol", "carol")
	alice.MustDo(t, `query Tasks { tasks { totalCount } }`, nil, nil)
	bad := carol.Do(t, `mutation Start { startTask(input: {id: "bogus"}) { task { id } } }`, nil)
	if bad.Code() == "" {
		t.Fatal("startTask of a bogus id succeeded")
	}
	if r := alice.Do(t, `{ nope }`, nil); r.Code() != "BAD_USER_INPUT" {
		t.Fatalf("invalid query: %+v", r.Errors)
	}
	// Raw paths never become labels.
	for _, p := range []string{"/documents/1", "/documents/2", "/no/such/path"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	sub := subscribe(t, srv, alice.Token, `subscription Updates { taskUpdated { kind task { id name } } }`)
	s := scrape(t, srv)
	want(t, s, true, map[string]float64{
		"portico_websocket_connections": 1,
		"portico_websocket_operations":  1,
	})
	startDemoTask(t, carol, "Check remaining holidays")
	if kind, _ := sub.event(); kind != "CHANGED" {
		t.Fatalf("event %s", kind)
	}
	if _, err := srv.Work.FireDue(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The server counts an event as delivered, and a request by its status, after
	// the write to the client returns, so the client can see both first.
	s = scraped(t, srv, map[string]float64{
		"portico_subscription_events_delivered_total":                              1,
		`portico_http_requests_total{method="POST",route="/graphql",status="200"}`: 6,
	})
	want(t, s, true, map[string]float64{
		"portico_login_failures_total":  1,
		"portico_login_throttled_total": 0,
		`portico_graphql_operations_total{code="UNAUTHENTICATED",operation="Login",type="mutation"}`:    1,
		`portico_graphql_operations_total{code="OK",operation="Tasks",type="query"}`:                    1,
		`portico_graphql_operations_total{code="` + bad.Code() + `",operation="Start",type="mutation"}`: 1,
		`portico_graphql_operations_total{code="OK",operation="Updates",type="subscription"}`:           1,
		`portico_graphql_operation_duration_seconds_count{operation="Tasks",type="query"}`:              1,
		`portico_http_requests_total{method="GET",route="GET /documents/{id}",status="401"}`:            2,
		`portico_http_requests_total{method="GET",route="/graphql",status="101"}`:                       1,
		"portico_timer_runs_total":         1,
		"portico_timer_run_failures_total": 0,
		"portico_timers_fired_total":       0,
	})
	want(t, s, false, map[string]float64{
		`portico_http_requests_total{method="POST",route="/graphql",status="200"}`: 6,
		"portico_subscription_events_delivered_total":                              1,
		"portico_subscription_events_dropped_total":                                0,
		"portico_subscription_events_lost_total":                                   0,
		"portico_list_index_sync_duration_seconds_count":                           1,
		"portico_mail_assignments_total":                                           0,
		`go_sql_max_open_connections{db_name="read"}`:                              1,
		`go_sql_max_open_connections{db_name="write"}`:                             1,
	})
	var refused bool
	for k := range s {
		if strings.HasPrefix(k, "portico_graphql_operations_total{code=\"BAD_USER_INPUT\"") {
			refused = true
		}
		if strings.Contains(k, "/documents/1") || strings.Contains(k, "/no/such/path") {
			t.Errorf("a raw path became a label: %s", k)
		}
	}
	if !refused {
		t.Error("the invalid query was not counted as BAD_USER_INPUT")
	}
}

// TestMetricsOperationNamesBounded: past MaxOperationNames distinct names, operations
// count as "other".
func TestMetricsOperationNamesBounded(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	c := srv.Login(t, "alice", "alice")
	for i := range 210 {
		c.MustDo(t, fmt.Sprintf(`query Q%d { viewer { id } }`, i), nil, nil)
	}
	s := scrape(t, srv)
	want(t, s, true, map[string]float64{
		`portico_graphql_operations_total{code="OK",operation="Q0",type="query"}`:    1,
		`portico_graphql_operations_total{code="OK",operation="other",type="query"}`: 210 - 200,
	})
	if _, ok := s[`portico_graphql_operations_total{code="OK",operation="Q209",type="query"}`]; ok {
		t.Error("the 210th name got its own series")
	}
}

// TestMetricsPostgresPool: the statistics of PostgreSQL's two pools (writers and
// readers), and a second server in the same process (its own
// registry) that does not collide with the first.
func TestMetricsPostgresPool(t *testing.T) {
	cfg := demo()
	cfg.DB.MaxConns = servertest.ProductionPools
	srv := servertest.Start(t, "postgres", cfg)
	other := servertest.Start(t, "sqlite", demo())
	srv.Login(t, "alice", "alice").MustDo(t, `{ tasks { totalCount } }`, nil, nil)
	s := scrape(t, srv)
	want(t, s, false, map[string]float64{
		`go_sql_max_open_connections{db_name="write"}`:       8,
		`go_sql_max_open_connections{db_name="read"}`:        8,
		`go_sql_open_connections{db_name="write"}`:           1,
		`go_sql_open_connections{db_name="read"}`:            1,
		`go_sql_in_use_connections{db_name="read"}`:          0,
		`go_sql_idle_connections{db_name="read"}`:            0,
		`go_sql_wait_count_total{db_name="read"}`:            0,
		`go_sql_wait_duration_seconds_total{db_name="read"}`: 0,
	})
	if v := scrape(t, other)[`go_sql_max_open_connections{db_name="write"}`]; v != 1 {
		t.Errorf("the SQLite server reports a writers' pool of %v, want its own single writer", v)
	}
}

// TestMetricsBusLag: an event one server publishes on the PostgreSQL bus is measured by
// the other when it arrives (portico_bus_lag_seconds).
func TestMetricsBusLag(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	before := scrape(t, b)["portico_bus_lag_seconds_count"]
	admin := a.Login(t, "admin", "admin")
	admin.MustDo(t, `mutation { setVariable(input: {name: "PortalLoginPageDisplay", value: "false"}) { variable { name } } }`, nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for scrape(t, b)["portico_bus_lag_seconds_count"] <= before {
		if time.Now().After(deadline) {
			t.Fatal("server b measured no bus lag for a's event")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sum := scrape(t, b)["portico_bus_lag_seconds_sum"]; sum < 0 || sum > 10 {
		t.Errorf("bus lag sum %v s", sum)
	}
}

// TestMetricsCacheLookups: each cache counts its hits and misses, after lookups that
// must miss and then hit: an operation sent twice, a persisted query asked by its hash
// before and after it was sent, one event for two equal subscriptions, a setting read
// twice, and on PostgreSQL reads run as prepared statements.
func TestMetricsCacheLookups(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		alice, carol := srv.Login(t, "alice", "alice"), srv.Login(t, "carol", "carol")
		before := scrape(t, srv)
		// lookups returns the hits and misses of cache since before.
		lookups := func(s map[string]float64, cache string) (hits, misses float64) {
			k := `portico_cache_lookups_total{cache="` + cache + `",result=`
			if _, ok := s[k+`"hit"}`]; !ok {
				t.Fatalf("no lookups of cache %s", cache)
			}
			return s[k+`"hit"}`] - before[k+`"hit"}`], s[k+`"miss"}`] - before[k+`"miss"}`]
		}

		q := `query Twice { tasks(first: 3) { totalCount } }`
		alice.MustDo(t, q, nil, nil)
		alice.MustDo(t, q, nil, nil)
		if hits, misses := lookups(scrape(t, srv), "graphql_documents"); hits != 1 || misses != 1 {
			t.Errorf("an operation sent twice: %v hits, %v misses of graphql_documents, want 1 and 1", hits, misses)
		}

		persisted := `query Persisted { viewer { id } }`
		hash := fmt.Sprintf("%x", sha256.Sum256([]byte(persisted)))
		if code := persistedQuery(t, srv, alice.Token, hash, ""); code != "PERSISTED_QUERY_NOT_FOUND" {
			t.Fatalf("an unknown hash: code %q", code)
		}
		for _, query := range []string{persisted, ""} { // registered, then by hash alone
			if code := persistedQuery(t, srv, alice.Token, hash, query); code != "" {
				t.Fatalf("persisted query (text %q): code %q", query, code)
			}
		}
		if hits, misses := lookups(scrape(t, srv), "persisted_queries"); hits != 1 || misses < 1 {
			t.Errorf("a persisted query: %v hits, %v misses, want 1 and at least 1", hits, misses)
		}

		for range 2 {
			alice.MustDo(t, `{ loginPage { displayLoginPage } }`, nil, nil)
		}
		if hits, _ := lookups(scrape(t, srv), "settings"); hits < 2 {
			t.Errorf("settings read twice: %v hits", hits)
		}

		same := `subscription Same { taskUpdated { kind task { id } } }`
		subs := []*wsClient{subscribe(t, srv, alice.Token, same), subscribe(t, srv, alice.Token, same)}
		startDemoTask(t, carol, "Check remaining holidays")
		for _, sub := range subs {
			if kind, _ := sub.event(); kind != "CHANGED" {
				t.Fatalf("event %s", kind)
			}
		}
		if hits, misses := lookups(scraped(t, srv, map[string]float64{"portico_subscription_events_delivered_total": 2}),
			"subscription_renderings"); hits != 1 || misses != 1 {
			t.Errorf("one event for two equal subscriptions: %v hits, %v misses of renderings, want 1 and 1", hits, misses)
		}

		s := scrape(t, srv)
		if _, ok := s[`portico_cache_lookups_total{cache="list_orders",result="hit"}`]; !ok {
			t.Error("no lookups of list_orders")
		}
		_, ok := s[`portico_cache_lookups_total{cache="sql_statements",result="hit"}`]
		if dialect == "sqlite" {
			if ok {
				t.Error("SQLite reported prepared statements, which it does not keep")
			}
			return
		}
		if hits, misses := lookups(s, "sql_statements"); hits < 1 || misses < 1 {
			t.Errorf("PostgreSQL statements after this traffic: %v hits, %v misses, want some of each", hits, misses)
		}
	})
}

// startDemoTask starts the task named name that c sees (a change alice's task
// subscriptions hear of).
func startDemoTask(t *testing.T, c *servertest.Client, name string) {
	t.Helper()
	var out struct {
		Tasks struct {
			Edges []struct{ Node struct{ ID, Name string } }
		}
	}
	c.MustDo(t, `{ tasks { edges { node { id name } } } }`, nil, &out)
	for _, e := range out.Tasks.Edges {
		if e.Node.Name == name {
			c.MustDo(t, fmt.Sprintf(`mutation { startTask(input: {id: %q}) { task { id } } }`, e.Node.ID), nil, nil)
			return
		}
	}
	t.Fatalf("no task %q", name)
}

// persistedQuery sends an automatic persisted query (its hash, and query unless empty)
// and returns the first error's code.
func persistedQuery(t *testing.T, srv *servertest.Server, token, hash, query string) string {
	t.Helper()
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out servertest.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode (HTTP %d): %v", resp.StatusCode, err)
	}
	return out.Code()
}
