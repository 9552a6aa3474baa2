// Command loadbench measures the task list under load: it logs in once, then per
// concurrency level runs closed-loop clients (each sends its next request when the last
// one answered) posting TasksQuery for -warmup plus -duration, and reports throughput
// and exact latency percentiles of the measured time. It only talks to loopback URLs.
//
// With -matrix it measures every list shape (Shapes: nine task lists, eight case lists)
// as every viewer of -viewers at every level of -concurrency (default 1,32), -duration
// each (default 3s after a 0.5s warmup), and prints one row per shape and viewer. With
// -writes N it then measures everything again while a writer sends N writes a second
// through the API (reserveTask/resetTask as the non-admin viewers, startProcess of an
// express process it creates as the admin) and adds the ratios to the read-only figures.
// With -db (the server's database) it checks every totalCount against a count in SQL,
// once per cell read-only and -checks times per cell under writes (the writer paused
// while it checks). It exits 1 when a count differs or a request failed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// TasksQuery is the request every client sends.
const TasksQuery = `query { tasks(first: 50, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id name state priority } } } }`

const loginMutation = `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`

type config struct {
	URL, User, Password string
	Query               string // TasksQuery unless -query gives another
	Levels              []int
	Duration, Warmup    time.Duration

	// -matrix
	Matrix           bool
	Shapes           []shape
	Viewers          []viewer
	SingleOrder      bool    // order lists sent as their first element
	Writes           float64 // writes per second of the second pass; 0: no second pass
	WriteResponsible string  // responsible of the started processes' tasks
	DatabaseURL      string  // for the reference counts; "": no count checks
	Checks           int     // count checks per cell under writes
	CheckGap         time.Duration
	TargetP99        float64 // ms, at 1 client
	TargetRPS        float64 // at the other levels
	TargetRatio      float64 // with writes over read-only
}

// Result is one level: requests answered in the measured time, latencies of successes,
// and the requests still unanswered at its end (dropped: their latency is unknown).
type Result struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Failures    int     `json:"failures"`
	Unfinished  int     `json:"unfinished"`
	Throughput  float64 `json:"throughputPerSecond"` // successes per second
	P50         float64 `json:"p50Ms"`
	P90         float64 `json:"p90Ms"`
	P99         float64 `json:"p99Ms"`
	Max         float64 `json:"maxMs"`
	FirstError  string  `json:"firstError,omitempty"`
}

