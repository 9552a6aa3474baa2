package portico_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// The review's reproduction of item 7: on the embedded SQLite default, 6 concurrent
// logins had 3 fail after 10 s with "database is locked (SQLITE_BUSY)", 40 had 36 fail
// after about 121 s, and unrelated queries stalled meanwhile.

// TestHostileConcurrentMix runs 64 clients against a server for at least 12 s, and
// until each has gone through its cycle once, each looping over logins, mutations
// (startProcess, reserveTask, addTaskNote, resetTask, setVariable) and lists with
// totalCount. No request may fail, and every write a client was told succeeded is in
// the database afterwards. On SQLite (the review's case) and PostgreSQL alike.
func TestHostileConcurrentMix(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, DB: database.Options{MaxConns: servertest.ProductionPools}})
		m := newMix(t, srv, 64)
		m.run(12*time.Second, len(cycle))
		s := m.stats()
		t.Logf("%d requests in %.1f s: %.1f req/s, p50 %.0f ms, p99 %.0f ms, max %.0f ms; reads p99 %.0f ms, writes p99 %.0f ms; %d errors",
			s.requests, s.seconds, s.perSecond, s.p50, s.p99, s.max, s.readP99, s.writeP99, s.errors)
		t.Logf("per request (count p50/p99 ms): %s", m.perOp())
		for _, e := range m.firstErrors() {
			t.Errorf("request failed: %s", e)
		}
		if s.errors > 0 {
			t.Fatalf("%d of %d requests failed", s.errors, s.requests)
		}
		for op, name := range opNames {
			if m.count(op) == 0 {
				t.Fatalf("the mix sent no %s: %v", name, m.counts())
			}
		}
		m.checkAcknowledged(t)
	})
}

// TestOneConnectionPerPool runs the mix, then four exports with a saved filter at once,
// with pools of one connection (PostgreSQL's writers and readers, SQLite's readers beside
// its one writer): every request still answers, because none waits for a connection of
// a pool it holds one of. With one PostgreSQL pool, a mutation that read outside its
// transaction (login's user) waited for a second connection: at a pool of 1 the first
// login hung for good, and at the default 8, 64 clients hung every request for 5
// minutes in CI. An export held a reader while it read its saved filter and synced the
// list index: at one reader it hung.
func TestOneConnectionPerPool(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, DB: database.Options{MaxConns: 1}})
		m := newMix(t, srv, 8)
		m.http.Timeout = 30 * time.Second // a stall fails the requests instead of the test binary
		m.run(3*time.Second, len(cycle))
		s := m.stats()
		t.Logf("%d requests in %.1f s, p99 %.0f ms, %d errors", s.requests, s.seconds, s.p99, s.errors)
		for _, e := range m.firstErrors() {
			t.Errorf("request failed: %s", e)
		}
		if s.errors > 0 {
			t.Fatalf("%d of %d requests failed", s.errors, s.requests)
		}
		m.checkAcknowledged(t)

		// Exports read their rows in a read-only transaction, which holds a reader; with
		// a saved filter, four at once (the list's ids and the filter are read before it).
		demo := srv.Login(t, "demo", "demo")
		f, code, msg := saveFilter(t, demo, map[string]any{"kind": "TASK", "names": []map[string]any{{"language": "en", "name": "Open"}},
			"taskWhere": map[string]any{"businessState": []any{"OPEN"}}})
		if code != "" {
			t.Fatalf("save a filter: %s %s", code, msg)
		}
		client := &http.Client{Timeout: 30 * time.Second}
		errs := make(chan error, 4)
		for range cap(errs) {
			go func() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/tasks.xlsx?savedFilter="+f.ID, nil)
				req.Header.Set("Authorization", "Bearer "+demo.Token)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				errs <- err
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Errorf("export with a saved filter: %v", err)
			}
		}
	})
}

