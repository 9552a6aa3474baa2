package portico_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/passwordreset"
	"github.com/portico-dev/portico/mail/mailtest"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// Issue 15, items 1 and 2: a user's own password, and "forgot my password".

const (
	changePasswordQ = `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) { token expiresAt user { name } } }`
	requestResetQ   = `mutation($u: String!) { requestPasswordReset(input: {usernameOrEmail: $u}) { ok } }`
	resetPasswordQ  = `mutation($t: String!, $n: String!) { resetPassword(input: {token: $t, newPassword: $n}) { ok } }`
)

// ipClient sends GraphQL requests from the loopback address ip, with an optional token.
type ipClient struct {
	url, token string
	http       *http.Client
}

func fromIP(srv *servertest.Server, ip, token string) *ipClient {
	f := clientFrom(srv, ip)
	return &ipClient{url: f.url, token: token, http: f.http}
}

func (c *ipClient) do(t *testing.T, query string, vars map[string]any) *servertest.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out servertest.Response
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode (HTTP %d): %v: %s", resp.StatusCode, err, raw)
	}
	return &out
}

func wantField(t *testing.T, what string, r *servertest.Response, code, field string) {
	t.Helper()
	wantCode(t, what, r, code)
	if got := r.Errors[0].Extensions["field"]; got != field {
		t.Errorf("%s: extensions.field %v, want %q (%+v)", what, got, field, r.Errors[0])
	}
}

func loginCode(t *testing.T, srv *servertest.Server, name, password string) string {
	t.Helper()
	return srv.Client().Do(t, `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": name, "p": password}).Code()
}

// TestChangePassword: the viewer changes its own password with the current one; the
// rules apply, a wrong current password is FORBIDDEN and counts toward the login
// throttle, and on success every other session ends (tokens, websockets with 4401)
// while the payload's token works.
func TestChangePassword(t *testing.T) {
	const sub = `subscription { taskUpdated { kind task { id } } }`
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		bob, bobPhone := srv.Login(t, "bob", "bob"), srv.Login(t, "bob", "bob")
		alice := srv.Login(t, "alice", "alice")
		phoneSock := subscribe(t, srv, bobPhone.Token, sub)
		aliceSock := subscribe(t, srv, alice.Token, sub)

		wantCode(t, "no token", srv.Client().Do(t, changePasswordQ, map[string]any{"c": "bob", "n": "Fresh-pass-42"}), "UNAUTHENTICATED")
		wantCode(t, "a forged token", (&servertest.Client{URL: bob.URL, Token: "x.y.z"}).Do(t, changePasswordQ,
			map[string]any{"c": "bob", "n": "Fresh-pass-42"}), "UNAUTHENTICATED")
		wantField(t, "wrong current password", bob.Do(t, changePasswordQ, map[string]any{"c": "alice", "n": "Fresh-pass-42"}), "FORBIDDEN", "currentPassword")
		wantField(t, "hostile current password", bob.Do(t, changePasswordQ, map[string]any{"c": "' OR 1=1 --", "n": "Fresh-pass-42"}), "FORBIDDEN", "currentPassword")
		for _, weak := range []string{"password", "zzzzzzzzzz", "short1!", "my-bob-password-9"} {
			wantCode(t, "weak new password "+weak, bob.Do(t, changePasswordQ, map[string]any{"c": "bob", "n": weak}), "BAD_USER_INPUT")
		}
		wantField(t, "empty new password", bob.Do(t, changePasswordQ, map[string]any{"c": "bob", "n": ""}), "BAD_USER_INPUT", "newPassword")
		wantField(t, "73-byte password", bob.Do(t, changePasswordQ, map[string]any{"c": "bob", "n": strings.Repeat("Ab1-", 19)[:73]}), "BAD_USER_INPUT", "newPassword")
		wantField(t, "huge password", bob.Do(t, changePasswordQ, map[string]any{"c": "bob", "n": strings.Repeat("x'); DROP TABLE users; --", 20000)}), "BAD_USER_INPUT", "newPassword")
		bob.MustDo(t, viewerQuery, nil, nil) // none of that ended anything

		var out struct {
			ChangePassword struct {
				Token string
				User  struct{ Name string }
			}
		}
		hostile := `Fresh') OR 1=1 --"42`
		bob.MustDo(t, changePasswordQ, map[string]any{"c": "bob", "n": hostile}, &out)
		if out.ChangePassword.Token == "" || out.ChangePassword.User.Name != "bob" {
			t.Fatalf("payload %+v", out.ChangePassword)
		}
		wantCode(t, "the caller's old token", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		wantCode(t, "the other device's token", bobPhone.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		waitClose(t, phoneSock, 4401)
		wantPong(t, aliceSock)
		fresh := &servertest.Client{URL: bob.URL, Token: out.ChangePassword.Token}
		if viewerID(t, fresh) == "" {
			t.Fatal("the payload's token does not work")
		}
		if code := loginCode(t, srv, "bob", "bob"); code != "UNAUTHENTICATED" {
			t.Errorf("login with the old password: %q", code)
		}
		srv.Login(t, "bob", hostile).MustDo(t, viewerQuery, nil, nil)
		alice.MustDo(t, viewerQuery, nil, nil) // other users keep their sessions

		// Guessing the current password is throttled with the login: after 5 failures
		// from one address even the right one is refused there, and login too.
		guesser := fromIP(srv, "127.0.0.3", out.ChangePassword.Token)
		throttled := false
		for i := 0; i < 8 && !throttled; i++ {
			r := guesser.do(t, changePasswordQ, map[string]any{"c": "guess", "n": "Another-pass-43"})
			throttled = r.Code() == "FORBIDDEN" && r.Errors[0].Extensions["retryAfterSeconds"] != nil
		}
		if !throttled {
			t.Fatal("8 wrong current passwords were never throttled")
		}
		wantCode(t, "the right current password while throttled", guesser.do(t, changePasswordQ, map[string]any{"c": hostile, "n": "Another-pass-43"}), "FORBIDDEN")
		wantCode(t, "login from the throttled address", fromIP(srv, "127.0.0.3", "").do(t,
			`mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`, map[string]any{"u": "bob", "p": hostile}), "FORBIDDEN")
		fresh.MustDo(t, viewerQuery, nil, nil) // the throttle ended no session
	})
}

var tokenInMail = regexp.MustCompile(`(?:token=|<code>)([A-Za-z0-9_-]{43})["<]`)

// nextMail waits for the next mail and returns its recipient line and reset token.
func nextMail(t *testing.T, msgs <-chan string) (to, token string) {
	t.Helper()
	select {
	case m := <-msgs:
		for _, l := range strings.Split(m, "\r\n") {
			if v, ok := strings.CutPrefix(l, "To: "); ok {
				to = v
			}
		}
		if !strings.Contains(m, "Subject: Reset your Portico password") {
			t.Errorf("mail without the reset subject:\n%s", m)
		}
		mt := tokenInMail.FindStringSubmatch(m)
		if mt == nil {
			t.Fatalf("no token in the mail:\n%s", m)
		}
		return to, mt[1]
	case <-time.After(10 * time.Second):
		t.Fatal("no mail within 10 s")
	}
	return "", ""
}

// countMails counts the mails arriving within d.
func countMails(msgs <-chan string, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case <-msgs:
			n++
		case <-deadline:
			return n
		}
	}
}