func main() {
	cfg := config{Levels: []int{1, 64}}
	levelsSet := false
	flag.Func("concurrency", "comma-separated concurrency levels (default 1,64; with -matrix 1,32)", func(s string) error {
		levelsSet = true
		cfg.Levels = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 10000 {
				return fmt.Errorf("bad level %q: want 1..10000", f)
			}
			cfg.Levels = append(cfg.Levels, n)
		}
		return nil
	})
	asJSON := flag.Bool("json", false, "print the results as JSON")
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080/graphql", "GraphQL endpoint (loopback only)")
	flag.StringVar(&cfg.User, "user", "bench", "user name")
	flag.StringVar(&cfg.Password, "password", "bench", "password")
	flag.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measured time per level")
	flag.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "unmeasured time before each level")
	flag.StringVar(&cfg.Query, "query", TasksQuery, "GraphQL query to send (other than the default, a response passes with HTTP 200, data and no errors)")
	flag.BoolVar(&cfg.Matrix, "matrix", false, "measure every list shape as every viewer (see -viewers, -shapes, -writes, -db)")
	viewers := flag.String("viewers", "bench:bench,small:bench,admin:admin:all", "-matrix: name:password[:all] of each viewer; all: it has TaskReadAll and CaseReadAll")
	shapes := flag.String("shapes", "", "-matrix: comma-separated substrings of shape names to run (default all; -list-shapes shows them)")
	listShapes := flag.Bool("list-shapes", false, "print the shapes and their queries and exit")
	flag.BoolVar(&cfg.SingleOrder, "single-order", false, "-matrix: send each order list as its first element, for servers whose orderBy takes one object")
	flag.Float64Var(&cfg.Writes, "writes", 0, "-matrix: writes per second of a second pass with writes (0: read-only only)")
	flag.StringVar(&cfg.WriteResponsible, "write-responsible", "#user00001", "-matrix: responsible (role name or #user) of the tasks the writer's processes start")
	flag.StringVar(&cfg.DatabaseURL, "db", "", "-matrix: the server's database URL, to check every totalCount against SQL")
	flag.IntVar(&cfg.Checks, "checks", 3, "-matrix: count checks per cell under writes")
	flag.DurationVar(&cfg.CheckGap, "check-gap", 300*time.Millisecond, "-matrix: time between the count checks of a cell")
	flag.Float64Var(&cfg.TargetP99, "target-p99", 15, "-matrix: target p99 in ms at 1 client")
	flag.Float64Var(&cfg.TargetRPS, "target-rps", 300, "-matrix: target req/s at the other levels")
	flag.Float64Var(&cfg.TargetRatio, "target-ratio", 1.5, "-matrix: largest ratio of a figure with writes to read-only")
	flag.Parse()
	if *listShapes {
		for _, s := range Shapes {
			fmt.Printf("%s\n  %s\n", s.Name, s.query("<creator>", cfg.SingleOrder))
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if cfg.Matrix {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !levelsSet {
			cfg.Levels = []int{1, 32}
		}
		if !set["duration"] {
			cfg.Duration = 3 * time.Second
		}
		if !set["warmup"] {
			cfg.Warmup = 500 * time.Millisecond
		}
		var err error
		if cfg.Viewers, err = parseViewers(*viewers); err == nil {
			cfg.Shapes, err = pickShapes(*shapes)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(2)
		}
		logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
		cells, err := runMatrix(ctx, cfg, logf)
		if *asJSON {
			b, _ := json.MarshalIndent(cells, "", "  ")
			fmt.Println(string(b))
		} else {
			printMatrix(os.Stdout, cfg, cells)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		if bad := problems(cells); bad > 0 {
			fmt.Fprintf(os.Stderr, "loadbench: %d cells with count mismatches, failed requests or errors\n", bad)
			os.Exit(1)
		}
		return
	}
	results, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(results, "", "  ")
		fmt.Println(string(b))
		return
	}
	printTable(os.Stdout, results)
}

// checkLoopback refuses URLs that are not http(s) to localhost or a loopback address.
func checkLoopback(raw string) error {
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") &&
		(u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback()) {
		return nil
	}
	return fmt.Errorf("refusing %q: only http(s) URLs on localhost or a loopback address are allowed", raw)
}

func run(ctx context.Context, cfg config) ([]Result, error) {
	if err := checkLoopback(cfg.URL); err != nil {
		return nil, err
	}
	most := slices.Max(cfg.Levels) // a kept-alive connection per client
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: most, MaxIdleConnsPerHost: most}}
	defer client.CloseIdleConnections()
	token, err := login(ctx, client, cfg)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, n := range cfg.Levels {
		if r := measure(ctx, client, cfg, token, n); ctx.Err() == nil {
			results = append(results, r)
		}
	}
	return results, ctx.Err()
}

// response is a GraphQL response to the login mutation or the tasks query.
type response struct {
	Data struct {
		Login struct{ Token string }
		Tasks *struct {
			TotalCount int
			Edges      []json.RawMessage
		}
	}
	Errors []struct{ Message string }
}

// post sends a request and decodes the answer (empty if not JSON), read to the end.
func post(ctx context.Context, client *http.Client, u, token string, body []byte) (status int, raw []byte, out response, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, out, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, out, err
	}
	defer resp.Body.Close()
	if raw, err = io.ReadAll(resp.Body); err == nil && json.Unmarshal(raw, &out) != nil {
		out = response{}
	}
	return resp.StatusCode, raw, out, err
}

