package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/sso"
	"github.com/portico-dev/portico/tracing"
)

const serveUsage = `usage: portico serve [flags]

Runs the GraphQL server: the API on /graphql (HTTP and websocket), the playground on /,
/healthz and /readyz. With no flags: a SQLite file portico.db in the working directory.
`

// runServe runs the server until ctx ends (SIGINT/SIGTERM), then drains requests,
// closes websockets and the database.
func runServe(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", serveUsage)
	addr := fs.String("addr", fs.env("PORTICO_ADDR", ":8080"), "listen address")
	dbURL := fs.String("database-url", fs.env("PORTICO_DATABASE_URL", database.DefaultURL), "SQLite file (file:portico.db) or postgres://… URL")
	demo := fs.Bool("demo", fs.envBool("PORTICO_DEMO", false), "load demo data into an empty database")
	adminPw := fs.String("admin-password", fs.env("PORTICO_ADMIN_PASSWORD", ""), "password of the admin user created on an empty database")
	origins := fs.String("allowed-origins", fs.env("PORTICO_ALLOWED_ORIGINS", ""), "comma-separated browser origins (https://portal.example.com) allowed to call from another origin: CORS for HTTP and the websocket's origin check (* for any); empty: same origin only")
	ttl := fs.Duration("token-ttl", fs.envDuration("PORTICO_TOKEN_TTL", 12*time.Hour), "how long a login token stays valid")
	smtpURL := fs.String("smtp-url", fs.env("PORTICO_SMTP_URL", ""), "smtp://[user:password@]host:port?from=address for express EMAIL steps and password reset mails; empty logs them")
	resetTTL := fs.Duration("password-reset-ttl", fs.envDuration("PORTICO_PASSWORD_RESET_TTL", 30*time.Minute), "how long a password reset token works")
	resetURL := fs.String("password-reset-url", fs.env("PORTICO_PASSWORD_RESET_URL", ""), "http(s) address of the reset page the reset mail links to with ?token=; empty: the mail carries the token alone")
	clamd := fs.String("clamd-addr", fs.env("PORTICO_CLAMD_ADDR", ""), "host:port of a ClamAV daemon that scans document uploads; empty scans nothing")
	maxUpload := fs.Int64("max-upload-bytes", 10<<20, "largest document upload in bytes")
	readTimeout := fs.Duration("read-timeout", fs.envDuration("PORTICO_READ_TIMEOUT", time.Minute), "longest time to read a whole request, body included (uploads on slow links may need more)")
	writeTimeout := fs.Duration("write-timeout", fs.envDuration("PORTICO_WRITE_TIMEOUT", 2*time.Minute), "longest time to answer a request; downloads and exports extend it while the client reads; websockets are not subject to it")
	idleTimeout := fs.Duration("idle-timeout", fs.envDuration("PORTICO_IDLE_TIMEOUT", 2*time.Minute), "how long a keep-alive connection may wait for its next request")
	maxSockets := fs.Int("max-sockets-per-user", fs.envInt("PORTICO_MAX_SOCKETS_PER_USER", 20), "open websockets one user may hold; the next is closed with 1008")
	oidcIssuer := fs.String("oidc-issuer", fs.env("PORTICO_OIDC_ISSUER", ""), "OpenID Connect provider's issuer URL; empty: no single sign-on")
	oidcClientID := fs.String("oidc-client-id", fs.env("PORTICO_OIDC_CLIENT_ID", ""), "this server's client id at the OpenID Connect provider")
	oidcSecret := fs.String("oidc-client-secret", fs.env("PORTICO_OIDC_CLIENT_SECRET", ""), "this server's client secret at the OpenID Connect provider (prefer the environment variable)")
	oidcRedirect := fs.String("oidc-redirect-url", fs.env("PORTICO_OIDC_REDIRECT_URL", ""), "this server's callback as registered at the provider: https://host/auth/oidc/callback")
	oidcPostLogin := fs.String("oidc-post-login-url", fs.env("PORTICO_OIDC_POST_LOGIN_URL", ""), "UI page the browser sign-in ends at, with the token or the error in the URL fragment; empty: the callback answers JSON")
	oidcScopes := fs.String("oidc-scopes", fs.env("PORTICO_OIDC_SCOPES", "openid,profile,email"), "comma-separated scopes requested from the provider")
	oidcUserClaim := fs.String("oidc-user-claim", fs.env("PORTICO_OIDC_USER_CLAIM", "preferred_username"), "ID token claim holding the Portico user name (preferred_username or email, say)")
	oidcGroups := fs.String("oidc-groups-claim", fs.env("PORTICO_OIDC_GROUPS_CLAIM", ""), "ID token claim listing groups that become the user's roles (same names); empty: roles are not touched")
	oidcCreate := fs.Bool("oidc-create-users", fs.envBool("PORTICO_OIDC_CREATE_USERS", true), "create a user at its first single sign-on; false refuses users missing in Portico")
	logLevel := fs.String("log-level", fs.env("PORTICO_LOG_LEVEL", "info"), "debug, info, warn or error")
	debugAddr := fs.String("debug-addr", fs.env("PORTICO_DEBUG_ADDR", ""), "loopback address (127.0.0.1:6060) serving net/http/pprof under /debug/pprof/; empty: off")
	metricsAddr := fs.String("metrics-addr", fs.env("PORTICO_METRICS_ADDR", ""), "address (:9090) serving Prometheus metrics on /metrics, apart from the API; empty: off")
	trustedProxies := fs.String("trusted-proxies", fs.env("PORTICO_TRUSTED_PROXIES", ""), "comma-separated CIDR prefixes or addresses of proxies whose X-Forwarded-For and X-Request-Id are believed; empty: none")
	noPlayground := fs.Bool("no-playground", fs.envBool("PORTICO_NO_PLAYGROUND", false), "serve no playground at / (production)")
	noIntrospection := fs.Bool("no-introspection", fs.envBool("PORTICO_NO_INTROSPECTION", false), "refuse GraphQL introspection queries (production)")
	maxConns := fs.Int("db-max-conns", fs.envInt("PORTICO_DB_MAX_CONNS", 0), "connections of each of the PostgreSQL pools, writers and readers (SQLite: of its read pool); 0: 4 per core, at least 8")
	stmtTimeout := fs.Duration("statement-timeout", fs.envDuration("PORTICO_STATEMENT_TIMEOUT", 0), "PostgreSQL cancels a statement running longer; 0: the database's own setting")
	drainTimeout := fs.Duration("drain-timeout", fs.envDuration("PORTICO_DRAIN_TIMEOUT", 15*time.Second), "on SIGTERM, longest time to finish requests in flight and close websockets (with 1001), the drain delay included")
	drainDelay := fs.Duration("drain-delay", fs.envDuration("PORTICO_DRAIN_DELAY", time.Second), "on SIGTERM, how long /readyz answers 503 before the listener closes, so balancers stop sending requests")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *drainTimeout <= 0 || *drainDelay < 0 || *drainDelay >= *drainTimeout {
		return fmt.Errorf("--drain-timeout %s, --drain-delay %s: want a positive timeout longer than the delay (0 or more)", *drainTimeout, *drainDelay)
	}
	if err := database.CheckURL(*dbURL); err != nil {
		return err
	}
	if *maxConns < 0 || *stmtTimeout < 0 {
		return fmt.Errorf("--db-max-conns and --statement-timeout may not be negative")
	}
	// Refuse a bad debug address before anything starts: profiles expose internals.
	if err := checkDebugAddr(*debugAddr); err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	tp, stopTracing, err := tracing.FromEnv(ctx)
	if err != nil {
		return err
	}
	if stopTracing != nil {
		defer func() {
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := stopTracing(flushCtx); err != nil {
				log.Warn("flush traces", "err", err)
			}
		}()
		log.Info("tracing on: OTLP over HTTP, configured by the OTEL_* variables")
	}
	start := time.Now()
	srv, err := portico.New(ctx, portico.Config{
		Tracing:          tp,
		DatabaseURL:      *dbURL,
		AdminPassword:    *adminPw,
		Demo:             *demo,
		AllowedOrigins:   splitList(*origins),
		TokenTTL:         *ttl,
		SMTPURL:          *smtpURL,
		PasswordResetTTL: *resetTTL,
		PasswordResetURL: *resetURL,
		ClamdAddr:        *clamd,
		MaxUploadBytes:   *maxUpload,
		Logger:           log,
		ReadTimeout:      *readTimeout,
		WriteTimeout:     *writeTimeout,
		IdleTimeout:      *idleTimeout,

		MaxSocketsPerUser: *maxSockets,
		DB:                database.Options{MaxConns: *maxConns, StatementTimeout: *stmtTimeout},
		NoPlayground:      *noPlayground,
		NoIntrospection:   *noIntrospection,
		TrustedProxies:    splitList(*trustedProxies),
		OIDC: sso.Config{Issuer: *oidcIssuer, ClientID: *oidcClientID, ClientSecret: *oidcSecret,
			RedirectURL: *oidcRedirect, PostLoginURL: *oidcPostLogin, Scopes: splitList(*oidcScopes),
			UserClaim: *oidcUserClaim, GroupsClaim: *oidcGroups, CreateUsers: *oidcCreate},
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := srv.HTTPServer()
	// Request contexts do not derive from ctx: cancelling them at SIGTERM would break the
	// requests in flight (a body still arriving was answered 200 with data null). The
	// drain below lets them finish and closes the websockets itself.
	timers, stopTimers := context.WithCancel(context.Background())
	defer stopTimers()
	go srv.Work.RunTimers(timers, 5*time.Second)
	errc := make(chan error, 3)
	go func() { errc <- hs.Serve(ln) }()
	if *debugAddr != "" {
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return fmt.Errorf("listen on debug address %s: %w", *debugAddr, err)
		}
		ds := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		defer ds.Close()
		go func() {
			if err := ds.Serve(dln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("debug listener: %w", err)
			}
		}()
		log.Info("pprof debug listener", "addr", dln.Addr().String())
	}
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on metrics address %s: %w", *metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.Metrics.Handler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		defer ms.Close()
		go func() {
			if err := ms.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics listener: %w", err)
			}
		}()
		log.Info("metrics listener", "addr", mln.Addr().String())
	}
	log.Info("portico serving", "addr", ln.Addr().String(), "playground", "http://"+displayAddr(ln.Addr())+"/",
		"startup", time.Since(start).String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drainDelay", drainDelay.String(), "drainTimeout", drainTimeout.String())
	drainStart := time.Now()
	drainCtx, cancel := context.WithTimeout(context.Background(), *drainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx, hs, *drainDelay); err != nil {
		// Not a failure of the process: what was left has been cut.
		log.Warn("drain did not finish in time; remaining connections cut", "err", err)
	}
	stopTimers()
	log.Info("stopped", "drain", time.Since(drainStart).String())
	return nil
}

// checkDebugAddr accepts "" (off) or a host:port whose host is localhost or a loopback
// IP: the pprof endpoints show stacks and memory and must not be reachable from outside.
func checkDebugAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err == nil && (host == "localhost" || net.ParseIP(host).IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--debug-addr %q: only localhost or a loopback address (127.0.0.1:6060) is allowed", addr)
}

// debugHandler serves net/http/pprof on its own mux, only on the debug listener (the
// package also registers on http.DefaultServeMux, which nothing here serves).
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves goroutine, heap, allocs, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	return s
}

// newLogger logs JSON when stderr is not a terminal (services, CI) and text otherwise.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
