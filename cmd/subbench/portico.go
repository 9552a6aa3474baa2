package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	taskMutation             = `mutation($id: ID!, $v: String!) { updateTask(input: {id: $id, name: $v}) { task { id } } }`
	loginMutation            = `mutation { login(input: {username: "admin", password: "admin"}) { token } }`
	firstTaskQuery           = `{ tasks(first: 1) { edges { node { id } } } }`
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
// listener. Subscribers all use the admin's token; events are published on instance 1.
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
	t.init, _ = json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"authorization": "Bearer " + token}})
	t.subscribe, _ = json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]string{"query": subscription}})
	t.publish = func(ctx context.Context, text string) error {
		v := map[string]any{"v": text}
		for k, x := range vars {
			v[k] = x
		}
		return graphQL(ctx, bases[0], token, mutation, v, nil)
	}
	return t, nil
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

// graphQL posts a request to base/graphql and decodes data into out (when not nil);
// GraphQL errors are errors.
func graphQL(ctx context.Context, base, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
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
