package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// target is one server configuration under load.
type target struct {
	name      string
	instances []*instance
	// hello returns what subscriber i sends: the query of its websocket URL, and on
	// Portico the graphql-transport-ws connection_init and subscribe messages (nil init:
	// the bare server, which just sends).
	hello func(i int) (query string, init, subscribe []byte)
	// publish sends event seq (0: warm-up, one event for every subscriber) with text and
	// returns, once the server answered, the keys subscribers will see it by.
	publish func(ctx context.Context, seq int, text string) ([]int64, error)
	// key finds the event's key in a message.
	key   func(msg []byte) (int64, bool)
	close func() // stops the servers and drops the database
}

// instance is one server process.
type instance struct {
	wsURL string
	pid   int // measured through /proc; 0 in tests, where the server is in-process
	// debug is the server's pprof base URL (http://host:port/debug/pprof), "" for none.
	debug string
	// goroutines returns the server's goroutine count.
	goroutines func(ctx context.Context) (int, error)
}

// Figures is one instance's results, or the total of a target's instances (Instance 0).
type Figures struct {
	Instance          int     `json:"instance"` // 1-based; 0 = total
	Subscribers       int     `json:"subscribers"`
	Connected         int     `json:"connected"`
	Events            int     `json:"events"`
	Expected          int     `json:"expected"`   // (subscriber, event) pairs of the audience
	Deliveries        int     `json:"deliveries"` // of those, delivered
	Misses            int     `json:"misses"`     // of those, never delivered (subscribers that failed to connect included)
	Wrong             int     `json:"wrong"`      // events delivered to a subscriber outside their audience, or unknown
	Duplicates        int     `json:"duplicates"` // events delivered twice to one subscriber
	EventsLost        int     `json:"eventsLost"` // EVENTS_LOST messages received
	P50               float64 `json:"p50Ms"`
	P99               float64 `json:"p99Ms"`
	Max               float64 `json:"maxMs"`
	CPUSeconds        float64 `json:"cpuSeconds"` // server process, from the first event to the end of the grace period
	CPUPercent        float64 `json:"cpuPercent"` // of one core, over that time
	RSSBeforeMB       float64 `json:"rssBeforeMB"`
	RSSIdleMB         float64 `json:"rssIdleMB"`
	KBPerSubscriber   float64 `json:"kbPerIdleSubscriber"` // (idle - before) / connected
	GoroutinesBefore  int     `json:"goroutinesBefore"`
	GoroutinesIdle    int     `json:"goroutinesIdle"`
	GoroutinesPerConn float64 `json:"goroutinesPerConnection"`
}

// Result is one target's measurement.
type Result struct {
	Target            string    `json:"target"`
	Instances         []Figures `json:"instances"`
	Total             Figures   `json:"total"`
	CPUSpanSeconds    float64   `json:"cpuSpanSeconds"` // CPU is measured from the first event to the end of the grace period
	LoadgenCPUSeconds float64   `json:"loadgenCpuSeconds"`
	PublishErrors     int       `json:"publishErrors"`
	PublishP50        float64   `json:"publishP50Ms"` // time for the publish request to answer
	PublishP99        float64   `json:"publishP99Ms"`
	NotReady          int       `json:"notReady"` // subscribers without a warm-up event
	FirstError        string    `json:"firstError,omitempty"`
}

// subscriber is one websocket client. Only its reading goroutine touches arrivals and
// the counters until it has returned.
type subscriber struct {
	i          int // its index: what it subscribes to and should receive (audience)
	inst       int
	conn       *websocket.Conn
	arrivals   []arrival
	ready      bool  // got a (warm-up) event
	err        error // connection failure, early close or unexpected message (the first)
	connected  bool
	unexpected int // messages neither events, pings nor EVENTS_LOST
	lost       int // EVENTS_LOST errors
}

// arrival is an event as a subscriber got it: its key (which the publisher maps to its
// sequence number) and when.
type arrival struct {
	key int64
	at  time.Time
}

// dialer keeps the load generator's per-connection buffers small: messages are a few
// hundred bytes.
var dialer = websocket.Dialer{
	Subprotocols:     []string{"graphql-transport-ws"},
	HandshakeTimeout: time.Minute,
	ReadBufferSize:   1024,
	WriteBufferSize:  1024,
}