// TestHostileSQLiteReadsBesideWrites: while one transaction holds the writer and eight
// mutations queue behind it, lists (and logins, which write nothing) still answer:
// reads do not wait for the writer, and a queued mutation does not hold a connection
// a read needs. Then the queue drains and every mutation succeeds.
func TestHostileSQLiteReadsBesideWrites(t *testing.T) {
	srv := servertest.Start(t, "sqlite", portico.Config{Demo: true})
	demoC := srv.Login(t, "demo", "demo")
	var procs struct {
		Processes struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	demoC.MustDo(t, `{ processes { edges { node { id } } } }`, nil, &procs)
	ctx := policy.SystemContext(context.Background())
	tx, err := srv.DB.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A write takes the writer until the transaction ends.
	if err := tx.User.Update().Where().SetUpdatedAt(time.Now().UTC()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: time.Minute}
	start := fmt.Sprintf(`mutation { startProcess(input: {processId: %q}) { case { id } } }`, procs.Processes.Edges[0].Node.ID)
	queued := make(chan error, 8)
	for range cap(queued) {
		go func() {
			_, err := gql(context.Background(), client, demoC.URL, demoC.Token, start, nil)
			queued <- err
		}()
	}
	time.Sleep(500 * time.Millisecond) // let them queue
	reads := []string{
		`{ tasks(first: 10) { totalCount edges { node { id name } } } }`,
		`{ cases(first: 10) { totalCount edges { node { id name } } } }`,
	}
	for _, q := range reads {
		done := make(chan error, 1)
		go func() { _, err := gql(context.Background(), client, demoC.URL, demoC.Token, q, nil); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s while a write is open: %v", q, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s waited 20 s behind an open write transaction", q)
		}
	}
	if _, err := gql(context.Background(), client, demoC.URL, "", loginMutation, map[string]any{"u": "alice", "p": "alice"}); err != nil {
		t.Fatalf("login while a write is open: %v", err)
	}
	select {
	case err := <-queued:
		t.Fatalf("a mutation finished while the writer was held: %v", err)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for range cap(queued) {
		if err := <-queued; err != nil {
			t.Errorf("queued mutation: %v", err)
		}
	}
}

// BenchmarkHostileSQLiteMix measures the mix of TestHostileConcurrentMix on SQLite with 64
// clients: b.N requests in all, reported as requests/s, p50/p99 latency and errors.
//
//	go test -run '^$' -bench BenchmarkHostileSQLiteMix -benchtime 4000x .
func BenchmarkHostileSQLiteMix(b *testing.B) {
	srv := servertest.Start(b, "sqlite", portico.Config{Demo: true, DB: database.Options{MaxConns: servertest.ProductionPools}})
	m := newMix(b, srv, 64)
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	m.runN(&left)
	b.StopTimer()
	s := m.stats()
	b.ReportMetric(s.perSecond, "req/s")
	b.ReportMetric(s.p50, "p50-ms")
	b.ReportMetric(s.p99, "p99-ms")
	b.ReportMetric(s.readP99, "read-p99-ms")
	b.ReportMetric(float64(s.errors), "errors")
	b.ReportMetric(0, "ns/op")
	if e := m.firstErrors(); len(e) > 0 {
		b.Logf("first error: %s", e[0])
	}
}

const loginMutation = `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`

// The kinds of request of the mix.
const (
	opLogin = iota
	opStart
	opReserve
	opNote
	opReset
	opSetVariable
	opTasks
	opCases
	opKinds
)

var opNames = [opKinds]string{"login", "startProcess", "reserveTask", "addTaskNote", "resetTask", "setVariable", "tasks", "cases"}

// cycle is what each client sends, over and over: five mutations, a login (which writes
// nothing but costs a bcrypt check) and four lists.
var cycle = []int{opLogin, opStart, opTasks, opReserve, opCases, opNote, opTasks, opReset, opSetVariable, opCases}

// mix is 64 (or n) clients, each a demo user (admin among them), logged in, with the
// writes the server acknowledged to each.
type mix struct {
	tb      testing.TB
	srv     *servertest.Server
	http    *http.Client
	process string
	clients []*mixClient
	began   time.Time
	elapsed time.Duration
}

type mixClient struct {
	user, token string
	step        int
	task        string // the first task of the last case it started
	state       string // the task's state as the last acknowledged mutation left it
	lat         [opKinds][]time.Duration
	errs        []string
	errCount    int
	cases       []string          // acknowledged startProcess cases
	notes       map[string]string // acknowledged notes: id → content
	tasks       map[string]string // tasks it worked: id → last acknowledged state
}

func newMix(tb testing.TB, srv *servertest.Server, n int) *mix {
	tb.Helper()
	m := &mix{tb: tb, srv: srv, http: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n}}}
	tb.Cleanup(m.http.CloseIdleConnections)
	users := []string{"admin", "demo", "alice", "bob", "carol"}
	var procs struct {
		Processes struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	srv.Login(tb, "demo", "demo").MustDo(tb, `{ processes(where: {name: "Leave request"}) { edges { node { id } } } }`, nil, &procs)
	if len(procs.Processes.Edges) != 1 {
		tb.Fatalf("leave request process: %+v", procs)
	}
	m.process = procs.Processes.Edges[0].Node.ID
	for i := range n {
		u := users[i%len(users)]
		m.clients = append(m.clients, &mixClient{user: u, token: srv.Login(tb, u, u).Token, step: i,
			notes: map[string]string{}, tasks: map[string]string{}})
	}
	return m
}

