// Command subbench measures live subscriptions under load (issues #5 and #13): N websocket
// subscribers on one or more Portico servers, as one user or as many distinct users in
// roles with distinct filters, events published at a steady rate, every event checked
// for arrival at every subscriber that must get it and at no other. The same load runs, in the same run,
// against a bare websocket fan-out server (no GraphQL, no database, no auth: see bare.go),
// which is the limit on this machine; the report gives Portico's ratios against it.
//
// Every server is a child process (Portico built from this module, or -portico; the bare
// server is this binary re-executed with -bare-serve), so its CPU (utime+stime from
// /proc/PID/stat) and memory (VmRSS from /proc/PID/status) are measured apart from the
// load generator's. Each Portico configuration gets a fresh PostgreSQL database, created
// and dropped here, and runs `portico serve --demo` with the pprof debug listener, whose
// goroutine profile gives the goroutines per connection.
//
// Per target, in order:
//
//  1. measure RSS and goroutines before connecting;
//  2. connect -subscribers clients (spread evenly over the instances; at most
//     -dial-concurrency handshakes at a time); on Portico each speaks graphql-transport-ws:
//     connection_init with a token, connection_ack, then one subscribe. Without -users the
//     token is the admin's (one login, shared by every subscriber); with -users N,
//     subbench imports -roles roles and N users in them (importRoles as the admin), logs
//     every user in, and subscriber i uses user i%N's token, in role (i%N)%roles, and the
//     taskUpdated filter i%filters (filter k: the task's name does not contain "#k#");
//  3. wait -settle, then measure RSS and goroutines with every subscriber idle;
//  4. warm up: publish an unmeasured event (seq=0) every second until every subscriber
//     has one, which proves every subscription is registered (at most -warmup);
//  5. the measured window: publish -rate events per second for -window, each on the next
//     instance in turn (Portico: a mutation over HTTP as admin, setAnnouncement, or
//     startProcess with -users; bare: POST /broadcast). An event's text is "seq=N
//     t=UNIXNANO"; with -users its key is the id of the task startProcess created
//     (process seq%P: the task of role seq%roles, its name holding marker seq%filters;
//     see audience.go). Every subscriber records which events arrived and when (latency =
//     arrival - send, one machine, one clock). Server and load generator CPU are measured
//     from the first event to the end of the grace period (a lagging server's late work
//     counts);
//  6. wait -grace for late deliveries, close every connection, then count misses (events
//     a subscriber should have got and did not), wrong deliveries (events it should not
//     have got), duplicates and EVENTS_LOST messages, and compute exact latency
//     percentiles over all deliveries. The bare server delivers each event to the same
//     subscribers (they name role and filter in their URL, the broadcast its role and
//     marker).
//
// Flags:
//
//	-subscribers N       subscribers per target (default 10000)
//	-rate R              events per second in the window (default 5)
//	-window D            measured publishing time (default 30s)
//	-grace D             wait for late deliveries after the window (default 5s)
//	-settle D            idle time before measuring idle memory (default 3s)
//	-warmup D            give up waiting for every subscriber's warm-up event after D (default 30s)
//	-dial-concurrency N  handshakes in flight at once (default 16; connecting is bound by
//	                     the cores, and each Portico handshake reads the user)
//	-bare                run the bare fan-out server (default true)
//	-instances LIST      comma-separated Portico instance counts, one run each (default 1,3; "" for none)
//	-portico PATH        portico binary (default: go build ./cmd/portico into a temporary folder)
//	-postgres URL        PostgreSQL maintenance database where the benchmark databases are
//	                     created and dropped (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
//	-subscription KIND   announcement (announcementChanged, set by setAnnouncement) or task
//	                     (taskUpdated, set by updateTask on one demo task) (default announcement;
//	                     task with -users)
//	-users N             distinct viewers: N users of -roles roles, subscribers spread over
//	                     their tokens, events by startProcess (default 0: one admin token)
//	-roles R             roles of the users; each event's task is one role's (default 1)
//	-filters K           distinct taskUpdated(where:) filters spread over the subscribers
//	                     (default 0: none)
//	-profile DIR         save each Portico server's pprof profiles in DIR (created if missing): goroutines
//	                     (text), heap and memory statistics when idle, CPU over the
//	                     window, an execution trace of 3 s of it, heap at its end
//	-json                print the results as JSON
//
// Only loopback addresses are used: servers listen on 127.0.0.1 and -postgres must be
// local. The targets run one after another on the same cores as the load generator.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type config struct {
	Subscribers     int
	Rate            float64
	Window          time.Duration
	Grace           time.Duration
	Settle          time.Duration
	Warmup          time.Duration
	DialConcurrency int
	Bare            bool
	Instances       []int
	Portico         string
	Postgres        string
	Subscription    string
	Profile         string
	Users           int
	Roles           int
	Filters         int
}

