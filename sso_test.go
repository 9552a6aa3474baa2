package portico_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
	"github.com/portico-dev/portico/sso"
)

// Issue 15, item 3: single sign-on with OpenID Connect, against a real provider (the
// mockoidc library's server: discovery, JWKS, authorization with PKCE S256, token
// endpoint) started in the test.

const (
	exchangeQ  = `mutation($t: String!) { exchangeOidcToken(input: {idToken: $t}) { token expiresAt user { name } } }`
	loginPageQ = `{ loginPage { displayLoginPage oidcEnabled oidcLoginUrl } }`
	rolesQ     = `{ viewer { name roles { name } } }`
	// The server as the browser and the provider know it; rerouted to the test server.
	porticoHost = "portico.test"
	uiHost      = "ui.test"
)

func startProvider(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("start OIDC provider: %v", err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

func ssoConfig(m *mockoidc.MockOIDC, create bool) portico.Config {
	cfg := demo()
	cfg.OIDC = sso.Config{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL:  "http://" + porticoHost + sso.CallbackPath,
		PostLoginURL: "http://" + uiHost + "/signed-in",
		Scopes:       []string{"openid", "profile", "email", "groups"},
		GroupsClaim:  "groups", CreateUsers: create}
	return cfg
}

// reroute sends requests for portico.test to login's server, and those for the
// callback to callback's (another instance on the same database, or the same).
type reroute struct{ login, callback *servertest.Server }

func (r reroute) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == porticoHost {
		to := r.login
		if req.URL.Path == sso.CallbackPath {
			to = r.callback
		}
		u, _ := url.Parse(to.URL)
		req = req.Clone(req.Context())
		req.URL.Host = u.Host
	}
	return http.DefaultTransport.RoundTrip(req)
}

// browser is an http.Client with a cookie jar that follows redirects until the UI page.
func browser(login, callback *servertest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: reroute{login, callback}, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == uiHost {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

// landing follows get to the UI page and returns the parameters of its fragment.
func landing(t *testing.T, c *http.Client, get string) url.Values {
	t.Helper()
	resp, err := c.Get(get)
	if err != nil {
		t.Fatalf("GET %s: %v", get, err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != uiHost {
		t.Fatalf("GET %s ended with HTTP %d at %q, want a redirect to the UI", get, resp.StatusCode, resp.Header.Get("Location"))
	}
	f, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatalf("fragment %q: %v", loc.Fragment, err)
	}
	return f
}

// signIn runs the whole browser flow for the provider's next user.
func signIn(t *testing.T, m *mockoidc.MockOIDC, login, callback *servertest.Server, u *mockoidc.MockUser) url.Values {
	t.Helper()
	m.QueueUser(u)
	return landing(t, browser(login, callback), "http://"+porticoHost+sso.LoginPath)
}

func viewerRoles(t *testing.T, srv *servertest.Server, token string) (string, []string) {
	t.Helper()
	var out struct {
		Viewer struct {
			Name  string
			Roles []struct{ Name string }
		}
	}
	(&servertest.Client{URL: srv.URL + "/graphql", Token: token}).MustDo(t, rolesQ, nil, &out)
	var names []string
	for _, r := range out.Viewer.Roles {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return out.Viewer.Name, names
}

// enforcerRoles is what the server's casbin enforcer says user name's roles are.
func enforcerRoles(t *testing.T, srv *servertest.Server, admin *servertest.Client, name string) []string {
	t.Helper()
	var out struct {
		Users struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	admin.MustDo(t, `query($n: String!) { users(where: {name: $n}) { edges { node { id } } } }`, map[string]any{"n": name}, &out)
	id, _ := strconv.Atoi(out.Users.Edges[0].Node.ID)
	sub, err := srv.Policy.Subject(id)
	if err != nil {
		t.Fatal(err)
	}
	var roles struct {
		Roles struct {
			Edges []struct{ Node struct{ ID, Name string } }
		}
	}
	admin.MustDo(t, `{ roles(first: 1000) { edges { node { id name } } } }`, nil, &roles)
	var names []string
	for _, e := range roles.Roles.Edges {
		rid, _ := strconv.Atoi(e.Node.ID)
		if slices.Contains(sub.RoleIDs, rid) {
			names = append(names, e.Node.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestOIDCCodeFlow(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		m := startProvider(t)
		a := servertest.Start(t, dialect, ssoConfig(m, true))
		admin := a.Login(t, "admin", "admin")

		var page struct {
			LoginPage struct {
				DisplayLoginPage, OidcEnabled bool
				OidcLoginURL                  *string `json:"oidcLoginUrl"`
			}
		}
		a.Client().MustDo(t, loginPageQ, nil, &page)
		if !page.LoginPage.DisplayLoginPage || !page.LoginPage.OidcEnabled || page.LoginPage.OidcLoginURL == nil ||
			*page.LoginPage.OidcLoginURL != "http://"+porticoHost+sso.LoginPath {
			t.Fatalf("loginPage before login: %+v", page.LoginPage)
		}

		// A new user is created, with the roles named by its known groups.
		f := signIn(t, m, a, a, &mockoidc.MockUser{Subject: "s-erin", PreferredUsername: "erin", Email: "erin@example.com",
			Groups: []string{"Team A", "no-such-group"}})
		if f.Get("token") == "" || f.Get("user") != "erin" || f.Get("expires_at") == "" {
			t.Fatalf("sign-in of a new user landed with %v", f)
		}
		name, roles := viewerRoles(t, a, f.Get("token"))
		if name != "erin" || !slices.Equal(roles, []string{"Everybody", "Team A"}) {
			t.Fatalf("created user %s has roles %v, want Everybody and Team A", name, roles)
		}
		if got := enforcerRoles(t, a, admin, "erin"); !slices.Contains(got, "Team A") {
			t.Fatalf("the enforcer gives erin %v, want Team A among them", got)
		}

		// An existing user: the groups replace its roles (demo was in Team A).
		f = signIn(t, m, a, a, &mockoidc.MockUser{Subject: "s-demo", PreferredUsername: "demo", Groups: []string{"Team B"}})
		if _, roles := viewerRoles(t, a, f.Get("token")); !slices.Equal(roles, []string{"Everybody", "Team B"}) {
			t.Fatalf("demo's roles after sign-in with groups [Team B]: %v", roles)
		}
		if got := enforcerRoles(t, a, admin, "demo"); !slices.Contains(got, "Team B") || slices.Contains(got, "Team A") {
			t.Fatalf("the enforcer gives demo %v, want Team B and not Team A", got)
		}

		// The login on one server, the callback on another (same database, same key).
		b := servertest.Start(t, dialect, func() portico.Config { c := ssoConfig(m, true); c.DatabaseURL = a.Server.DB.URL; return c }())
		f = signIn(t, m, a, b, &mockoidc.MockUser{Subject: "s-alice", PreferredUsername: "alice", Groups: []string{"First Level"}})
		if name, _ := viewerRoles(t, a, f.Get("token")); name != "alice" {
			t.Fatalf("sign-in across servers landed with %v", f)
		}

		// A disabled user is refused; login_page follows PortalLoginPageDisplay.
		bob := a.Login(t, "bob", "bob")
		admin.MustDo(t, `mutation($id: ID!) { disableUser(input: {id: $id}) { user { id } } }`, map[string]any{"id": viewerID(t, bob)}, nil)
		f = signIn(t, m, a, a, &mockoidc.MockUser{Subject: "s-bob", PreferredUsername: "bob"})
		if f.Get("token") != "" || f.Get("error") != "FORBIDDEN" || !strings.Contains(f.Get("error_description"), "disabled") || f.Get("login_page") != "true" {
			t.Fatalf("a disabled user's sign-in landed with %v", f)
		}
		admin.MustDo(t, `mutation { setVariable(input: {name: "PortalLoginPageDisplay", value: "false"}) { variable { name } } }`, nil, nil)
		f = signIn(t, m, a, a, &mockoidc.MockUser{Subject: "s-bob", PreferredUsername: "bob"})
		if f.Get("error") != "FORBIDDEN" || f.Get("login_page") != "false" {
			t.Fatalf("with PortalLoginPageDisplay false a refused sign-in landed with %v", f)
		}
		a.Client().MustDo(t, loginPageQ, nil, &page)
		if page.LoginPage.DisplayLoginPage {
			t.Fatal("loginPage.displayLoginPage is true after PortalLoginPageDisplay was set to false")
		}

		// Bad state: none started in this browser, and one not matching the cookie's.
		c := browser(a, a)
		f = landing(t, c, "http://"+porticoHost+sso.CallbackPath+"?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAA")
		if f.Get("error") != "UNAUTHENTICATED" || !strings.Contains(f.Get("error_description"), sso.LoginPath) {
			t.Fatalf("callback without a started sign-in landed with %v", f)
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get("http://" + porticoHost + sso.LoginPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		toProvider, _ := url.Parse(resp.Header.Get("Location"))
		q := toProvider.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			t.Fatalf("the redirect to the provider lacks PKCE or a nonce: %s", toProvider)
		}
		forged := q.Get("state")[:16] + strings.Repeat("B", len(q.Get("state"))-16)
		c = browser(a, a)
		c.Jar = nil
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(&url.URL{Scheme: "http", Host: porticoHost, Path: sso.CallbackPath}, resp.Cookies())
		c.Jar = jar
		f = landing(t, c, "http://"+porticoHost+sso.CallbackPath+"?code=x&state="+forged)
		if f.Get("error") != "UNAUTHENTICATED" || !strings.Contains(f.Get("error_description"), "state does not match") {
			t.Fatalf("callback with a forged state landed with %v", f)
		}
	})
}

// idToken signs claims with key (the provider's keypair by default).
func idToken(t *testing.T, k *mockoidc.Keypair, iss, aud, name string, exp time.Time, groups ...string) string {
	t.Helper()
	claims := jwt.MapClaims{"iss": iss, "aud": aud, "sub": "sub-" + name, "iat": time.Now().Add(-time.Minute).Unix(),
		"exp": exp.Unix(), "preferred_username": name}
	if groups != nil {
		claims["groups"] = groups
	}
	s, err := k.SignJWT(claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOIDCExchange(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		m := startProvider(t)
		foreign := startProvider(t)
		srv := servertest.Start(t, dialect, ssoConfig(m, false))
		anon := srv.Client()
		later := time.Now().Add(time.Hour)

		// A valid token of an existing user; its groups become its roles.
		var out struct {
			ExchangeOidcToken struct {
				Token string
				User  struct{ Name string }
			}
		}
		anon.MustDo(t, exchangeQ, map[string]any{"t": idToken(t, m.Keypair, m.Issuer(), m.ClientID, "carol", later, "Team B")}, &out)
		if name, roles := viewerRoles(t, srv, out.ExchangeOidcToken.Token); name != "carol" || !slices.Equal(roles, []string{"Everybody", "Team B"}) {
			t.Fatalf("exchanged token is %s's with roles %v", name, roles)
		}

		// Users are not created with --oidc-create-users=false; a disabled one is refused.
		wantErr(t, anon.Do(t, exchangeQ, map[string]any{"t": idToken(t, m.Keypair, m.Issuer(), m.ClientID, "nobody", later)}),
			"FORBIDDEN", `no Portico user named "nobody"`)

		// Refused tokens, each saying why; failures are throttled per address.
		otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		bad, _ := mockoidc.NewKeypair(otherKey)
		for _, c := range []struct {
			name, token, code, says string
		}{
			{"expired", idToken(t, m.Keypair, m.Issuer(), m.ClientID, "carol", time.Now().Add(-time.Minute)), "UNAUTHENTICATED", "expired"},
			{"foreign issuer", idToken(t, foreign.Keypair, foreign.Issuer(), m.ClientID, "carol", later), "UNAUTHENTICATED", "not by the configured identity provider"},
			{"wrong audience", idToken(t, m.Keypair, m.Issuer(), "another-app", "carol", later), "UNAUTHENTICATED", "another client"},
			{"bad signature", idToken(t, bad, m.Issuer(), m.ClientID, "carol", later), "UNAUTHENTICATED", "signature"},
			{"not a JWT", "not-a-token", "BAD_USER_INPUT", "not a JWT"},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantErr(t, anon.Do(t, exchangeQ, map[string]any{"t": c.token}), c.code, c.says)
			})
		}
		r := anon.Do(t, exchangeQ, map[string]any{"t": idToken(t, m.Keypair, m.Issuer(), m.ClientID, "carol", later)})
		wantErr(t, r, "FORBIDDEN", "too many")
		if _, ok := r.Errors[0].Extensions["retryAfterSeconds"]; !ok {
			t.Errorf("a throttled exchange has no retryAfterSeconds: %+v", r.Errors[0])
		}
	})
}

// TestOIDCOff: without an issuer there is no single sign-on, and nothing answers for it.
func TestOIDCOff(t *testing.T) {
	srv := servertest.Start(t, "sqlite", demo())
	var page struct{ LoginPage map[string]any }
	srv.Client().MustDo(t, loginPageQ, nil, &page)
	if b, _ := json.Marshal(page.LoginPage); string(b) != `{"displayLoginPage":true,"oidcEnabled":false,"oidcLoginUrl":null}` {
		t.Fatalf("loginPage without OIDC: %s", b)
	}
	wantErr(t, srv.Client().Do(t, exchangeQ, map[string]any{"t": "x.y.z"}), "BAD_USER_INPUT", "not configured")
	resp, err := http.Get(srv.URL + sso.LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		t.Fatal("/auth/oidc/login redirects without OIDC configured")
	}
}