// run lets every client loop for at least d and until it sent atLeast requests (at
// most 10 minutes, for a machine far too slow).
func (m *mix) run(d time.Duration, atLeast int) {
	m.began = time.Now()
	soft, hard := m.began.Add(d), m.began.Add(10*time.Minute)
	var wg sync.WaitGroup
	for i, c := range m.clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(hard) && (n < atLeast || time.Now().Before(soft)); n++ {
				m.step(i, c)
			}
		})
	}
	wg.Wait()
	m.elapsed = time.Since(m.began)
}

// runN lets the clients send *left requests in all.
func (m *mix) runN(left *atomic.Int64) {
	m.began = time.Now()
	var wg sync.WaitGroup
	for i, c := range m.clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				m.step(i, c)
			}
		})
	}
	wg.Wait()
	m.elapsed = time.Since(m.began)
}

// step sends the client's next request of the cycle and records its latency and outcome.
func (m *mix) step(i int, c *mixClient) {
	op := cycle[c.step%len(cycle)]
	c.step++
	switch {
	case op == opSetVariable && c.user != "admin":
		op = opCases
	case (op == opReserve || op == opNote || op == opReset) && c.task == "":
		op = opTasks // its started case had no task: nothing to work on
	}
	t0 := time.Now()
	err := m.send(i, c, op)
	d := time.Since(t0)
	if err != nil {
		c.errCount++
		if len(c.errs) < 3 {
			c.errs = append(c.errs, fmt.Sprintf("%s as %s after %v: %v", opNames[op], c.user, d.Round(time.Millisecond), err))
		}
		return
	}
	c.lat[op] = append(c.lat[op], d)
}

func (m *mix) send(i int, c *mixClient, op int) error {
	ctx := context.Background()
	do := func(query string, vars map[string]any, out any) error {
		data, err := gql(ctx, m.http, m.srv.URL+"/graphql", c.token, query, vars)
		if err == nil && out != nil {
			err = json.Unmarshal(data, out)
		}
		return err
	}
	switch op {
	case opLogin:
		var out struct{ Login struct{ Token string } }
		if err := do(loginMutation, map[string]any{"u": c.user, "p": c.user}, &out); err != nil {
			return err
		}
		if out.Login.Token == "" {
			return fmt.Errorf("no token")
		}
		c.token = out.Login.Token
	case opStart:
		var out struct {
			StartProcess struct {
				Case struct{ ID string }
				Task *struct{ ID, State string }
			}
		}
		if err := do(`mutation($p: ID!) { startProcess(input: {processId: $p}) { case { id } task { id state } } }`,
			map[string]any{"p": m.process}, &out); err != nil {
			return err
		}
		c.cases = append(c.cases, out.StartProcess.Case.ID)
		c.task = ""
		if tk := out.StartProcess.Task; tk != nil {
			c.task, c.state = tk.ID, tk.State
			c.tasks[tk.ID] = tk.State
		}
	case opReserve, opReset:
		name := map[int]string{opReserve: "reserveTask", opReset: "resetTask"}[op]
		var out map[string]struct{ Task struct{ State string } }
		if err := do(`mutation($id: ID!) { `+name+`(input: {id: $id}) { task { state } } }`, map[string]any{"id": c.task}, &out); err != nil {
			return err
		}
		c.state = out[name].Task.State
		c.tasks[c.task] = c.state
	case opNote:
		content := fmt.Sprintf("mix note %d-%d", i, c.step)
		var out struct {
			AddTaskNote struct{ Note struct{ ID string } }
		}
		if err := do(`mutation($id: ID!, $c: String!) { addTaskNote(input: {taskId: $id, content: $c}) { note { id } } }`,
			map[string]any{"id": c.task, "c": content}, &out); err != nil {
			return err
		}
		c.notes[out.AddTaskNote.Note.ID] = content
	case opSetVariable:
		v := strconv.FormatBool(c.step%2 == 0)
		return do(`mutation($v: String!) { setVariable(input: {name: "PortalLoginPageDisplay", value: $v}) { variable { value } } }`,
			map[string]any{"v": v}, nil)
	case opTasks:
		var out struct{ Tasks struct{ TotalCount int } }
		if err := do(`{ tasks(first: 20, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id name state priority } } } }`, nil, &out); err != nil {
			return err
		}
		if out.Tasks.TotalCount == 0 {
			return fmt.Errorf("no tasks visible")
		}
	case opCases:
		var out struct{ Cases struct{ TotalCount int } }
		return do(`{ cases(first: 20) { totalCount edges { node { id name state } } } }`, nil, &out)
	}
	return nil
}