// TestPasswordReset, end to end against the SMTP test server: a request mails a token
// link, the token sets a new password once, the old one and every session end; the
// answer is the same for unknown users; bad tokens of every kind are one BAD_USER_INPUT.
func TestPasswordReset(t *testing.T) {
	const sub = `subscription { taskUpdated { kind task { id } } }`
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		addr, msgs := mailtest.Server(t)
		srv := servertest.Start(t, dialect, portico.Config{Demo: true,
			SMTPURL: "smtp://" + addr + "?from=portal@example.com", PasswordResetURL: "https://portal.example.com/reset"})
		anon := srv.Client()
		bob := srv.Login(t, "bob", "bob")
		bobSock := subscribe(t, srv, bob.Token, sub)

		// Unknown names and addresses get the very same answer, and no mail.
		var answers []string
		for _, name := range []string{"nobody", "nobody@example.com", "') OR 1=1 --", strings.Repeat("'\"; DROP TABLE users; ", 20), "bob"} {
			r := anon.Do(t, requestResetQ, map[string]any{"u": name})
			if len(r.Errors) > 0 {
				t.Fatalf("request for %q: %+v", name, r.Errors)
			}
			answers = append(answers, string(r.Data))
		}
		for _, a := range answers {
			if a != answers[0] {
				t.Errorf("answers differ: %v", answers)
			}
		}
		to, token := nextMail(t, msgs) // the worker took them in order: only bob's mails
		if to != "bob@example.com" {
			t.Fatalf("mail to %q, want bob@example.com", to)
		}
		wantField(t, "a name over 500 characters", anon.Do(t, requestResetQ, map[string]any{"u": strings.Repeat("a", 501)}), "BAD_USER_INPUT", "usernameOrEmail")
		wantField(t, "an empty name", anon.Do(t, requestResetQ, map[string]any{"u": "  "}), "BAD_USER_INPUT", "usernameOrEmail")

		// Bad tokens, one error; a weak password leaves the token usable.
		alice := srv.Login(t, "alice", "alice")
		flipped := []byte(token)
		flipped[5] ^= 1
		if flipped[5] == '-' || flipped[5] == '_' {
			flipped[5] = 'A'
		}
		for what, bad := range map[string]string{
			"empty": "", "SQL": "') OR 1=1 --", "quotes": `'"'"`, "huge": strings.Repeat("A", 200000),
			"a login token": alice.Token, "a changed token": string(flipped), "a token and more": token + "x",
			"the token's hash shape": strings.Repeat("a", 64),
		} {
			wantField(t, "token "+what, anon.Do(t, resetPasswordQ, map[string]any{"t": bad, "n": "Reset-pass-42"}), "BAD_USER_INPUT", "token")
		}
		wantCode(t, "the reset token as a bearer token", (&servertest.Client{URL: anon.URL, Token: token}).Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		wantCode(t, "a weak password", anon.Do(t, resetPasswordQ, map[string]any{"t": token, "n": "password"}), "BAD_USER_INPUT")
		wantCode(t, "a password naming the user", anon.Do(t, resetPasswordQ, map[string]any{"t": token, "n": "bob-is-back-42"}), "BAD_USER_INPUT")
		bob.MustDo(t, viewerQuery, nil, nil)

		anon.MustDo(t, resetPasswordQ, map[string]any{"t": token, "n": "Reset-pass-42"}, nil)
		r := anon.Do(t, resetPasswordQ, map[string]any{"t": token, "n": "Second-pass-43"})
		wantField(t, "the token's second use", r, "BAD_USER_INPUT", "token")
		if !strings.Contains(r.Errors[0].Message, "request a new one") {
			t.Errorf("message %q says nothing to do", r.Errors[0].Message)
		}
		wantCode(t, "bob's session after the reset", bob.Do(t, viewerQuery, nil), "UNAUTHENTICATED")
		waitClose(t, bobSock, 4401)
		if code := loginCode(t, srv, "bob", "bob"); code != "UNAUTHENTICATED" {
			t.Errorf("login with the old password: %q", code)
		}
		if code := loginCode(t, srv, "bob", "Second-pass-43"); code != "UNAUTHENTICATED" {
			t.Errorf("login with the refused second password: %q", code)
		}
		srv.Login(t, "bob", "Reset-pass-42").MustDo(t, viewerQuery, nil, nil)
		alice.MustDo(t, viewerQuery, nil, nil)

		// By e-mail address, any case; an expired token fails like a used one.
		anon.MustDo(t, requestResetQ, map[string]any{"u": "ALICE@Example.com"}, nil)
		to, token = nextMail(t, msgs)
		if to != "alice@example.com" {
			t.Fatalf("mail to %q, want alice@example.com", to)
		}
		sys := policy.SystemContext(context.Background())
		srv.DB.Client.PasswordReset.Update().SetExpiresAt(time.Now().Add(-time.Second)).ExecX(sys)
		wantField(t, "an expired token", anon.Do(t, resetPasswordQ, map[string]any{"t": token, "n": "Reset-pass-42"}), "BAD_USER_INPUT", "token")
		alice.MustDo(t, viewerQuery, nil, nil)
		if n := srv.DB.Client.PasswordReset.Query().Where(passwordreset.TokenHashContains(token)).CountX(sys); n != 0 {
			t.Error("the token is stored in clear")
		}

		// A password change voids pending reset tokens.
		anon.MustDo(t, requestResetQ, map[string]any{"u": "alice"}, nil)
		_, token = nextMail(t, msgs)
		alice.MustDo(t, changePasswordQ, map[string]any{"c": "alice", "n": "Changed-pass-44"}, nil)
		wantField(t, "a token older than a password change", anon.Do(t, resetPasswordQ, map[string]any{"t": token, "n": "Reset-pass-42"}), "BAD_USER_INPUT", "token")
		srv.Login(t, "alice", "Changed-pass-44")

		if n := countMails(msgs, 300*time.Millisecond); n != 0 {
			t.Errorf("%d unexpected mails", n)
		}
	})
}

