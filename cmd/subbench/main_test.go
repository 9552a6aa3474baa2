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

// TestTally counts misses, duplicates and latencies per instance.
func TestTally(t *testing.T) {
	mk := func(inst int, got []bool, lat ...time.Duration) *subscriber {
		s := &subscriber{inst: inst, got: got, lat: make([]time.Duration, len(got)), connected: true}
		j := 0
		for i, ok := range got {
			if ok {
				s.lat[i] = lat[j]
				j++
			}
		}
		return s
	}
	ms := time.Millisecond
	subs := []*subscriber{
		mk(0, []bool{true, true, true}, 1*ms, 2*ms, 3*ms),
		mk(1, []bool{true, false, true}, 10*ms, 30*ms),
		mk(0, []bool{false, true, false}, 4*ms),
		{inst: 1, got: make([]bool, 3), lat: make([]time.Duration, 3)}, // never connected: 3 misses
	}
	subs[0].dups = 2
	var firstErr string
	f0, lat0 := tally(subs, 0, 3, &firstErr)
	if f0.Subscribers != 2 || f0.Connected != 2 || f0.Deliveries != 4 || f0.Misses != 2 || f0.Duplicates != 2 || f0.Max != 4 || f0.P50 != 2 {
		t.Errorf("instance 1: %+v", f0)
	}
	f1, lat1 := tally(subs, 1, 3, &firstErr)
	if f1.Subscribers != 2 || f1.Connected != 1 || f1.Deliveries != 2 || f1.Misses != 4 || f1.P50 != 10 || f1.P99 != 30 {
		t.Errorf("instance 2: %+v", f1)
	}
	f0.RSSBeforeMB, f0.RSSIdleMB = 10, 11 // 1024 KB over 2 connected
	f1.RSSBeforeMB, f1.RSSIdleMB = 10, 10.5
	tot := total([]Figures{f0, f1}, append(lat0, lat1...), 10)
	if tot.Deliveries != 6 || tot.Misses != 6 || tot.Connected != 3 || tot.P50 != 3 || tot.Max != 30 || tot.KBPerSubscriber != 512 {
		t.Errorf("total: %+v", tot)
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

	r, err := measure(ctx, cfg, bareTarget(srv.URL, 0))
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

	lossy := bareTarget(srv.URL, 0)
	publish := lossy.publish
	lossy.publish = func(ctx context.Context, text string) error {
		if strings.HasPrefix(text, "seq=7 ") {
			return nil // lost on the way
		}
		return publish(ctx, text)
	}
	if r, err = measure(ctx, cfg, lossy); err != nil {
		t.Fatal(err)
	}
	if r.Total.Misses != 50 || r.Total.Deliveries != 50*19 {
		t.Errorf("one event lost: %d misses, %d deliveries; want 50, %d", r.Total.Misses, r.Total.Deliveries, 50*19)
	}
}
