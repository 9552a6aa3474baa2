package portico_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// Reproductions of the review's items 10 (tokens outlive what should end them), 15
// (weak and unchecked passwords) and 17 (anyone can lock a user out).

const viewerQuery = `{ viewer { id name } }`

// viewerID returns the id of the client's user.
func viewerID(t *testing.T, c *servertest.Client) string {
	t.Helper()
	var out struct{ Viewer struct{ ID string } }
	c.MustDo(t, viewerQuery, nil, &out)
	return out.Viewer.ID
}

// wantCode fails unless the response's first error has code.
func wantCode(t *testing.T, what string, r *servertest.Response, code string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("%s: code %q (errors %+v), want %s", what, r.Code(), r.Errors, code)
	}
}

// TestHostileTokenAfterPasswordChange: an administrator changes a user's password (the
// user's token leaked, say); the token already issued stops working, the new password works.
func TestHostileTokenAfterPasswordChange(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		bob := srv.Login(t, "bob", "bob")
		id := viewerID(t, bob)
		admin.MustDo(t, `mutation($id: ID!) { updateUser(input: {id: $id, password: "Fresh-pass-42"}) { user { id } } }`,
			map[string]any{"id": id}, nil)
		wantCode(t, "old token after the password change", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		srv.Login(t, "bob", "Fresh-pass-42").MustDo(t, viewerQuery, nil, nil)
		// Changing anything else leaves the sessions alone.
		bob2 := srv.Login(t, "bob", "Fresh-pass-42")
		admin.MustDo(t, `mutation($id: ID!) { updateUser(input: {id: $id, fullName: "Robert Brown"}) { user { id } } }`,
			map[string]any{"id": id}, nil)
		bob2.MustDo(t, viewerQuery, nil, nil)
	})
}