// TestPasswordResetThrottles: at most 3 mails per user and per mailbox in an hour,
// answered alike; more than 10 requests from one address are refused for any name.
func TestPasswordResetThrottles(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		addr, msgs := mailtest.Server(t)
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, SMTPURL: "smtp://" + addr + "?from=portal@example.com"})
		admin := srv.Login(t, "admin", "admin")
		for _, n := range []string{"twin1", "twin2"} {
			admin.MustDo(t, `mutation($n: String!) { createUser(input: {name: $n, email: "team@example.com", password: "Twin-pass-42"}) { user { id } } }`,
				map[string]any{"n": n}, nil)
		}
		c1 := fromIP(srv, "127.0.0.4", "")
		for i := 0; i < 5; i++ {
			if r := c1.do(t, requestResetQ, map[string]any{"u": "carol"}); r.Code() != "" {
				t.Fatalf("request %d: %+v", i, r.Errors)
			}
		}
		if n := countMails(msgs, 2*time.Second); n != 3 {
			t.Errorf("5 requests for carol: %d mails, want 3", n)
		}
		c2 := fromIP(srv, "127.0.0.5", "")
		for _, n := range []string{"twin1", "twin2", "twin1", "twin2"} {
			if r := c2.do(t, requestResetQ, map[string]any{"u": n}); r.Code() != "" {
				t.Fatalf("request for %s: %+v", n, r.Errors)
			}
		}
		if n := countMails(msgs, 2*time.Second); n != 3 {
			t.Errorf("4 requests for two users of one mailbox: %d mails, want 3", n)
		}
		// The address limit, the same for known and unknown names.
		c3 := fromIP(srv, "127.0.0.6", "")
		for i := 0; i < 10; i++ {
			if r := c3.do(t, requestResetQ, map[string]any{"u": "nobody"}); r.Code() != "" {
				t.Fatalf("request %d: %+v", i, r.Errors)
			}
		}
		for _, n := range []string{"nobody", "demo"} {
			r := c3.do(t, requestResetQ, map[string]any{"u": n})
			wantCode(t, "the 11th request for "+n, r, "FORBIDDEN")
			if r.Errors[0].Extensions["retryAfterSeconds"] == nil {
				t.Errorf("no retryAfterSeconds: %+v", r.Errors[0])
			}
		}

		// Similar timing: the answer waits for neither the lookup nor the mail.
		c4 := fromIP(srv, "127.0.0.7", "")
		timeOf := func(name string) time.Duration {
			start := time.Now()
			c4.do(t, requestResetQ, map[string]any{"u": name})
			return time.Since(start)
		}
		var known, unknown time.Duration
		for i := 0; i < 3; i++ {
			known += timeOf("demo")
			unknown += timeOf("no-such-user")
		}
		if d := (known - unknown).Abs() / 3; d > 100*time.Millisecond {
			t.Errorf("known users answer in %s, unknown in %s on average", known/3, unknown/3)
		}
	})
}

