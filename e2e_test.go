package portico_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/servertest"
)

var npmOnce sync.Once

// nodeClients installs the npm clients of e2e/ once (npm ci, from its lock file).
func nodeClients(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("e2e")
	var err error
	npmOnce.Do(func() {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); statErr == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		var out []byte
		if out, err = cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("npm ci in e2e: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// nodeSubscriber is one real npm client (graphql-ws or the legacy
// subscriptions-transport-ws) subscribed to taskUpdated.
type nodeSubscriber struct {
	t     *testing.T
	name  string
	lines chan string
	stdin io.WriteCloser
}

func startNode(t *testing.T, dir, name, url, token, protocol string) *nodeSubscriber {
	t.Helper()
	cmd := exec.Command("node", "subscribe.mjs", url, token, protocol)
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	s := &nodeSubscriber{t: t, name: name, lines: make(chan string, 100), stdin: stdin}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if l := s.line(); l != `"ready"` {
		t.Fatalf("%s: %s", name, l)
	}
	// "ready" means connected; the subscribe that follows is not acknowledged, so give
	// the server a moment to register it.
	time.Sleep(300 * time.Millisecond)
	return s
}

func (s *nodeSubscriber) line() string {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.t.Fatalf("%s exited", s.name)
		}
		return l
	case <-time.After(15 * time.Second):
		s.t.Fatalf("%s: no message within 15 s", s.name)
	}
	return ""
}

// event returns the next event's kind and task name.
func (s *nodeSubscriber) event() (string, string) {
	s.t.Helper()
	l := s.line()
	var v struct {
		TaskUpdated struct {
			Kind string
			Task struct{ Name string }
		}
		Error string
	}
	if err := json.Unmarshal([]byte(l), &v); err != nil || v.Error != "" || v.TaskUpdated.Kind == "" {
		s.t.Fatalf("%s: unexpected %s", s.name, l)
	}
	return v.TaskUpdated.Kind, v.TaskUpdated.Task.Name
}

// TestRealClients drives npm's graphql-ws (graphql-transport-ws) and the legacy
// subscriptions-transport-ws (graphql-ws protocol) against a running server: a
// subscriber sees its events, another user does not see what is not theirs, and a
// subscriber that loses its role stops receiving.
func TestRealClients(t *testing.T) {
	dir := nodeClients(t)
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql"
		admin, carol, alice := srv.Login(t, "admin", "admin"), srv.Login(t, "carol", "carol"), srv.Login(t, "alice", "alice")
		bob := srv.Login(t, "bob", "bob")
		modern := startNode(t, dir, "alice/graphql-ws", wsURL, alice.Token, "modern")
		legacy := startNode(t, dir, "alice/legacy", wsURL, alice.Token, "legacy")
		other := startNode(t, dir, "bob/graphql-ws", wsURL, bob.Token, "modern")

		ids := map[string]string{}
		var out struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID, Name string } }
			}
			Alice struct{ ID string } `json:"alice"`
			Every struct{ ID string } `json:"every"`
			Procs struct {
				Edges []struct{ Node struct{ ID string } }
			} `json:"procs"`
		}
		admin.MustDo(t, `{ tasks { edges { node { id name } } } }`, nil, &out)
		for _, e := range out.Tasks.Edges {
			ids[e.Node.Name] = e.Node.ID
		}
		alice.MustDo(t, `{ alice: viewer { id } every: role(name: "Everybody") { id } procs: processes { edges { node { id } } } }`, nil, &out)
		act := func(c *servertest.Client, mutation, task string) {
			c.MustDo(t, fmt.Sprintf(`mutation { %s(input: {id: "%s"}) { task { id } } }`, mutation, ids[task]), nil, nil)
		}
		expect := func(s *nodeSubscriber, kind, name string) {
			t.Helper()
			if k, n := s.event(); k != kind || n != name {
				t.Fatalf("%s got %s %q, want %s %q", s.name, k, n, kind, name)
			}
		}

		act(carol, "startTask", "Check remaining holidays") // Support Group: alice's, not bob's
		act(carol, "startTask", "Approve leave request")    // Development: bob's, not alice's
		expect(modern, "CHANGED", "Check remaining holidays")
		expect(legacy, "CHANGED", "Check remaining holidays")
		expect(other, "CHANGED", "Approve leave request")

		admin.MustDo(t, fmt.Sprintf(`mutation { setUserRoles(input: {userId: "%s", roleIds: ["%s"]}) { user { id } } }`, out.Alice.ID, out.Every.ID), nil, nil)
		act(carol, "resetTask", "Check remaining holidays")
		expect(modern, "DELETED", "") // the id alone: task is null
		expect(legacy, "DELETED", "")
		act(carol, "startTask", "Check remaining holidays") // alice may no longer see it
		alice.MustDo(t, fmt.Sprintf(`mutation { startProcess(input: {processId: "%s"}) { task { id } } }`, out.Procs.Edges[0].Node.ID), nil, nil)
		expect(modern, "CREATED", "Fill in the leave request")
		expect(legacy, "CREATED", "Fill in the leave request")
	})
}