// gql posts a GraphQL request and returns its data; any error in the response, or an
// HTTP status other than 200, is an error.
func gql(ctx context.Context, client *http.Client, url, token, query string, vars map[string]any) (json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("%s (code %q)", out.Errors[0].Message, out.Code())
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return out.Data, nil
}

type mixStats struct {
	requests, errors   int
	seconds, perSecond float64
	p50, p99, max      float64 // ms, all successful requests
	readP99, writeP99  float64 // ms, lists; mutations other than login
}

func (m *mix) stats() mixStats {
	var all, reads, writes []time.Duration
	s := mixStats{seconds: m.elapsed.Seconds()}
	for _, c := range m.clients {
		s.errors += c.errCount
		for op, l := range c.lat {
			all = append(all, l...)
			switch op {
			case opTasks, opCases:
				reads = append(reads, l...)
			case opLogin:
			default:
				writes = append(writes, l...)
			}
		}
	}
	s.requests = len(all) + s.errors
	s.perSecond = float64(len(all)) / s.seconds
	s.p50, s.p99, s.max = percentileMs(all, 50), percentileMs(all, 99), percentileMs(all, 100)
	s.readP99, s.writeP99 = percentileMs(reads, 99), percentileMs(writes, 99)
	return s
}

// percentileMs is the nearest-rank percentile p of d, in milliseconds.
func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	i := min(max(int(math.Ceil(p/100*float64(len(d))))-1, 0), len(d)-1)
	return float64(d[i]) / float64(time.Millisecond)
}

func (m *mix) firstErrors() []string {
	var out []string
	for _, c := range m.clients {
		out = append(out, c.errs...)
	}
	return out[:min(len(out), 10)]
}

func (m *mix) count(op int) int {
	n := 0
	for _, c := range m.clients {
		n += len(c.lat[op])
	}
	return n
}

// perOp gives each kind of request's count and p50/p99 latency.
func (m *mix) perOp() string {
	var b strings.Builder
	for op, name := range opNames {
		var l []time.Duration
		for _, c := range m.clients {
			l = append(l, c.lat[op]...)
		}
		fmt.Fprintf(&b, "%s %d %.0f/%.0f; ", name, len(l), percentileMs(l, 50), percentileMs(l, 99))
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func (m *mix) counts() map[string]int {
	out := map[string]int{}
	for op, name := range opNames {
		out[name] = m.count(op)
	}
	return out
}

// checkAcknowledged reads the database directly: every case and note the server
// acknowledged exists, no note was written that was not acknowledged, and every task
// is in the state the last acknowledged mutation on it reported.
func (m *mix) checkAcknowledged(t *testing.T) {
	t.Helper()
	ctx := policy.SystemContext(context.Background())
	c := m.srv.DB.Client
	id := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("id %q: %v", s, err)
		}
		return n
	}
	var cases, tasks []int
	notes := map[int]string{}
	states := map[int]string{}
	for _, cl := range m.clients {
		for _, cs := range cl.cases {
			cases = append(cases, id(cs))
		}
		for n, content := range cl.notes {
			notes[id(n)] = content
		}
		for tk, st := range cl.tasks {
			tasks = append(tasks, id(tk))
			states[id(tk)] = st
		}
	}
	if n := c.BusinessCase.Query().Where().CountX(ctx); n < len(cases) {
		t.Errorf("%d cases in the database, %d acknowledged", n, len(cases))
	}
	for _, cs := range cases {
		if _, err := c.BusinessCase.Get(ctx, cs); err != nil {
			t.Errorf("acknowledged case %d: %v", cs, err)
		}
	}
	stored := c.Note.Query().Where(note.ContentHasPrefix("mix note ")).AllX(ctx)
	if len(stored) != len(notes) {
		t.Errorf("%d mix notes in the database, %d acknowledged", len(stored), len(notes))
	}
	for _, n := range stored {
		if notes[n.ID] != n.Content {
			t.Errorf("note %d: %q stored, %q acknowledged", n.ID, n.Content, notes[n.ID])
		}
	}
	for _, tk := range c.Task.Query().Where(task.IDIn(tasks...)).AllX(ctx) {
		if string(tk.State) != states[tk.ID] {
			t.Errorf("task %d is %s, the last acknowledged mutation left it %s", tk.ID, tk.State, states[tk.ID])
		}
	}
	t.Logf("checked %d cases, %d notes, %d tasks; requests: %v", len(cases), len(notes), len(tasks), m.counts())
}
