package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
		{d, 99, 99 * time.Millisecond},
		{d, 100, 100 * time.Millisecond},
		{d[:10], 50, 5 * time.Millisecond},
		{d[:10], 99, 10 * time.Millisecond},
		{d[:1], 99, time.Millisecond},
		{nil, 50, 0},
	} {
		if got := percentile(c.values, c.p); got != c.want {
			t.Errorf("p%v of %d values: %v, want %v", c.p, len(c.values), got, c.want)
		}
	}
}

func TestParseEvent(t *testing.T) {
	sent := time.Unix(1764000000, 123456789)
	text := eventText(17, sent)
	for msg, want := range map[string]int{
		`{"id":"1","type":"next","payload":{"data":{"announcementChanged":{"value":"` + text + `"}}}}`: 17,
		text:                       17,
		`{"value":"seq=17 t="}`:    -1,
		`{"value":"seq= t=1"}`:     -1,
		`{"value":"seq=17t=1"}`:    -1,
		`{"type":"ping"}`:          -1,
		`{"value":"seq=0 t=5"} x`:  0,
		`seq=99999999999999999999`: -1,
	} {
		seq, ns, ok := parseEvent([]byte(msg))
		switch {
		case want < 0 && ok:
			t.Errorf("%s: parsed seq %d", msg, seq)
		case want >= 0 && (!ok || seq != want):
			t.Errorf("%s: seq %d ok %v, want %d", msg, seq, ok, want)
		case want == 17 && ns != sent.UnixNano():
			t.Errorf("%s: time %d, want %d", msg, ns, sent.UnixNano())
		}
	}
}

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses; utime 250 and stime 50 ticks.
	stat := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 1000 200"
	got, err := parseStat([]byte(stat))
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStat: %v, %v; want 3s", got, err)
	}
	if _, err := parseStat([]byte("4242 (x) S 1")); err == nil {
		t.Error("a short stat line parsed")
	}
}

// TestTally counts deliveries, misses, wrong deliveries and duplicates per instance
// against the audience.
func TestTally(t *testing.T) {
	ms := time.Millisecond
	t0 := time.Unix(1764000000, 0)
	sent := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	seqOf := map[int64]int{100: 0, 101: 1, 102: 2, 103: 3} // 100 is a warm-up
	at := func(key int64, d time.Duration) arrival { return arrival{key, sent[seqOf[key]-1].Add(d)} }
	subs := []*subscriber{
		{i: 0, inst: 0, connected: true, arrivals: []arrival{{100, t0}, at(101, 1*ms), at(102, 2*ms), at(103, 3*ms), at(103, 9*ms)}},
		{i: 1, inst: 1, connected: true, arrivals: []arrival{at(101, 10*ms), at(103, 30*ms)}},
		{i: 2, inst: 0, connected: true, arrivals: []arrival{at(102, 4*ms), {999, t0}}, lost: 1},
		{i: 3, inst: 1}, // never connected: 3 misses
	}
	var firstErr string
	all := audience{}
	f0, lat0 := tally(subs, 0, all, seqOf, sent, &firstErr)
	if f0.Subscribers != 2 || f0.Connected != 2 || f0.Expected != 6 || f0.Deliveries != 4 || f0.Misses != 2 ||
		f0.Duplicates != 1 || f0.Wrong != 1 || f0.EventsLost != 1 || f0.Max != 4 || f0.P50 != 2 {
		t.Errorf("instance 1: %+v", f0)
	}
	f1, lat1 := tally(subs, 1, all, seqOf, sent, &firstErr)
	if f1.Subscribers != 2 || f1.Connected != 1 || f1.Deliveries != 2 || f1.Misses != 4 || f1.P50 != 10 || f1.P99 != 30 {
		t.Errorf("instance 2: %+v", f1)
	}
	f0.RSSBeforeMB, f0.RSSIdleMB = 10, 11 // 1024 KB over 2 connected
	f1.RSSBeforeMB, f1.RSSIdleMB = 10, 10.5
	tot := total([]Figures{f0, f1}, append(lat0, lat1...), 10)
	if tot.Deliveries != 6 || tot.Misses != 6 || tot.Wrong != 1 || tot.Connected != 3 || tot.P50 != 3 || tot.Max != 30 || tot.KBPerSubscriber != 512 {
		t.Errorf("total: %+v", tot)
	}

	// Two users in two roles: subscribers 0 and 2 are user 0 (role 0), 1 and 3 user 1
	// (role 1); events 1 and 3 are role 0's, 2 role 1's.
	roles := audience{Users: 2, Roles: 2}
	g0, _ := tally(subs, 0, roles, seqOf, sent, &firstErr)
	if g0.Expected != 4 || g0.Deliveries != 2 || g0.Wrong != 3 || g0.Misses != 2 || g0.Duplicates != 1 {
		t.Errorf("instance 1, two roles: %+v", g0)
	}
}

