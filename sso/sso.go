// Package sso signs users in through an OpenID Connect provider: the browser's
// authorization-code flow with PKCE (GET /auth/oidc/login and its callback) and the
// exchange of a provider's ID token for a Portico token (exchangeOidcToken), for apps
// that log in elsewhere.
//
// It stands on github.com/coreos/go-oidc (discovery, the provider's JWKS with key
// rotation, ID token verification: signature, issuer, audience, expiry) and
// golang.org/x/oauth2 (the authorization URL, PKCE, the code exchange): both widely
// used and maintained, and neither keeps state of its own, so several servers serve one
// sign-in. The state, nonce and PKCE verifier of a browser sign-in travel in a short-lived,
// HttpOnly cookie sealed (AES-256-GCM) with a key derived from the token signing key that
// all servers on the database share, so the callback may reach any of them.
package sso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/directory"
	"github.com/portico-dev/portico/ent"
)

// Config configures single sign-on; it is off without an Issuer.
type Config struct {
	Issuer       string // the provider's issuer URL (discovery at Issuer/.well-known/openid-configuration)
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as the provider knows it, ending in
	// /auth/oidc/callback (a reverse proxy may put a prefix before it).
	RedirectURL string
	// PostLoginURL is the UI page the callback sends the browser to, with the token (or
	// the error) in the URL fragment; without it the callback answers JSON.
	PostLoginURL string
	Scopes       []string // default openid, profile, email
	UserClaim    string   // the claim holding the Portico user name; default preferred_username
	GroupsClaim  string   // the claim listing groups that become roles; "" maps no roles
	// CreateUsers creates a user missing in Portico at its first sign-in; otherwise such
	// a sign-in is FORBIDDEN.
	CreateUsers bool
}

// Enabled reports whether single sign-on is configured.
func (c Config) Enabled() bool { return c.Issuer != "" }

// LoginPath and CallbackPath are the browser flow's routes.
const (
	LoginPath    = "/auth/oidc/login"
	CallbackPath = "/auth/oidc/callback"
)

// Check validates the configuration (of an enabled one) and fills in the defaults.
func (c Config) Check() (Config, error) {
	if u, err := url.Parse(c.Issuer); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return c, fmt.Errorf("OIDC issuer %q: want the provider's http(s) issuer URL", c.Issuer)
	}
	if c.ClientID == "" {
		return c, errors.New("OIDC client id: required with an issuer")
	}
	u, err := url.Parse(c.RedirectURL)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || !strings.HasSuffix(u.Path, CallbackPath) {
		return c, fmt.Errorf("OIDC redirect URL %q: want this server's http(s) address ending in %s", c.RedirectURL, CallbackPath)
	}
	if c.PostLoginURL != "" {
		if u, err := url.Parse(c.PostLoginURL); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" || u.Fragment != "" {
			return c, fmt.Errorf("OIDC post-login URL %q: want the http(s) address of the UI page, without a fragment", c.PostLoginURL)
		}
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !containsString(c.Scopes, oidc.ScopeOpenID) {
		c.Scopes = append([]string{oidc.ScopeOpenID}, c.Scopes...)
	}
	if c.UserClaim == "" {
		c.UserClaim = "preferred_username"
	}
	return c, nil
}

// Service runs single sign-on.
type Service struct {
	cfg      Config
	dir      *directory.Directory
	tokens   *auth.Service
	aead     cipher.AEAD
	throttle *auth.Throttle
	log      *slog.Logger
	// LoginPageDisplay reads PortalLoginPageDisplay (true: a refused user goes to the
	// login page; false: to the login error page); nil counts as true.
	LoginPageDisplay func(ctx context.Context) bool
	http             *http.Client
	now              func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use, kept once found
	verifier *oidc.IDTokenVerifier
}

// stateTTL is how long a browser may take at the provider.
const stateTTL = 10 * time.Minute