// connect opens the websocket and, on Portico, does the graphql-transport-ws handshake
// and subscribes.
func (s *subscriber) connect(ctx context.Context, t *target) error {
	query, init, subscribe := t.hello(s.i)
	conn, _, err := dialer.DialContext(ctx, t.instances[s.inst].wsURL+query, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	s.conn = conn
	if init == nil {
		return nil
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	if err := conn.WriteMessage(websocket.TextMessage, init); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("wait for connection_ack: %w", err)
	}
	if !bytes.Contains(msg, []byte(`"type":"connection_ack"`)) {
		return fmt.Errorf("connection_init answered %.200s", msg)
	}
	conn.SetReadDeadline(time.Time{})
	if err := conn.WriteMessage(websocket.TextMessage, subscribe); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// read records events until the connection closes; closing tells our own closing from
// a failure. It answers the server's pings (gqlgen drops clients that miss pongs).
func (s *subscriber) read(t *target, protocol bool, closing *atomic.Bool, ready *atomic.Int64) {
	pong := []byte(`{"type":"pong"}`)
	var buf []byte // reused: the load generator shares the servers' cores, so it allocates little
	for {
		msg, err := readMessage(s.conn, buf[:0])
		buf = msg
		if err != nil {
			if !closing.Load() && s.err == nil {
				s.err = fmt.Errorf("connection ended: %w", err)
			}
			return
		}
		now := time.Now()
		if protocol { // graphql-transport-ws: only "next" carries events
			switch {
			case bytes.Contains(msg, []byte(`"type":"ping"`)):
				if err := s.conn.WriteMessage(websocket.TextMessage, pong); err != nil && s.err == nil && !closing.Load() {
					s.err = fmt.Errorf("pong: %w", err)
				}
				continue
			case bytes.Contains(msg, []byte(`"EVENTS_LOST"`)):
				s.lost++
				if s.err == nil {
					s.err = fmt.Errorf("events lost: %.300s", msg)
				}
				continue
			case !bytes.Contains(msg, []byte(`"type":"next"`)), bytes.Contains(msg, []byte(`"errors"`)):
				s.unexpected++
				if s.err == nil {
					s.err = fmt.Errorf("unexpected message %.300s", msg)
				}
				continue
			}
		}
		key, ok := t.key(msg)
		if !ok {
			s.unexpected++
			if s.err == nil {
				s.err = fmt.Errorf("unexpected event %.300s", msg)
			}
			continue
		}
		s.arrivals = append(s.arrivals, arrival{key, now})
		if !s.ready { // before the window only warm-up events are published
			s.ready = true
			ready.Add(1)
		}
	}
}

// readMessage appends the next message to buf.
func readMessage(conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// eventText is what the publisher puts in an event: its sequence number (0 for warm-up)
// and send time.
func eventText(seq int, sent time.Time) string {
	return fmt.Sprintf("seq=%d t=%d", seq, sent.UnixNano())
}

// seqKey is the key of an event that carries its text: its sequence number.
func seqKey(msg []byte) (int64, bool) {
	seq, _, ok := parseEvent(msg)
	return int64(seq), ok
}

// parseEvent finds the first "seq=N t=T" in a message; no JSON decoding, so that 50,000
// messages a second cost the load generator (sharing the servers' cores) little.
func parseEvent(msg []byte) (seq int, sent int64, ok bool) {
	i := bytes.Index(msg, []byte("seq="))
	if i < 0 {
		return 0, 0, false
	}
	rest := msg[i+len("seq="):]
	n, rest := digits(rest)
	if !bytes.HasPrefix(rest, []byte(" t=")) {
		return 0, 0, false
	}
	t, _ := digits(rest[len(" t="):])
	s, err1 := strconv.Atoi(string(n))
	ns, err2 := strconv.ParseInt(string(t), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return s, ns, true
}

func digits(b []byte) (num, rest []byte) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return b[:i], b[i:]
}

// sample is a server process's state at one moment.
type sample struct {
	rssKB, goroutines int
	cpu               time.Duration
}

func (in *instance) sample(ctx context.Context, withGoroutines bool) (sample, error) {
	var s sample
	var err error
	if in.pid != 0 {
		if s.rssKB, err = rssKB(in.pid); err != nil {
			return s, err
		}
		if s.cpu, err = cpuTime(in.pid); err != nil {
			return s, err
		}
	}
	if withGoroutines {
		if s.goroutines, err = in.goroutines(ctx); err != nil {
			return s, fmt.Errorf("goroutines: %w", err)
		}
	}
	return s, nil
}

func sampleAll(ctx context.Context, t *target, withGoroutines bool) ([]sample, error) {
	out := make([]sample, len(t.instances))
	for i, in := range t.instances {
		var err error
		if out[i], err = in.sample(ctx, withGoroutines); err != nil {
			return nil, fmt.Errorf("instance %d: %w", i+1, err)
		}
	}
	return out, nil
}

// measure runs the load on t (see the package comment for the steps).
func measure(ctx context.Context, cfg config, t *target) (*Result, error) {
	n, events := cfg.Subscribers, cfg.events()
	before, err := sampleAll(ctx, t, true)
	if err != nil {
		return nil, err
	}

	// Connect, at most DialConcurrency handshakes at a time.
	_, init, _ := t.hello(0)
	protocol := init != nil
	subs := make([]*subscriber, n)
	var closing atomic.Bool
	var ready atomic.Int64
	var reading, connecting sync.WaitGroup
	sem := make(chan struct{}, cfg.DialConcurrency)
	began := time.Now()
	for i := range subs {
		s := &subscriber{i: i, inst: i % len(t.instances)}
		subs[i] = s
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		connecting.Add(1)
		reading.Go(func() {
			// connected and err are set before Done: the warm-up reads them after Wait.
			err := s.connect(ctx, t)
			if err != nil {
				s.err = err
				if s.conn != nil {
					s.conn.Close()
				}
			}
			s.connected = err == nil
			<-sem
			connecting.Done()
			if err == nil {
				s.read(t, protocol, &closing, &ready)
			}
		})
	}
	connecting.Wait()
	closeAll := func() {
		closing.Store(true)
		for _, s := range subs {
			if s != nil && s.conn != nil {
				s.conn.Close()
			}
		}
		reading.Wait()
	}
	if ctx.Err() != nil {
		closeAll()
		return nil, ctx.Err()
	}
	slog.Info("subscribers connected", "target", t.name, "took", time.Since(began).Round(time.Millisecond))

	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
	}
	idle, err := sampleAll(ctx, t, true)
	if err != nil {
		closeAll()
		return nil, err
	}
	if cfg.Profile != "" {
		saveProfiles(ctx, cfg.Profile, t, "idle-goroutines.txt", "goroutine?debug=1")
		// After RSS was sampled: gc=1 collects first, so the profile shows what idle
		// subscribers keep, not garbage left from connecting.
		saveProfiles(ctx, cfg.Profile, t, "idle-heap.pb.gz", "heap?gc=1")
		saveProfiles(ctx, cfg.Profile, t, "idle-memstats.txt", "heap?debug=1") // ends with runtime.MemStats: stacks, heap, GC
	}

	// Warm-up: one unmeasured event a second until every subscriber has one. Connected
	// subscribers only: the others are counted as misses anyway.
	r := &Result{Target: t.name}
	var pubErrs atomic.Int64
	var firstPubErr atomic.Value
	pubLat := make([]time.Duration, events) // how long each measured publish took to answer
	sent := make([]time.Time, events)       // when each measured event was published
	var keysMu sync.Mutex
	seqOf := map[int64]int{} // the key of each event published: its seq (0 for warm-up)
	publish := func(seq int) {
		t0 := time.Now()
		keys, err := t.publish(ctx, seq, eventText(seq, t0))
		if seq > 0 {
			pubLat[seq-1], sent[seq-1] = time.Since(t0), t0
		}
		keysMu.Lock()
		for _, k := range keys {
			seqOf[k] = seq
		}
		keysMu.Unlock()
		if err != nil && ctx.Err() == nil {
			pubErrs.Add(1)
			firstPubErr.CompareAndSwap(nil, fmt.Sprintf("publish seq=%d: %v", seq, err))
		}
	}
	var live int64
	for _, s := range subs {
		if s != nil && s.connected {
			live++
		}
	}
	began = time.Now()
	for deadline := began.Add(cfg.Warmup); ready.Load() < live && time.Now().Before(deadline) && ctx.Err() == nil; {
		publish(0)
		for wait := time.Now().Add(time.Second); ready.Load() < live && time.Now().Before(wait) && ctx.Err() == nil; {
			time.Sleep(10 * time.Millisecond)
		}
	}
	slog.Info("warmed up", "target", t.name, "ready", ready.Load(), "of", n, "took", time.Since(began).Round(time.Millisecond))
	time.Sleep(time.Second) // let the last warm-up's deliveries finish before the window

	// The window: events at fixed times (each in its own goroutine, so a slow answer does
	// not delay the next), then the grace period.
	cpu0, err := sampleAll(ctx, t, false)
	if err != nil {
		closeAll()
		return nil, err
	}
	var publishing sync.WaitGroup
	gen0 := selfCPU()
	start := time.Now()
	if cfg.Profile != "" {
		// A CPU profile of each server over the window.
		publishing.Go(func() {
			saveProfiles(ctx, cfg.Profile, t, "window-cpu.pb.gz", fmt.Sprintf("profile?seconds=%d", int(cfg.Window.Seconds())))
		})
		publishing.Go(func() { // what everything waits on, halfway
			time.Sleep(cfg.Window / 2)
			saveProfiles(ctx, cfg.Profile, t, "window-goroutines.txt", "goroutine?debug=1")
		})
		publishing.Go(func() { // where each event's time goes: go tool trace
			time.Sleep(cfg.Window / 4)
			saveProfiles(ctx, cfg.Profile, t, "window.trace", "trace?seconds=3")
		})
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	for seq := 1; seq <= events && ctx.Err() == nil; seq++ {
		select {
		case <-time.After(time.Until(start.Add(time.Duration(seq-1) * interval))):
		case <-ctx.Done():
		}
		publishing.Go(func() { publish(seq) })
	}
	select {
	case <-time.After(time.Until(start.Add(cfg.Window))):
	case <-ctx.Done():
	}
	if cfg.Profile != "" {
		// With idle-heap as -diff_base: what the window allocated (-sample_index=alloc_space).
		saveProfiles(ctx, cfg.Profile, t, "window-heap.pb.gz", "heap")
	}
	publishing.Wait()
	select {
	case <-time.After(cfg.Grace):
	case <-ctx.Done():
	}
	// CPU until the end of the grace period: a server that lags delivers the window's
	// events after it, and that work is theirs.
	cpu1, err := sampleAll(ctx, t, false)
	gen1, span := selfCPU(), time.Since(start)
	closeAll()
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	r.CPUSpanSeconds = span.Seconds()
	r.LoadgenCPUSeconds = (gen1 - gen0).Seconds()
	slices.Sort(pubLat)
	r.PublishP50, r.PublishP99 = ms(percentile(pubLat, 50)), ms(percentile(pubLat, 99))
	r.PublishErrors = int(pubErrs.Load())
	if e, ok := firstPubErr.Load().(string); ok {
		r.FirstError = e
	}
	r.NotReady = n - int(ready.Load())
	window := span.Seconds()
	var all []time.Duration
	for i := range t.instances {
		f, lat := tally(subs, i, cfg.audience(), seqOf, sent, &r.FirstError)
		f.Instance = i + 1
		f.CPUSeconds = (cpu1[i].cpu - cpu0[i].cpu).Seconds()
		f.CPUPercent = 100 * f.CPUSeconds / window
		f.RSSBeforeMB, f.RSSIdleMB = float64(before[i].rssKB)/1024, float64(idle[i].rssKB)/1024
		f.GoroutinesBefore, f.GoroutinesIdle = before[i].goroutines, idle[i].goroutines
		if f.Connected > 0 {
			f.KBPerSubscriber = float64(idle[i].rssKB-before[i].rssKB) / float64(f.Connected)
			f.GoroutinesPerConn = float64(idle[i].goroutines-before[i].goroutines) / float64(f.Connected)
		}
		r.Instances = append(r.Instances, f)
		all = append(all, lat...)
	}
	r.Total = total(r.Instances, all, window)
	return r, nil
}

// tally counts instance inst's subscribers' deliveries, misses and wrong deliveries
// against the audience (seqOf maps the keys of the published events to their seq, sent
// has the measured ones' send times) and returns their latencies, sorted; firstErr gets
// the first subscriber error when it is still empty.
func tally(subs []*subscriber, inst int, aud audience, seqOf map[int64]int, sent []time.Time, firstErr *string) (Figures, []time.Duration) {
	events := len(sent)
	f := Figures{Events: events}
	var lat []time.Duration
	got := make([]bool, events)
	for _, s := range subs {
		if s == nil || s.inst != inst {
			continue
		}
		f.Subscribers++
		if s.connected {
			f.Connected++
		}
		if s.err != nil && *firstErr == "" {
			*firstErr = s.err.Error()
		}
		f.EventsLost += s.lost
		clear(got)
		for _, a := range s.arrivals {
			seq, ok := seqOf[a.key]
			switch {
			case ok && seq == 0: // warm-up
			case !ok || !aud.expects(s.i, seq):
				f.Wrong++
			case got[seq-1]:
				f.Duplicates++
			default:
				got[seq-1] = true
				lat = append(lat, a.at.Sub(sent[seq-1]))
			}
		}
		for seq := 1; seq <= events; seq++ {
			if aud.expects(s.i, seq) {
				f.Expected++
				if !got[seq-1] {
					f.Misses++
				}
			}
		}
	}
	f.Deliveries = len(lat)
	slices.Sort(lat)
	f.P50, f.P99, f.Max = ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100))
	return f, lat
}

// total sums the instances; percentiles are over all deliveries, and the memory and
// goroutines per subscriber are the summed growth over the summed subscribers.
func total(per []Figures, all []time.Duration, window float64) Figures {
	var t Figures
	var rssGrowthKB float64
	for _, f := range per {
		t.Subscribers += f.Subscribers
		t.Connected += f.Connected
		t.Events = f.Events
		t.Expected += f.Expected
		t.Deliveries += f.Deliveries
		t.Misses += f.Misses
		t.Wrong += f.Wrong
		t.Duplicates += f.Duplicates
		t.EventsLost += f.EventsLost
		t.CPUSeconds += f.CPUSeconds
		t.RSSBeforeMB += f.RSSBeforeMB
		t.RSSIdleMB += f.RSSIdleMB
		rssGrowthKB += (f.RSSIdleMB - f.RSSBeforeMB) * 1024
		t.GoroutinesBefore += f.GoroutinesBefore
		t.GoroutinesIdle += f.GoroutinesIdle
	}
	t.CPUPercent = 100 * t.CPUSeconds / window
	if t.Connected > 0 {
		t.KBPerSubscriber = rssGrowthKB / float64(t.Connected)
		t.GoroutinesPerConn = float64(t.GoroutinesIdle-t.GoroutinesBefore) / float64(t.Connected)
	}
	slices.Sort(all)
	t.P50, t.P99, t.Max = ms(percentile(all, 50)), ms(percentile(all, 99)), ms(percentile(all, 100))
	return t
}

// percentile returns the nearest-rank p-th percentile of sorted durations: the smallest
// value with at least p% of all values at or below it (0 for none).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(max(int(math.Ceil(p/100*float64(len(sorted))))-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// saveProfiles writes each server's pprof profile at path (under /debug/pprof/) to dir as
// TARGET-INSTANCE-NAME, all servers at once (a CPU profile covers the same time on
// each); a failure is logged, not fatal.
func saveProfiles(ctx context.Context, dir string, t *target, name, path string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, in := range t.instances {
		if in.debug == "" {
			continue
		}
		wg.Go(func() { saveProfile(ctx, dir, t, i, in, name, path) })
	}
}

func saveProfile(ctx context.Context, dir string, t *target, i int, in *instance, name, path string) {
	file := filepath.Join(dir, fmt.Sprintf("%s-%d-%s", t.name, i+1, name))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.debug+"/"+path, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil { // no timeout: a CPU profile takes the window
			var b []byte
			if b, err = io.ReadAll(resp.Body); err == nil {
				err = os.WriteFile(file, b, 0o644)
			}
			resp.Body.Close()
		}
	}
	if err != nil {
		slog.Warn("profile", "file", file, "err", err)
	}
}