// TestPasswordResetConcurrentUse: many requests race with one token; exactly one sets
// its password.
func TestPasswordResetConcurrentUse(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		addr, msgs := mailtest.Server(t)
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, SMTPURL: "smtp://" + addr + "?from=portal@example.com"})
		srv.Client().MustDo(t, requestResetQ, map[string]any{"u": "demo"}, nil)
		_, token := nextMail(t, msgs)
		const n = 8
		var wg sync.WaitGroup
		codes := make([]string, n)
		pw := func(i int) string { return "Racer-pass-4" + string(rune('0'+i)) }
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = srv.Client().Do(t, resetPasswordQ, map[string]any{"t": token, "n": pw(i)}).Code()
			}()
		}
		wg.Wait()
		winner := -1
		for i, c := range codes {
			switch c {
			case "":
				if winner >= 0 {
					t.Fatalf("two uses of one token succeeded: %v", codes)
				}
				winner = i
			case "BAD_USER_INPUT":
			default:
				t.Errorf("use %d: code %q", i, c)
			}
		}
		if winner < 0 {
			t.Fatalf("no use succeeded: %v", codes)
		}
		srv.Login(t, "demo", pw(winner))
		for i := range n {
			login := `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`
			from := fromIP(srv, fmt.Sprintf("127.0.1.%d", i+1), "") // one address each: no throttle
			if i != winner && from.do(t, login, map[string]any{"u": "demo", "p": pw(i)}).Code() != "UNAUTHENTICATED" {
				t.Errorf("the losing password %d works", i)
			}
		}
	})
}