// New returns the service of cfg (Check it first); key is the token signing key.
func New(cfg Config, key []byte, dir *directory.Directory, tokens *auth.Service, log *slog.Logger) (*Service, error) {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("portico oidc state cookie"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, dir: dir, tokens: tokens, aead: aead, throttle: auth.NewThrottle(), log: log,
		http: &http.Client{Timeout: 10 * time.Second}, now: time.Now}, nil
}

// LoginURL is the address of the browser sign-in, next to the redirect URL.
func (s *Service) LoginURL() string {
	return strings.TrimSuffix(s.cfg.RedirectURL, CallbackPath) + LoginPath
}

// discover returns the provider, reading its discovery document on first use (and
// again after a failure, so a provider that was down at start is found later).
func (s *Service) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, s.verifier, nil
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), s.http), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, s.cfg.Issuer)
	if err != nil {
		s.log.ErrorContext(ctx, "OIDC discovery failed", "issuer", s.cfg.Issuer, "err", err)
		return nil, nil, &apperr.Error{Code: apperr.CodeInternal,
			Message: "the identity provider could not be reached (its discovery failed); try again later or log in with a password"}
	}
	s.provider = p
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID, Now: s.now})
	return p, s.verifier, nil
}

func (s *Service) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.cfg.RedirectURL, Scopes: s.cfg.Scopes}
}

// Exchange verifies a provider's ID token (signature with the provider's keys, issuer,
// audience = our client id, expiry) and signs its user in: the LoginPayload's token,
// expiry and user. Failures are throttled per client address as failed logins are.
func (s *Service) Exchange(ctx context.Context, rawIDToken, addr string) (string, time.Time, *ent.User, error) {
	if err := s.allowed(addr); err != nil {
		return "", time.Time{}, nil, err
	}
	_, verifier, err := s.discover(ctx)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	idt, err := s.verify(ctx, verifier, rawIDToken)
	if err != nil {
		s.throttle.Failed(throttleName, addr)
		return "", time.Time{}, nil, err
	}
	return s.signIn(ctx, idt, addr)
}

// throttleName is the user name sign-in failures count under: the provider's users
// are not known before their token verifies.
const throttleName = "\x00oidc"

func (s *Service) allowed(addr string) error {
	if ok, wait := s.throttle.Allowed(throttleName, addr); !ok {
		return apperr.Forbidden("too many failed sign-ins; try again in %d s", int(wait.Seconds())+1).
			WithExtension("retryAfterSeconds", int(wait.Seconds())+1)
	}
	return nil
}

// verify checks an ID token and says precisely why it is refused.
func (s *Service) verify(ctx context.Context, verifier *oidc.IDTokenVerifier, raw string) (*oidc.IDToken, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, apperr.BadInput("idToken is empty; pass the ID token (a JWT) the identity provider issued").WithExtension("field", "idToken")
	}
	// What the token claims, unverified: only to say why it is refused.
	var claimed struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(partOr(parts, 1), "="))
	if len(parts) != 3 || len(raw) > 64<<10 || err != nil || json.Unmarshal(payload, &claimed) != nil {
		return nil, apperr.BadInput("idToken is not a JWT (three base64url parts, at most 64 KiB); pass the provider's ID token").WithExtension("field", "idToken")
	}
	idt, err := verifier.Verify(oidc.ClientContext(ctx, s.http), raw)
	if err == nil {
		return idt, nil
	}
	unauth := func(format string, args ...any) error {
		return &apperr.Error{Code: apperr.CodeUnauthenticated, Message: fmt.Sprintf(format, args...)}
	}
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return nil, unauth("the ID token expired at %s; sign in at the identity provider again", expired.Expiry.UTC().Format(time.RFC3339))
	case claimed.Issuer != s.cfg.Issuer:
		return nil, unauth("the ID token was issued by %.200q, not by the configured identity provider %q", claimed.Issuer, s.cfg.Issuer)
	case !audienceHas(claimed.Audience, s.cfg.ClientID):
		return nil, unauth("the ID token is meant for another client (audience %.200s), not for this server's client id %q", string(claimed.Audience), s.cfg.ClientID)
	case strings.Contains(err.Error(), "signature") || strings.Contains(err.Error(), "key"):
		return nil, unauth("the ID token's signature does not verify with the identity provider's keys; get a new token from the provider")
	}
	s.log.InfoContext(ctx, "ID token refused", "err", err)
	return nil, unauth("the ID token could not be verified (%s); get a new token from the identity provider", strings.TrimPrefix(err.Error(), "oidc: "))
}

