package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver "postgres"
)

// The subscriptions and mutations each kind of event uses; $v is the event text.
const (
	announcementSubscription = `subscription { announcementChanged { enabled value contents { language value } } }`
	announcementMutation     = `mutation($v: String!) { setAnnouncement(input: {contents: [{language: "en", value: $v}], enabled: true}) { announcement { value } } }`
	taskSubscription         = `subscription { taskUpdated { kind task { id name } } }`
	// With -users: each subscriber's filter comes as $w (null: none).
	viewerSubscription = `subscription($w: TaskWhereInput) { taskUpdated(where: $w) { kind id task { id name state priority createdAt } } }`
	startMutation      = `mutation($id: ID!) { startProcess(input: {processId: $id}) { task { id } } }`
	taskMutation       = `mutation($id: ID!, $v: String!) { updateTask(input: {id: $id, name: $v}) { task { id } } }`
	loginMutation      = `mutation { login(input: {username: "admin", password: "admin"}) { token } }`
	firstTaskQuery     = `{ tasks(first: 1) { edges { node { id } } } }`
)

// buildPortico compiles ./cmd/portico of the module the benchmark runs in.
func buildPortico(ctx context.Context, tmp string) (string, error) {
	bin := filepath.Join(tmp, "portico")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/portico-dev/portico/cmd/portico").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build portico (run subbench inside the repository, or give -portico): %w\n%s", err, out)
	}
	return bin, nil
}

// startPortico creates a fresh database and starts n servers on it, one after another
// (the first prepares the empty database with the demo data), each with its pprof
// listener. Without -users, subscribers all use the admin's token; with it, see
// prepareViewers. Events are published on each instance in turn.
func startPortico(ctx context.Context, cfg config, bin, tmp string, n int) (*target, error) {
	dbURL, drop, err := createDatabase(ctx, cfg.Postgres)
	if err != nil {
		return nil, err
	}
	t := &target{name: fmt.Sprintf("portico×%d", n)}
	var children []*child
	t.close = func() {
		var wg sync.WaitGroup
		for _, c := range children {
			wg.Go(c.stop)
		}
		wg.Wait()
		drop()
	}
	var bases []string
	for i := range n {
		addr, err := freeAddr()
		if err != nil {
			return t, err
		}
		debug, err := freeAddr()
		if err != nil {
			return t, err
		}
		c, err := startChild(ctx, filepath.Join(tmp, fmt.Sprintf("portico-%d-of-%d.log", i+1, n)), bin, "serve",
			"--demo", "--admin-password", "admin", "--addr", addr, "--debug-addr", debug,
			"--database-url", dbURL, "--log-level", "info")
		if err != nil {
			return t, err
		}
		children = append(children, c)
		base := "http://" + addr
		if err := c.waitHealthy(ctx, base+"/healthz"); err != nil {
			return t, err
		}
		bases = append(bases, base)
		t.instances = append(t.instances, &instance{
			wsURL: "ws://" + addr + "/graphql",
			pid:   c.cmd.Process.Pid,
			debug: "http://" + debug + "/debug/pprof",
			goroutines: func(ctx context.Context) (int, error) {
				return goroutineTotal(ctx, "http://"+debug+"/debug/pprof/goroutine?debug=1")
			},
		})
	}

	var login struct{ Login struct{ Token string } }
	if err := graphQL(ctx, bases[0], "", loginMutation, nil, &login); err != nil {
		return t, fmt.Errorf("login as admin: %w", err)
	}
	token := login.Login.Token
	if cfg.Users > 0 {
		return t, prepareViewers(ctx, cfg, t, bases, token)
	}
	subscription, mutation, vars := announcementSubscription, announcementMutation, map[string]any{}
	if cfg.Subscription == "task" {
		var q struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		if err := graphQL(ctx, bases[0], token, firstTaskQuery, nil, &q); err != nil {
			return t, fmt.Errorf("find a task: %w", err)
		}
		if len(q.Tasks.Edges) == 0 {
			return t, fmt.Errorf("the demo data has no task for the admin to update")
		}
		subscription, mutation, vars = taskSubscription, taskMutation, map[string]any{"id": q.Tasks.Edges[0].Node.ID}
	}
	init, subscribe := initMessage(token), subscribeMessage(subscription, nil)
	t.hello = func(int) (string, []byte, []byte) { return "", init, subscribe }
	t.key = seqKey
	t.publish = func(ctx context.Context, seq int, text string) ([]int64, error) {
		v := map[string]any{"v": text}
		for k, x := range vars {
			v[k] = x
		}
		return []int64{int64(seq)}, graphQL(ctx, bases[seq%len(bases)], token, mutation, v, nil)
	}
	return t, nil
}

