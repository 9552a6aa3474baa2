package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeDrains cancels serve's context (SIGTERM) with a request still sending its
// body and a websocket subscription open: /readyz answers 503 during --drain-delay, the
// request then completes with its real answer, the websocket gets close code 1001 with
// a reason, and serve returns without error.
func TestServeDrains(t *testing.T) {
	db := "file:" + filepath.Join(t.TempDir(), "portico.db")
	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--demo", "--addr", addr, "--database-url", db, "--log-level", "error",
			"--drain-delay", "1s", "--drain-timeout", "10s"})
	}()
	waitHealthy(t, base+"/healthz")
	token := login(t, base, "demo", "demo")

	// A websocket with a subscription.
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	send := func(m map[string]any) {
		t.Helper()
		if err := ws.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (string, error) {
		ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		var m struct{ Type string }
		err := ws.ReadJSON(&m)
		return m.Type, err
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}})
	if typ, err := read(); err != nil || typ != "connection_ack" {
		t.Fatalf("after connection_init: %q, %v", typ, err)
	}
	send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "subscription { notifications { kind } }"}})
	send(map[string]any{"type": "ping"}) // answered after the subscribe was handled
	for {
		typ, err := read()
		if err != nil {
			t.Fatalf("waiting for pong: %v", err)
		}
		if typ == "pong" {
			break
		} else if typ != "ping" {
			t.Fatalf("before pong: %q", typ)
		}
	}

	// A request sending half its body now and the rest after the drain delay, when the
	// listener no longer accepts.
	body, w := io.Pipe()
	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/graphql", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- resp.Status + " " + string(b)
	}()
	w.Write([]byte(`{"query": "{ viewer `))
	time.Sleep(200 * time.Millisecond) // the request is in flight

	cancel() // SIGTERM
	deadline := time.Now().Add(900 * time.Millisecond)
	for status := 0; status != http.StatusServiceUnavailable; {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answered %d during the drain delay, want 503", status)
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // past the delay: shutting down
	if _, err := w.Write([]byte(`{ name } }"}`)); err != nil {
		t.Fatalf("finishing the body: %v", err)
	}
	w.Close()
	select {
	case got := <-slow:
		if want := `200 OK {"data":{"viewer":{"name":"demo"}}}`; strings.TrimSpace(got) != want {
			t.Errorf("request in flight at SIGTERM: %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Error("request in flight at SIGTERM: no answer")
	}

	for {
		_, err := read()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text == "" {
			t.Errorf("websocket closed with %v, want 1001 (going away) with a reason", err)
		}
		break
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within the drain timeout")
	}
}

func login(t *testing.T, base, user, password string) string {
	t.Helper()
	q, _ := json.Marshal(map[string]any{"query": `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		"variables": map[string]any{"u": user, "p": password}})
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(string(q)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ Login struct{ Token string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Login.Token == "" {
		t.Fatalf("login %s: %v", user, err)
	}
	return out.Data.Login.Token
}