func (c config) audience() audience {
	return audience{Users: c.Users, Roles: max(c.Roles, 1), Filters: c.Filters}
}

// events is how many events the window publishes.
func (c config) events() int {
	return max(1, int(c.Rate*c.Window.Seconds()+0.5))
}

func main() {
	cfg := config{Instances: []int{1, 3}}
	bareAddr := flag.String("bare-serve", "", "internal: run the bare fan-out server on this address")
	flag.IntVar(&cfg.Subscribers, "subscribers", 10000, "subscribers per target")
	flag.Float64Var(&cfg.Rate, "rate", 5, "events per second in the measured window")
	flag.DurationVar(&cfg.Window, "window", 30*time.Second, "measured publishing time")
	flag.DurationVar(&cfg.Grace, "grace", 5*time.Second, "wait for late deliveries after the window")
	flag.DurationVar(&cfg.Settle, "settle", 3*time.Second, "idle time before measuring idle memory")
	flag.DurationVar(&cfg.Warmup, "warmup", 30*time.Second, "longest wait for every subscriber's warm-up event")
	flag.IntVar(&cfg.DialConcurrency, "dial-concurrency", 16, "websocket handshakes in flight at once")
	flag.BoolVar(&cfg.Bare, "bare", true, "run the bare websocket fan-out server")
	flag.Func("instances", `comma-separated Portico instance counts, one run each (default 1,3; "" for none)`, func(s string) error {
		cfg.Instances = nil
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > 8 {
				return fmt.Errorf("bad instance count %q: want 1..8", f)
			}
			cfg.Instances = append(cfg.Instances, n)
		}
		return nil
	})
	flag.StringVar(&cfg.Portico, "portico", "", "portico binary (default: build ./cmd/portico)")
	flag.StringVar(&cfg.Postgres, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL maintenance database (loopback)")
	flag.StringVar(&cfg.Subscription, "subscription", "announcement", "announcement or task")
	flag.IntVar(&cfg.Users, "users", 0, "distinct viewers: users in -roles roles, subscribers spread over their tokens (0: the admin's token)")
	flag.IntVar(&cfg.Roles, "roles", 1, "roles of the -users; each event is visible to one")
	flag.IntVar(&cfg.Filters, "filters", 0, "distinct taskUpdated(where:) filters spread over the subscribers")
	flag.StringVar(&cfg.Profile, "profile", "", "folder for Portico's pprof profiles: goroutines and heap when idle, CPU and a 3 s execution trace over the window")
	asJSON := flag.Bool("json", false, "print the results as JSON")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *bareAddr != "" {
		if err := serveBare(ctx, *bareAddr); err != nil {
			fmt.Fprintln(os.Stderr, "subbench bare server:", err)
			os.Exit(1)
		}
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if cfg.Profile != "" {
		// Before the run, not after its minutes of logins: profiles saved into a
		// folder that does not exist were lost with a warning each.
		if err := os.MkdirAll(cfg.Profile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "subbench: -profile:", err)
			os.Exit(1)
		}
	}
	results, err := run(ctx, cfg)
	if *asJSON {
		b, _ := json.MarshalIndent(results, "", "  ")
		fmt.Println(string(b))
	} else {
		printTable(os.Stdout, cfg, results)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "subbench:", err)
		os.Exit(1)
	}
}

// checkConfig refuses settings the measurement cannot honour.
func checkConfig(cfg config) error {
	switch {
	case cfg.Subscribers < 1:
		return errors.New("-subscribers must be at least 1")
	case cfg.Rate <= 0 || cfg.Window <= 0:
		return errors.New("-rate and -window must be positive")
	case cfg.DialConcurrency < 1:
		return errors.New("-dial-concurrency must be at least 1")
	case cfg.Subscription != "announcement" && cfg.Subscription != "task":
		return fmt.Errorf("-subscription %q: want announcement or task", cfg.Subscription)
	case cfg.Users < 0 || cfg.Roles < 1 || cfg.Filters < 0:
		return errors.New("-users and -filters must not be negative, -roles at least 1")
	case cfg.Users == 0 && (cfg.Roles > 1 || cfg.Filters > 0):
		return errors.New("-roles and -filters need -users")
	case cfg.Users > 0 && cfg.Roles > cfg.Users:
		return errors.New("-roles must not exceed -users")
	}
	u, err := url.Parse(cfg.Postgres)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" ||
		u.Hostname() != "localhost" && !net.ParseIP(u.Hostname()).IsLoopback() {
		return fmt.Errorf("refusing -postgres %q: only postgres:// URLs on localhost or a loopback address", cfg.Postgres)
	}
	return nil
}