// TestAudience: with users, roles and filters, an event reaches its role's subscribers
// whose filter is not its marker, and each subscriber gets events.
func TestAudience(t *testing.T) {
	a := audience{Users: 1000, Roles: 10, Filters: 100}
	if a.processes() != 100 {
		t.Fatalf("%d processes, want 100", a.processes())
	}
	const subs = 10000
	for seq := 1; seq <= 150; seq++ {
		n := 0
		for i := range subs {
			if a.expects(i, seq) {
				n++
				if a.subRole(i) != a.eventRole(seq) || a.subFilter(i) == a.eventMarker(seq) {
					t.Fatalf("subscriber %d expects event %d of another role or its excluded marker", i, seq)
				}
			}
		}
		// 1,000 sockets in the role, of which the 100 with the excluded filter (every
		// filter's 100 sockets are 100 users of one role) go without.
		if n != 900 && n != 1000 {
			t.Fatalf("event %d reaches %d subscribers", seq, n)
		}
	}
	one := audience{Users: 1000, Roles: 1}
	for _, i := range []int{0, 999, 9999} {
		if !one.expects(i, 7) {
			t.Errorf("one role: subscriber %d misses an event", i)
		}
	}
}

func TestTaskKey(t *testing.T) {
	msg := `{"id":"1","type":"next","payload":{"data":{"taskUpdated":{"kind":"CREATED","id":"4321","task":{"id":"4321","name":"x"}}}}}`
	if k, ok := taskKey([]byte(msg)); !ok || k != 4321 {
		t.Errorf("taskKey: %d %v", k, ok)
	}
	if _, ok := taskKey([]byte(`{"id":"1","type":"next"}`)); ok {
		t.Error("a message without taskUpdated has a key")
	}
}

// TestBareFanOut runs the whole measurement against the bare server in this process: 50
// subscribers, 20 events in 2 s, all delivered; then again with one event never
// published, which every subscriber must count as a miss.
func TestBareFanOut(t *testing.T) {
	srv := httptest.NewServer(bareHandler())
	defer srv.Close()
	cfg := config{Subscribers: 50, Rate: 10, Window: 2 * time.Second, Grace: 300 * time.Millisecond,
		Settle: 50 * time.Millisecond, Warmup: 5 * time.Second, DialConcurrency: 8}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	r, err := measure(ctx, cfg, bareTarget(srv.URL, 0, cfg.audience()))
	if err != nil {
		t.Fatal(err)
	}
	tot := r.Total
	if tot.Connected != 50 || tot.Events != 20 || tot.Deliveries != 50*20 || tot.Misses != 0 || tot.Duplicates != 0 ||
		r.NotReady != 0 || r.PublishErrors != 0 || r.FirstError != "" {
		t.Errorf("all delivered: %+v, result %+v", tot, r)
	}
	if tot.P50 <= 0 || tot.P99 < tot.P50 || tot.Max < tot.P99 || tot.Max > 2000 {
		t.Errorf("latencies p50 %v p99 %v max %v ms", tot.P50, tot.P99, tot.Max)
	}
	// In one process the clients' reading goroutines count too: at least 1 per connection.
	if tot.GoroutinesPerConn < 1 {
		t.Errorf("%.2f goroutines per connection", tot.GoroutinesPerConn)
	}

	lossy := bareTarget(srv.URL, 0, cfg.audience())
	publish := lossy.publish
	lossy.publish = func(ctx context.Context, seq int, text string) ([]int64, error) {
		if strings.HasPrefix(text, "seq=7 ") {
			return []int64{7}, nil // lost on the way
		}
		return publish(ctx, seq, text)
	}
	if r, err = measure(ctx, cfg, lossy); err != nil {
		t.Fatal(err)
	}
	if r.Total.Misses != 50 || r.Total.Deliveries != 50*19 {
		t.Errorf("one event lost: %d misses, %d deliveries; want 50, %d", r.Total.Misses, r.Total.Deliveries, 50*19)
	}

	// Distinct audiences: ten users in two roles, five filters; the bare server delivers
	// each event to its audience alone.
	cfg.Users, cfg.Roles, cfg.Filters = 10, 2, 5
	if r, err = measure(ctx, cfg, bareTarget(srv.URL, 0, cfg.audience())); err != nil {
		t.Fatal(err)
	}
	if tot := r.Total; tot.Expected != 400 || tot.Deliveries != 400 || tot.Misses != 0 || tot.Wrong != 0 || r.NotReady != 0 {
		t.Errorf("distinct audiences: %+v (not ready %d); want 400 expected and delivered (20 events, each to 25 of 50, less 5 filtered)", tot, r.NotReady)
	}
}