func partOr(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

func audienceHas(raw json.RawMessage, id string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == id
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && containsString(many, id)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signIn finds or creates the token's user, maps its groups and issues a Portico token.
func (s *Service) signIn(ctx context.Context, idt *oidc.IDToken, addr string) (string, time.Time, *ent.User, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", time.Time{}, nil, apperr.BadInput("the ID token's claims are not a JSON object")
	}
	name, _ := claims[s.cfg.UserClaim].(string)
	if name == "" {
		s.throttle.Failed(throttleName, addr)
		return "", time.Time{}, nil, &apperr.Error{Code: apperr.CodeUnauthenticated,
			Message: fmt.Sprintf("the ID token has no %q claim naming the Portico user; ask the identity provider's administrator to add it (or request its scope)", s.cfg.UserClaim)}
	}
	in := directory.ExternalUser{Name: name, Create: s.cfg.CreateUsers}
	in.FullName, _ = claims["name"].(string)
	in.Email, _ = claims["email"].(string)
	if s.cfg.GroupsClaim != "" {
		in.MapGroups = true
		switch g := claims[s.cfg.GroupsClaim].(type) {
		case string:
			in.Groups = []string{g}
		case []any:
			for _, x := range g {
				if x, ok := x.(string); ok {
					in.Groups = append(in.Groups, x)
				}
			}
		}
	}
	u, err := s.dir.SignInExternal(ctx, in)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	token, exp, err := s.tokens.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	s.log.InfoContext(ctx, "OIDC sign-in", "user", u.ID, "subject", idt.Subject)
	return token, exp, u, nil
}

// flowState is what the sign-in cookie carries from the login to the callback.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

const cookiePrefix = "portico_oidc_"

// cookieName is per sign-in (a prefix of its state), so that sign-ins in two tabs do
// not overwrite each other's cookie.
func cookieName(state string) string { return cookiePrefix + state[:16] }

func (s *Service) seal(st flowState) (string, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(cookiePrefix))), nil
}

func (s *Service) open(value string) (flowState, bool) {
	var st flowState
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize() {
		return st, false
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(cookiePrefix))
	if err != nil || json.Unmarshal(plain, &st) != nil || s.now().Unix() > st.Expires || len(st.State) < 16 {
		return st, false
	}
	return st, true
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) cookiePath() string {
	u, _ := url.Parse(s.cfg.RedirectURL)
	return path.Dir(u.Path)
}

func (s *Service) secure() bool { return strings.HasPrefix(s.cfg.RedirectURL, "https:") }