func initMessage(token string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"authorization": "Bearer " + token}})
	return b
}

func subscribeMessage(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	return b
}

// viewerPassword is the password of the users subbench creates.
const viewerPassword = "subbench-Secret-2026"

// prepareViewers sets the database up for distinct viewers (see audience): -roles roles
// and -users users in them, imported in one importRoles as the admin; an express process
// per (role, marker) whose one user task is that role's, and one per role for the
// warm-up; then every user logs in. Subscriber i uses user i%Users's token and filter
// i%Filters; event seq starts its process as the admin, on instance seq%n, and is known
// to subscribers by the id of the task it creates.
func prepareViewers(ctx context.Context, cfg config, t *target, bases []string, admin string) error {
	aud := cfg.audience()
	began := time.Now()
	role := func(r int) string { return fmt.Sprintf("subbench-role-%d", r) }
	user := func(u int) string { return fmt.Sprintf("sbuser%05d", u+1) }
	// Roles first, then the users in batches, two at a time: the import hashes each
	// password (bcrypt) on one core, and a batch must answer within the write timeout.
	importFiles := func(roles, users string) (int, error) {
		var out struct{ ImportRoles struct{ UsersCreated int } }
		vars := map[string]any{}
		if roles != "" {
			vars["r"] = roles
		}
		if users != "" {
			vars["u"] = users
		}
		err := graphQLWith(ctx, setupClient, bases[0], admin, `mutation($r: String, $u: String) { importRoles(input: {format: YAML, roles: $r, users: $u}) { usersCreated } }`, vars, &out)
		return out.ImportRoles.UsersCreated, err
	}
	var roles strings.Builder
	roles.WriteString("Roles:\n  - Id: Everybody\n    Name: Everybody\n")
	for r := range aud.roles() {
		fmt.Fprintf(&roles, "  - Id: %s\n    Name: %s\n", role(r), role(r))
	}
	if _, err := importFiles(roles.String(), ""); err != nil {
		return fmt.Errorf("import the roles: %w", err)
	}
	const batch = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	created := 0
	sem := make(chan struct{}, 2)
	for from := 0; from < aud.Users; from += batch {
		var users strings.Builder
		users.WriteString("Users:\n")
		for u := from; u < min(from+batch, aud.Users); u++ {
			fmt.Fprintf(&users, "  - Name: %s\n    Password: %s\n    Roles: [%s]\n", user(u), viewerPassword, role(u%aud.roles()))
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := importFiles("", users.String())
			mu.Lock()
			defer mu.Unlock()
			created += n
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("import users: %w", err)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if created != aud.Users {
		return fmt.Errorf("importRoles created %d users, want %d", created, aud.Users)
	}

	express := func(name string, r int) (string, error) {
		var out struct {
			CreateExpressProcess struct{ Process struct{ ID string } }
		}
		in := map[string]any{"processName": name, "processType": "subbench", "readyToExecute": true,
			"taskDefinitions": []map[string]any{{"type": "USER_TASK", "responsibles": []string{role(r)}, "subject": name, "taskPosition": 1}}}
		err := graphQL(ctx, bases[0], admin, `mutation($in: ExpressProcessInput!) { createExpressProcess(input: $in) { process { id } } }`,
			map[string]any{"in": in}, &out)
		return out.CreateExpressProcess.Process.ID, err
	}
	processes := make([]string, aud.processes())
	for j := range processes {
		name := "subbench step"
		if aud.Filters > 0 {
			name = fmt.Sprintf("subbench step #%d#", j%aud.Filters)
		}
		var err error
		if processes[j], err = express(name, j%aud.roles()); err != nil {
			return fmt.Errorf("create process %d: %w", j, err)
		}
	}
	warmups := make([]string, aud.roles())
	for r := range warmups {
		var err error
		if warmups[r], err = express("subbench warm-up", r); err != nil {
			return fmt.Errorf("create a warm-up process: %w", err)
		}
	}

	// Logins: bcrypt per user, a few at a time over the instances.
	tokens := make([]string, aud.Users)
	sem = make(chan struct{}, 4)
	for u := range tokens {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var out struct{ Login struct{ Token string } }
			err := graphQL(ctx, bases[u%len(bases)], "", `mutation($n: String!, $p: String!) { login(input: {username: $n, password: $p}) { token } }`,
				map[string]any{"n": user(u), "p": viewerPassword}, &out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("log in as %s: %w", user(u), err)
			}
			tokens[u] = out.Login.Token
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	slog.Info("viewers ready", "target", t.name, "users", aud.Users, "roles", aud.roles(), "processes", len(processes), "took", time.Since(began).Round(time.Millisecond))

	inits := make([][]byte, aud.Users)
	for u, tok := range tokens {
		inits[u] = initMessage(tok)
	}
	subscribes := []([]byte){subscribeMessage(viewerSubscription, nil)}
	if aud.Filters > 0 {
		subscribes = make([][]byte, aud.Filters)
		for k := range subscribes {
			// "Not marker k": k excludes the events of the processes with that marker.
			subscribes[k] = subscribeMessage(viewerSubscription, map[string]any{"w": map[string]any{
				"not": map[string]any{"nameContains": fmt.Sprintf("#%d#", k)}}})
		}
	}
	t.hello = func(i int) (string, []byte, []byte) {
		return "", inits[i%aud.Users], subscribes[max(aud.subFilter(i), 0)]
	}
	t.key = taskKey
	start := func(ctx context.Context, base, process string) (int64, error) {
		var out struct {
			StartProcess struct{ Task *struct{ ID string } }
		}
		if err := graphQL(ctx, base, admin, startMutation, map[string]any{"id": process}, &out); err != nil {
			return 0, err
		}
		if out.StartProcess.Task == nil {
			return 0, fmt.Errorf("startProcess created no task")
		}
		return strconv.ParseInt(out.StartProcess.Task.ID, 10, 64)
	}
	t.publish = func(ctx context.Context, seq int, _ string) ([]int64, error) {
		base := bases[seq%len(bases)]
		if seq > 0 {
			id, err := start(ctx, base, processes[(seq-1)%len(processes)])
			return []int64{id}, err
		}
		var keys []int64
		for _, p := range warmups {
			id, err := start(ctx, base, p)
			if err != nil {
				return keys, err
			}
			keys = append(keys, id)
		}
		return keys, nil
	}
	return nil
}

// taskKey finds the task id of a taskUpdated event: `"taskUpdated":{"kind":"…","id":"N"`.
func taskKey(msg []byte) (int64, bool) {
	i := bytes.Index(msg, []byte(`"taskUpdated":{`))
	if i < 0 {
		return 0, false
	}
	rest := msg[i:]
	j := bytes.Index(rest, []byte(`"id":"`))
	if j < 0 {
		return 0, false
	}
	n, _ := digits(rest[j+len(`"id":"`):])
	id, err := strconv.ParseInt(string(n), 10, 64)
	return id, err == nil
}

// createDatabase creates an empty database next to the maintenance database at admin
// and returns its URL and a function dropping it.
func createDatabase(ctx context.Context, admin string) (string, func(), error) {
	db, err := sql.Open("postgres", admin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("subbench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, _ := url.Parse(admin) // checked by checkConfig
	u.Path = "/" + name
	drop := func() {
		// FORCE: a server killed uncleanly may leave sessions behind.
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "subbench: drop database %s: %v\n", name, err)
		}
		db.Close()
	}
	return u.String(), drop, nil
}

// goroutineTotal reads "goroutine profile: total N" from pprof's goroutine profile.
func goroutineTotal(ctx context.Context, url string) (int, error) {
	b, err := get(ctx, url)
	if err != nil {
		return 0, err
	}
	line, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
	n, ok := strings.CutPrefix(string(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("unexpected goroutine profile %.100q", line)
	}
	return strconv.Atoi(n)
}

// setupClient waits as long as the context for slow set-up requests (an import hashes a
// password per user).
var setupClient = &http.Client{}

// graphQL posts a request to base/graphql and decodes data into out (when not nil);
// GraphQL errors are errors.
func graphQL(ctx context.Context, base, token, query string, vars map[string]any, out any) error {
	return graphQLWith(ctx, httpClient, base, token, query, vars, out)
}

func graphQLWith(ctx context.Context, client *http.Client, base, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("HTTP %d: decode: %w", resp.StatusCode, err)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, r.Errors[0].Message)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}