// run measures the bare server, then each Portico configuration, in that order. A failed
// target ends the run with the results so far.
func run(ctx context.Context, cfg config) ([]*Result, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "subbench-")
	if err != nil {
		return nil, err
	}
	keep := false // server logs stay for a look when something failed
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	var results []*Result
	measureOne := func(name string, start func(context.Context) (*target, error)) error {
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		slog.Info("starting", "target", name)
		t, err := start(tctx)
		if t != nil {
			defer t.close()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r, err := measure(tctx, cfg, t)
		if r != nil {
			results = append(results, r)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if cfg.Bare {
		if err := measureOne("bare", func(ctx context.Context) (*target, error) { return startBare(ctx, cfg, tmp) }); err != nil {
			keep = true
			return results, fmt.Errorf("%w (logs in %s)", err, tmp)
		}
	}
	if len(cfg.Instances) > 0 {
		bin := cfg.Portico
		if bin == "" {
			if bin, err = buildPortico(ctx, tmp); err != nil {
				return results, err
			}
		}
		for _, n := range cfg.Instances {
			name := fmt.Sprintf("portico×%d", n)
			err := measureOne(name, func(ctx context.Context) (*target, error) { return startPortico(ctx, cfg, bin, tmp, n) })
			if err != nil {
				keep = true
				return results, fmt.Errorf("%w (logs in %s)", err, tmp)
			}
		}
	}
	return results, nil
}

// Targets of issues #5 and #13: Portico against the bare server.
const (
	targetP99    = 1.5
	targetMemory = 1.3
)

func printTable(w io.Writer, cfg config, results []*Result) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(w, "%d subscribers per target, %g events/s for %s (%d events), grace %s; CPU from the first event to the end of the grace period\n",
		cfg.Subscribers, cfg.Rate, cfg.Window, cfg.events(), cfg.Grace)
	if a := cfg.audience(); a.Users > 0 {
		fmt.Fprintf(w, "as %d users in %d roles (each event visible to one role), %d distinct filters\n", a.Users, a.roles(), a.Filters)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tinstance\tsubscribers\tevents\texpected\tdelivered\tmisses\twrong\tdup\tlost\tp50 ms\tp99 ms\tmax ms\t"+
		"cpu s\tcpu %\tcpu µs/delivery\tRSS before MB\tRSS idle MB\tKB/idle sub\tgoroutines/conn\t")
	for _, r := range results {
		rows := r.Instances
		if len(rows) > 1 {
			rows = append(rows, r.Total)
		}
		for _, i := range rows {
			name := strconv.Itoa(i.Instance)
			if i.Instance == 0 {
				name = "total"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t\n",
				r.Target, name, i.Connected, i.Events, i.Expected, i.Deliveries, i.Misses, i.Wrong, i.Duplicates, i.EventsLost, i.P50, i.P99, i.Max,
				i.CPUSeconds, i.CPUPercent, 1e6*ratio(i.CPUSeconds, float64(i.Deliveries)),
				i.RSSBeforeMB, i.RSSIdleMB, i.KBPerSubscriber, i.GoroutinesPerConn)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "%s: load generator CPU %.1f s (%.0f%%); publish answered in p50 %.1f ms, p99 %.1f ms; %d publish errors; %d subscribers never ready",
			r.Target, r.LoadgenCPUSeconds, 100*ratio(r.LoadgenCPUSeconds, r.CPUSpanSeconds), r.PublishP50, r.PublishP99, r.PublishErrors, r.NotReady)
		if r.FirstError != "" {
			fmt.Fprintf(w, "; first error: %.200s", r.FirstError)
		}
		fmt.Fprintln(w)
	}
	var bare *Result
	for _, r := range results {
		if r.Target == "bare" {
			bare = r
		}
	}
	if bare == nil {
		return
	}
	fmt.Fprintln(w)
	for _, r := range results {
		if r == bare {
			continue
		}
		p99 := ratio(r.Total.P99, bare.Total.P99)
		mem := ratio(r.Total.KBPerSubscriber, bare.Total.KBPerSubscriber)
		t := r.Total
		fmt.Fprintf(w, "%s / bare: p99 %.2f× (target ≤ %.1f×: %s), memory per idle subscriber %.2f× (target ≤ %.1f×: %s), "+
			"misses %d, wrong %d, duplicates %d, EVENTS_LOST %d (target 0: %s)\n",
			r.Target, p99, targetP99, verdict(p99 <= targetP99), mem, targetMemory, verdict(mem <= targetMemory),
			t.Misses, t.Wrong, t.Duplicates, t.EventsLost, verdict(t.Misses+t.Wrong+t.Duplicates+t.EventsLost == 0))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