// TestHostileTokenAfterDisableEnable: disabling a user ends its tokens for good; enabling
// it again does not bring them back.
func TestHostileTokenAfterDisableEnable(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		bob := srv.Login(t, "bob", "bob")
		id := viewerID(t, bob)
		admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": id}, nil)
		wantCode(t, "token of a disabled user", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		admin.MustDo(t, `mutation($id: ID!) { enableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": id}, nil)
		wantCode(t, "old token after disable and enable", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		srv.Login(t, "bob", "bob").MustDo(t, viewerQuery, nil, nil)
	})
}

// TestHostileLogout: logout ends every token of the caller (all devices), and needs a
// valid token itself; other users' sessions go on.
func TestHostileLogout(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		laptop, phone := srv.Login(t, "bob", "bob"), srv.Login(t, "bob", "bob")
		alice := srv.Login(t, "alice", "alice")
		var out struct{ Logout struct{ Ok bool } }
		laptop.MustDo(t, `mutation { logout { ok } }`, nil, &out)
		if !out.Logout.Ok {
			t.Fatal("logout answered ok: false")
		}
		wantCode(t, "the logged-out token", laptop.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		wantCode(t, "the user's other token", phone.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		wantCode(t, "logout with the ended token", laptop.Do(t, `mutation { logout { ok } }`, nil), "UNAUTHENTICATED")
		wantCode(t, "anonymous logout", srv.Client().Do(t, `mutation { logout { ok } }`, nil), "UNAUTHENTICATED")
		alice.MustDo(t, viewerQuery, nil, nil)
		srv.Login(t, "bob", "bob").MustDo(t, viewerQuery, nil, nil)
	})
}

// TestHostileRevokeSessions: an administrator ends a user's sessions; a plain user may
// not end anyone's, and its attempt changes nothing.
func TestHostileRevokeSessions(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		bob, alice := srv.Login(t, "bob", "bob"), srv.Login(t, "alice", "alice")
		revoke := `mutation($id: ID!) { revokeSessions(input: {userId: $id}) { user { name } } }`
		wantCode(t, "revokeSessions by a plain user", bob.Do(t, revoke, map[string]any{"id": viewerID(t, alice)}), "FORBIDDEN")
		alice.MustDo(t, viewerQuery, nil, nil)
		var out struct {
			RevokeSessions struct{ User struct{ Name string } }
		}
		admin.MustDo(t, revoke, map[string]any{"id": viewerID(t, bob)}, &out)
		if out.RevokeSessions.User.Name != "bob" {
			t.Fatalf("revokeSessions returned %+v", out)
		}
		wantCode(t, "token after revokeSessions", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		alice.MustDo(t, viewerQuery, nil, nil)
		admin.MustDo(t, viewerQuery, nil, nil)
		wantCode(t, "revokeSessions of a missing user", admin.Do(t, revoke, map[string]any{"id": "999999999"}), "NOT_FOUND")
	})
}

// waitClose reads c until the server closes it, failing unless with code within 10 s.
func waitClose(t *testing.T, c *wsClient, code int) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := c.conn.ReadMessage()
		if err == nil {
			if strings.Contains(string(msg), `"next"`) {
				t.Logf("event before the close: %s", msg)
			}
			continue // pings, events sent before the end
		}
		if !websocket.IsCloseError(err, code) {
			t.Fatalf("socket ended with %v, want close %d", err, code)
		}
		return
	}
}

// TestHostileDisabledUserWebsocketCloses: the open websocket of a user who is disabled,
// logs out elsewhere, or whose sessions are revoked closes with 4401 (log in again); the
// websockets of other users stay open.
func TestHostileDisabledUserWebsocketCloses(t *testing.T) {
	const q = `subscription { taskUpdated { kind task { id } } }`
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		bob := srv.Login(t, "bob", "bob")
		bobID := viewerID(t, bob)
		bobSock := subscribe(t, srv, bob.Token, q)
		aliceSock := subscribe(t, srv, srv.Login(t, "alice", "alice").Token, q)

		admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": bobID}, nil)
		waitClose(t, bobSock, 4401)

		// Logout from one device closes the sockets opened with the user's other tokens.
		admin.MustDo(t, `mutation($id: ID!) { enableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": bobID}, nil)
		phone := subscribe(t, srv, srv.Login(t, "bob", "bob").Token, q)
		srv.Login(t, "bob", "bob").MustDo(t, `mutation { logout { ok } }`, nil, nil)
		waitClose(t, phone, 4401)

		wantPong(t, aliceSock) // alice's socket saw none of it
	})
}

// wantPong fails unless c is open: it answers a ping.
func wantPong(t *testing.T, c *wsClient) {
	t.Helper()
	c.write(map[string]any{"type": "ping"})
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got wsMessage
	for got.Type != "pong" {
		if err := c.conn.ReadJSON(&got); err != nil {
			t.Fatalf("socket closed: %v", err)
		}
	}
}

// TestHostileSessionsEndAcrossServers: two servers on one PostgreSQL database; the
// administrator on one disables a user whose websocket is open on the other: the socket
// closes with 4401 and the token is refused there at once.
func TestHostileSessionsEndAcrossServers(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	admin := a.Login(t, "admin", "admin")
	bob := b.Login(t, "bob", "bob")
	bobID := viewerID(t, bob)
	sock := subscribe(t, b, bob.Token, `subscription { taskUpdated { kind task { id } } }`)
	admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": bobID}, nil)
	wantCode(t, "bob's token on the other server", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
	waitClose(t, sock, 4401)

	// revokeSessions through b closes a socket open on a.
	admin.MustDo(t, `mutation($id: ID!) { enableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": bobID}, nil)
	sock = subscribe(t, a, a.Login(t, "bob", "bob").Token, `subscription { taskUpdated { kind task { id } } }`)
	b.Login(t, "admin", "admin").MustDo(t, `mutation($id: ID!) { revokeSessions(input: {userId: $id}) { user { id } } }`,
		map[string]any{"id": bobID}, nil)
	waitClose(t, sock, 4401)
}

// TestHostileForgedSessionsEvent: a forged bus message naming a user makes the servers
// re-read that user, nothing more: its websocket, whose token still holds, stays open.
func TestHostileForgedSessionsEvent(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	bob := srv.Login(t, "bob", "bob")
	id := viewerID(t, bob)
	var n int
	fmt.Sscan(id, &n)
	sock := subscribe(t, srv, bob.Token, `subscription { taskUpdated { kind task { id } } }`)
	if err := srv.Auth.CheckSessions(context.Background(), []int{n}); err != nil {
		t.Fatal(err)
	}
	wantPong(t, sock)
	// The same re-read after a real end of bob's sessions closes it.
	srv.Login(t, "bob", "bob").MustDo(t, `mutation { logout { ok } }`, nil, nil)
	waitClose(t, sock, 4401)
}

// TestHostileWeakPasswords: the default rules refuse "password" and its kind, through
// createUser and through importRoles' users file alike, and an imported password change
// ends the user's sessions like any other.
func TestHostileWeakPasswords(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		create := `mutation($n: String!, $p: String!) { createUser(input: {name: $n, password: $p}) { user { id } } }`
		for _, pw := range []string{"password", "Password1", "12345678", "qwertyuiop", "zzzzzzzzzz"} {
			wantCode(t, "createUser with "+pw, admin.Do(t, create, map[string]any{"n": "weak", "p": pw}), "BAD_USER_INPUT")
		}
		imp := `mutation($u: String!) { importRoles(input: {format: YAML, users: $u}) { usersCreated usersUpdated } }`
		file := func(name, pw string) string {
			return fmt.Sprintf("Users:\n  - Name: %s\n    Password: %s\n    Roles: [Everybody]\n", name, pw)
		}
		for _, pw := range []string{"password", "demo", "short"} {
			r := admin.Do(t, imp, map[string]any{"u": file("imported", pw)})
			wantCode(t, "importRoles with password "+pw, r, "BAD_USER_INPUT")
			if !strings.Contains(r.Errors[0].Message, `user "imported"`) {
				t.Errorf("message %q does not name the user", r.Errors[0].Message)
			}
		}
		wantCode(t, "login as the refused import", srv.Client().Do(t,
			`mutation { login(input: {username: "imported", password: "password"}) { token } }`, nil), "UNAUTHENTICATED")
		bob := srv.Login(t, "bob", "bob")
		admin.MustDo(t, imp, map[string]any{"u": file("imported", "Import3d-pass") + file("bob", "Imp0rted-pw-B")[7:]}, nil)
		srv.Login(t, "imported", "Import3d-pass")
		wantCode(t, "bob's token after an imported password", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		srv.Login(t, "bob", "Imp0rted-pw-B")
	})
}

// from is a GraphQL client whose requests come from the loopback address ip.
type from struct {
	url  string
	http *http.Client
}

func clientFrom(srv *servertest.Server, ip string) *from {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &from{url: srv.URL + "/graphql", http: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
}

func (f *from) login(t *testing.T, user, password string) *servertest.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		"variables": map[string]any{"u": user, "p": password}})
	resp, err := f.http.Post(f.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST from another address: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode (HTTP %d): %v: %s", resp.StatusCode, err, raw)
	}
	return &out
}

// TestHostileLoginLockout: an attacker at one address fails bob's password again and
// again; bob logs in from his own address all the same, while the attacker's address is
// throttled, for bob and, after enough failures, for any user.
func TestHostileLoginLockout(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		attacker, user := clientFrom(srv, "127.0.0.2"), clientFrom(srv, "127.0.0.1")
		for i := 0; i < 8; i++ {
			code := attacker.login(t, "bob", "guess").Code()
			if code != "UNAUTHENTICATED" && code != "FORBIDDEN" {
				t.Fatalf("attempt %d: code %q", i, code)
			}
		}
		if r := user.login(t, "bob", "bob"); r.Code() != "" {
			t.Fatalf("bob from his own address after 8 failures elsewhere: %+v", r.Errors)
		}
		r := attacker.login(t, "bob", "bob")
		wantCode(t, "the right password from the attacker's address", r, "FORBIDDEN")
		if r.Errors[0].Extensions["retryAfterSeconds"] == nil {
			t.Errorf("throttled without retryAfterSeconds: %+v", r.Errors[0])
		}
		// Spraying other users from the same address hits the address's limit.
		throttled := false
		for i := 0; i < 40 && !throttled; i++ {
			throttled = attacker.login(t, fmt.Sprintf("user%d", i), "guess").Code() == "FORBIDDEN"
		}
		if !throttled {
			t.Fatal("48 failures for many users from one address were never throttled")
		}
		wantCode(t, "alice from the sprayed address", attacker.login(t, "alice", "alice"), "FORBIDDEN")
		if r := user.login(t, "alice", "alice"); r.Code() != "" {
			t.Fatalf("alice from another address: %+v", r.Errors)
		}
	})
}

// TestHostileHeaderTokenWebsocket: a client that sends its token in the upgrade's
// Authorization header, not in connection_init, is that user and held to the same
// rules: a bad token closes the socket with 4401 at connection_init, and disabling the
// user closes the socket with 4401.
func TestHostileHeaderTokenWebsocket(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	admin := srv.Login(t, "admin", "admin")
	bob := srv.Login(t, "bob", "bob")
	dial := func(token string) *wsClient {
		d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := &wsClient{t: t, conn: conn}
		c.write(map[string]any{"type": "connection_init"})
		return c
	}
	waitClose(t, dial("nope"), 4401)

	sock := dial(bob.Token)
	if m := sock.next(); m.Type != "connection_ack" {
		t.Fatalf("init: %+v", m)
	}
	sock.write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": viewerQuery}})
	sock.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := sock.conn.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"name":"bob"`) {
		t.Fatalf("the viewer of a header-token socket: %s, %v; want bob", msg, err)
	}
	admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": viewerID(t, bob)}, nil)
	waitClose(t, sock, 4401)
}
