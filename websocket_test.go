package portico_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/servertest"
)

// TestWebsocketInit checks the token in the connection_init payload: a valid one is
// acknowledged, a bad one closes the socket with 4401, on both subprotocols.
func TestWebsocketInit(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	token := srv.Login(t, "demo", "demo").Token
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql"
	tests := []struct {
		name, protocol, auth string
		ack                  bool
	}{
		{"modern, valid token", "graphql-transport-ws", "Bearer " + token, true},
		{"modern, bad token", "graphql-transport-ws", "Bearer nope", false},
		{"legacy, valid token", "graphql-ws", "Bearer " + token, true},
		{"legacy, bad token", "graphql-ws", "Bearer nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: []string{tt.protocol}, HandshakeTimeout: 5 * time.Second}
			conn, resp, err := d.Dial(wsURL, http.Header{})
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer conn.Close()
			if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": tt.auth}}); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				var msg struct{ Type string }
				err := conn.ReadJSON(&msg)
				if tt.ack {
					if err != nil {
						t.Fatalf("no ack: %v", err)
					}
					if msg.Type == "connection_ack" {
						return
					}
					continue
				}
				if err == nil {
					if msg.Type == "connection_ack" {
						t.Fatal("a bad token was acknowledged")
					}
					continue // legacy sends connection_error first
				}
				if !websocket.IsCloseError(err, 4401) {
					t.Fatalf("closed with %v, want 4401", err)
				}
				return
			}
		})
	}
}

// TestInternalErrorsAreMasked breaks the database under a running server: the client
// gets INTERNAL with a request id, never the driver's text.
func TestInternalErrorsAreMasked(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		c := srv.Login(t, "admin", "admin")
		srv.DB.Close() // the writer and, on SQLite, the readers beside it
		r := c.Do(t, `{ roles { totalCount } }`, nil)
		if len(r.Errors) == 0 {
			t.Fatal("no error from a closed database")
		}
		for _, e := range r.Errors {
			code := e.Extensions["code"]
			if code != "INTERNAL" || strings.Contains(strings.ToLower(e.Message), "sql") {
				t.Fatalf("error leaks or has the wrong code: %+v", e)
			}
			if id, _ := e.Extensions["requestId"].(string); id == "" || !strings.Contains(e.Message, id) {
				t.Fatalf("no request id: %+v", e)
			}
		}
	})
}

// TestWebsocketInitDatabaseFailure: when the database fails during connection_init the
// socket closes with 1011, not 4401 (the token is fine: logging in again would not
// help), and the close reason does not show the driver's text.
func TestWebsocketInitDatabaseFailure(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	token := srv.Login(t, "demo", "demo").Token
	srv.DB.Close() // the writer and the readers beside it
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", http.Header{})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var msg struct{ Type string }
		err := conn.ReadJSON(&msg)
		if err == nil {
			if msg.Type == "connection_ack" {
				t.Fatal("acknowledged without a database")
			}
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr || strings.Contains(strings.ToLower(ce.Text), "sql") {
			t.Fatalf("closed with %v, want 1011 without the driver's text", err)
		}
		return
	}
}

// TestTokenExpiryClosesSubscriptions: when the token given in connection_init expires,
// the server closes the socket with 4401 (log in again), ending its subscriptions.
func TestTokenExpiryClosesSubscriptions(t *testing.T) {
	cfg := demo()
	cfg.TokenTTL = 2 * time.Second
	srv := servertest.Start(t, "sqlite", cfg)
	c := subscribe(t, srv, srv.Login(t, "demo", "demo").Token, `subscription { caseUpdated { kind } }`)
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue // pings
		}
		if !websocket.IsCloseError(err, 4401) {
			t.Fatalf("closed with %v, want 4401 when the token expires", err)
		}
		return
	}
}