func login(ctx context.Context, client *http.Client, cfg config) (string, error) {
	body, _ := json.Marshal(map[string]any{"query": loginMutation, "variables": map[string]string{"u": cfg.User, "p": cfg.Password}})
	status, raw, out, err := post(ctx, client, cfg.URL, "", body)
	if err == nil && (status != http.StatusOK || len(out.Errors) > 0 || out.Data.Login.Token == "") {
		err = fmt.Errorf("HTTP %d: %.300s", status, raw)
	}
	if err != nil {
		return "", fmt.Errorf("login as %s: %w", cfg.User, err)
	}
	return out.Data.Login.Token, nil
}

// check accepts a tasks response: HTTP 200, no errors, and a full page: 50 edges, or
// all of them when there are fewer.
func check(status int, raw []byte, out response, query string) error {
	t := out.Data.Tasks
	switch {
	case status != http.StatusOK:
		return fmt.Errorf("HTTP %d: %.200s", status, raw)
	case len(out.Errors) > 0:
		return fmt.Errorf("graphql error: %s", out.Errors[0].Message)
	case query != TasksQuery:
		if !strings.Contains(string(raw), `"data":{`) {
			return fmt.Errorf("no data: %.200s", raw)
		}
		return nil
	case t == nil:
		return fmt.Errorf("no tasks in the response: %.200s", raw)
	case len(t.Edges) != min(50, t.TotalCount):
		return fmt.Errorf("%d edges of totalCount %d", len(t.Edges), t.TotalCount)
	}
	return nil
}

// measure runs n clients for warmup+duration, keeping the requests answered after the warmup.
func measure(ctx context.Context, client *http.Client, cfg config, token string, n int) Result {
	if cfg.Query == "" {
		cfg.Query = TasksQuery
	}
	body, _ := json.Marshal(map[string]string{"query": cfg.Query})
	return measureBody(ctx, client, cfg.URL, token, body, n, cfg.Warmup, cfg.Duration, func(status int, raw []byte) error {
		var out response
		if json.Unmarshal(raw, &out) != nil {
			out = response{}
		}
		return check(status, raw, out, cfg.Query)
	})
}

// measureBody runs n closed-loop clients posting body for warmup+duration, keeping the
// requests answered after the warmup; check judges each response.
func measureBody(ctx context.Context, client *http.Client, u, token string, body []byte, n int, warmup, duration time.Duration,
	check func(status int, raw []byte) error) Result {
	from := time.Now().Add(warmup)
	lctx, cancel := context.WithDeadline(ctx, from.Add(duration))
	defer cancel()
	lat, fails, errs := make([][]time.Duration, n), make([]int, n), make([]error, n)
	var wg sync.WaitGroup
	var unfinished atomic.Int64
	for i := range n {
		wg.Go(func() {
			for lctx.Err() == nil {
				t0 := time.Now()
				status, raw, _, err := post(lctx, client, u, token, body)
				d := time.Since(t0)
				if err == nil {
					err = check(status, raw)
				}
				switch {
				case lctx.Err() != nil:
					unfinished.Add(1)
				case t0.Add(d).Before(from): // warming up
				case err == nil:
					lat[i] = append(lat[i], d)
				case errs[i] == nil:
					errs[i] = err
					fallthrough
				default:
					fails[i]++
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{Concurrency: n, Unfinished: int(unfinished.Load()), Throughput: float64(len(all)) / duration.Seconds()}
	for i := range n {
		r.Failures += fails[i]
		if errs[i] != nil && r.FirstError == "" {
			r.FirstError = errs[i].Error()
		}
	}
	r.Requests = len(all) + r.Failures
	ms := func(p float64) float64 { return float64(percentile(all, p)) / float64(time.Millisecond) }
	r.P50, r.P90, r.P99, r.Max = ms(50), ms(90), ms(99), ms(100)
	return r
}

// percentile returns the nearest-rank p-th percentile of sorted durations: the smallest
// value with at least p% of all values at or below it (0 for none).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(max(int(math.Ceil(p/100*float64(len(sorted))))-1, 0), len(sorted)-1)]
}

func printTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\trequests\tfailures\tunfinished\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\t  first failure")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t  %.100s\n", r.Concurrency, r.Requests,
			r.Failures, r.Unfinished, r.Throughput, r.P50, r.P90, r.P99, r.Max, r.FirstError)
	}
	tw.Flush()
}