// Login (GET /auth/oidc/login) starts a browser sign-in: it sets the sealed state cookie
// and redirects to the provider with the state, a nonce and the PKCE challenge (S256).
func (s *Service) Login(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.discover(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := flowState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), Expires: s.now().Add(stateTTL).Unix()}
	value, err := s.seal(st)
	if err != nil {
		s.fail(w, r, fmt.Errorf("seal OIDC state: %w", err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(st.State), Value: value, Path: s.cookiePath(),
		MaxAge: int(stateTTL.Seconds()), HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.oauth(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// Callback (GET /auth/oidc/callback) ends a browser sign-in: it checks the state against
// the cookie, exchanges the code with the PKCE verifier, verifies the ID token and its
// nonce, and signs the user in as Exchange does.
func (s *Service) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	addr := auth.ClientAddrFrom(ctx)
	if err := s.allowed(addr); err != nil {
		s.fail(w, r, err)
		return
	}
	failed := func(err error) {
		s.throttle.Failed(throttleName, addr)
		s.fail(w, r, err)
	}
	unauth := func(format string, args ...any) error {
		return &apperr.Error{Code: apperr.CodeUnauthenticated, Message: fmt.Sprintf(format, args...)}
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.fail(w, r, unauth("the identity provider refused the sign-in: %.100s %.300s", e, q.Get("error_description")))
		return
	}
	state := q.Get("state")
	if len(state) < 16 {
		failed(apperr.BadInput("the callback has no valid state parameter; start the sign-in again at %s", s.LoginURL()))
		return
	}
	c, err := r.Cookie(cookieName(state))
	if err != nil {
		failed(unauth("no sign-in was started in this browser for this state, or it is over %s old; start again at %s", stateTTL, s.LoginURL()))
		return
	}
	// The cookie is for one use.
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: s.cookiePath(), MaxAge: -1, HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	st, ok := s.open(c.Value)
	if !ok || subtle.ConstantTimeCompare([]byte(st.State), []byte(state)) != 1 {
		failed(unauth("the sign-in state does not match or is over %s old; start again at %s", stateTTL, s.LoginURL()))
		return
	}
	code := q.Get("code")
	if code == "" {
		failed(apperr.BadInput("the callback has no code parameter; start the sign-in again at %s", s.LoginURL()))
		return
	}
	p, verifier, err := s.discover(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	xctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, s.http), 15*time.Second)
	defer cancel()
	tok, err := s.oauth(p).Exchange(xctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		s.log.InfoContext(ctx, "OIDC code exchange failed", "err", err)
		failed(unauth("the identity provider did not accept the sign-in code (used, expired or not ours); start again at %s", s.LoginURL()))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		failed(unauth("the identity provider answered without an ID token; is the openid scope allowed for this client?"))
		return
	}
	idt, err := s.verify(ctx, verifier, raw)
	if err != nil {
		failed(err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		failed(unauth("the ID token's nonce is not this sign-in's; start again at %s", s.LoginURL()))
		return
	}
	token, exp, u, err := s.signIn(ctx, idt, addr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.PostLoginURL != "" {
		f := url.Values{"token": {token}, "expires_at": {exp.UTC().Format(time.RFC3339)}, "user": {u.Name}}
		http.Redirect(w, r, s.cfg.PostLoginURL+"#"+f.Encode(), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": token, "expiresAt": exp.UTC().Format(time.RFC3339),
		"user": map[string]any{"name": u.Name, "fullName": u.FullName}})
}

// fail answers a refused browser sign-in: with a post-login URL, a redirect there with
// error, error_description and login_page (PortalLoginPageDisplay: true, show the
// login page; false, the login error page) in the fragment; else a JSON error in
// GraphQL's shape. Errors other than apperr are logged and answered INTERNAL.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apperr.As(err)
	if !ok {
		s.log.ErrorContext(r.Context(), "OIDC sign-in", "err", err)
		e = &apperr.Error{Code: apperr.CodeInternal, Message: "internal error during the sign-in; try again later"}
	}
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.PostLoginURL != "" {
		loginPage := s.LoginPageDisplay == nil || s.LoginPageDisplay(r.Context())
		f := url.Values{"error": {string(e.Code)}, "error_description": {e.Message}, "login_page": {fmt.Sprint(loginPage)}}
		http.Redirect(w, r, s.cfg.PostLoginURL+"#"+f.Encode(), http.StatusFound)
		return
	}
	status := map[apperr.Code]int{apperr.CodeUnauthenticated: http.StatusUnauthorized, apperr.CodeForbidden: http.StatusForbidden,
		apperr.CodeBadUserInput: http.StatusBadRequest, apperr.CodeConflict: http.StatusConflict}[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": e.Message, "extensions": map[string]any{"code": e.Code}}}})
}
