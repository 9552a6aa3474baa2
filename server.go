// Package portico builds the Portico server: database, policy, auth and the HTTP handler
// serving GraphQL (HTTP and websocket), the playground and health checks.
package portico

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/access"
	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/bootstrap"
	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/changefeed"
	"github.com/portico-dev/portico/cleanup"
	"github.com/portico-dev/portico/dashboards"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/directory"
	"github.com/portico-dev/portico/documents"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/serversecret"
	"github.com/portico-dev/portico/export"
	"github.com/portico-dev/portico/favorites"
	"github.com/portico-dev/portico/graph"
	"github.com/portico-dev/portico/graph/wstransport"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/lists"
	"github.com/portico-dev/portico/live"
	"github.com/portico-dev/portico/mail"
	"github.com/portico-dev/portico/metrics"
	"github.com/portico-dev/portico/news"
	"github.com/portico-dev/portico/notify"
	"github.com/portico-dev/portico/playground"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/requestid"
	"github.com/portico-dev/portico/savedfilters"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/settings"
	"github.com/portico-dev/portico/sso"
	"github.com/portico-dev/portico/statistics"
	"github.com/portico-dev/portico/tracing"
	"github.com/portico-dev/portico/workflow"
)

// Config configures a server. Zero values get the defaults noted.
type Config struct {
	DatabaseURL   string // "" = SQLite file portico.db
	AdminPassword string // required on an empty database unless Demo
	Demo          bool   // load demo data into an empty database
	// AllowedOrigins lists the browser origins ("https://portal.example.com", or "*" for
	// any) allowed to call the server from another origin: CORS for HTTP (none when
	// empty) and the websocket's Origin check (same origin only when empty).
	AllowedOrigins []string
	TokenTTL       time.Duration // default 12h
	MaxBodyBytes   int64         // default 1 MiB
	Limits         graph.Limits  // GraphQL request limits; zero fields take graph.DefaultLimits
	SMTPURL        string        // smtp://[user:password@]host:port?from=address for EMAIL steps, reset mails and assignment mails; "" logs them
	// Notify tunes the assignment mails (queue, batch, senders, attempts, backoff,
	// session timeout); zero fields take notify's defaults.
	Notify notify.Config
	// PasswordResetTTL is how long a "forgot my password" token works (default 30m);
	// PasswordResetURL the reset page the mail links to with ?token= (none: the mail
	// carries the token alone).
	PasswordResetTTL time.Duration
	PasswordResetURL string
	MaxUploadBytes   int64        // largest document upload; default documents.DefaultMaxSize
	ClamdAddr        string       // host:port of a ClamAV daemon scanning uploads; "" scans nothing
	Logger           *slog.Logger // default slog.Default()
	// HTTP timeouts of HTTPServer: ReadTimeout bounds reading a whole request, body
	// included (default 1m); WriteTimeout bounds a response from the end of its request's
	// headers (default 2m; downloads and exports extend it per write while the client
	// reads, websockets are not subject to either); IdleTimeout bounds a keep-alive
	// connection waiting for its next request (default 2m).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxSocketsPerUser bounds one user's open websockets; the next is refused (default 20).
	MaxSocketsPerUser int
	// DB sets the connection pool: its size and PostgreSQL's statement timeout.
	DB database.Options
	// NoPlayground serves no playground at /; NoIntrospection refuses GraphQL
	// introspection (__schema, __type): for production, where the schema is not to be
	// browsed.
	NoPlayground, NoIntrospection bool
	// OIDC configures single sign-on with an OpenID Connect provider; off without an issuer.
	OIDC sso.Config
	// TrustedProxies lists the peers (CIDR prefixes or addresses) whose X-Forwarded-For
	// and X-Request-Id are believed: the client address of the access log and the login
	// throttle, and the request id. Empty: none, every peer is the client.
	TrustedProxies []string
	// Tracing, when set, traces HTTP requests, GraphQL operations and root resolvers, and
	// SQL statements, and adds the trace id to the log lines of a traced request
	// (package tracing; portico serve sets it from the OTEL_* variables).
	Tracing trace.TracerProvider
	// WrapDriver, when set, wraps the database driver (tests count queries with it).
	WrapDriver func(dialect.Driver) dialect.Driver
}

// Server is a running Portico instance's state.
type Server struct {
	DB         *database.DB
	Policy     *policy.Policy
	Auth       *auth.Service
	Dir        *directory.Directory
	Settings   *settings.Service
	Dashboards *dashboards.Service
	Favorites  *favorites.Service
	News       *news.Service
	Filters    *savedfilters.Service
	Documents  *documents.Service
	Work       *workflow.Engine
	Lists      *lists.Lists
	Index      *listindex.Index // the task and case list index (lists, live audiences)
	Bus        live.Bus
	Hub        *live.Hub
	Charts     *statistics.Service
	Feeds      *statistics.Feeds
	Cleanup    *cleanup.Job
	SSO        *sso.Service     // nil without single sign-on
	Notifier   *notify.Notifier // assignment mails; Stats counts what they did
	Metrics    *metrics.Metrics // this server's registry; serve it with Metrics.Handler
	Handler    http.Handler
	proxies    access.Proxies
	sockets    *wstransport.Transport
	documents  *cachestats.GraphQL[*ast.QueryDocument] // parsed and validated operations
	persisted  *cachestats.GraphQL[string]             // automatic persisted queries
	log        *slog.Logger
	cfg        Config      // with defaults
	id         string      // this server's id on the bus
	stop       func()      // ends the policy follower
	cancel     func()      // ends what runs for the server's lifetime (chart feeds)
	draining   atomic.Bool // /readyz answers 503: Shutdown has begun
}

// New opens and migrates the database, prepares an empty one, loads the policy and
// builds the HTTP handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg = withDefaults(cfg)
	db, err := database.Open(ctx, cfg.DatabaseURL, cfg.DB, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.WrapDriver != nil || cfg.Tracing != nil {
		drv := db.Driver
		if cfg.WrapDriver != nil {
			drv = cfg.WrapDriver(db.PlainDriver())
		}
		if cfg.Tracing != nil {
			drv = tracing.Driver(drv, cfg.Tracing)
		}
		db.Client = ent.NewClient(ent.Driver(drv))
	}
	s, err := build(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func build(ctx context.Context, cfg Config, db *database.DB) (_ *Server, err error) {
	sys := policy.SystemContext(ctx)
	workflow.InstallHooks(db.Client) // before anything writes tasks
	created, err := bootstrap.Ensure(sys, db.Client, cfg.AdminPassword, cfg.Demo)
	if err != nil {
		return nil, err
	}
	if created {
		cfg.Logger.Info("empty database prepared", "admin", bootstrap.AdminName, "demo", cfg.Demo)
	}
	key, err := tokenKey(sys, db.Client)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(key, cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	proxies, err := access.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s := &Server{DB: db, log: cfg.Logger, cfg: cfg, id: requestid.New(), proxies: proxies, Metrics: metrics.New()}
	// Listen before loading the policy, so no change made meanwhile by another server
	// is missed; applying one twice is harmless.
	if err := s.openBus(); err != nil {
		return nil, err
	}
	events, stop := s.Bus.Subscribe()
	s.stop = stop
	defer func() {
		if err != nil {
			s.release() // New closes the database
		}
	}()
	if s.Policy, err = policy.Load(sys, db.Client); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	s.Policy.Install(db.Client)
	s.Auth = auth.NewService(db.Client, db.Driver, tokens)
	s.Dir = directory.New(db.Client, s.Policy, cfg.Logger)
	s.Work = workflow.New(db.Client, db.Dialect, s.Policy, cfg.Logger)
	s.Settings = settings.New(db.Client, s.Policy, cfg.Logger)
	s.Settings.SetEffect(settings.ExpressProcesses, expressProcessesVariable(s.Work))
	s.Dir.PasswordRules = s.Settings.CheckPassword
	s.Dashboards = dashboards.New(db.Client, s.Policy)
	s.Favorites = favorites.New(db.Client, s.Policy)
	s.News = news.New(db.Client, s.Policy)
	s.Filters = savedfilters.New(db.Client, s.Policy, s.Settings)
	s.Documents = documents.New(db.Client, s.Policy)
	s.Documents.MaxSize = cfg.MaxUploadBytes
	if cfg.ClamdAddr != "" {
		s.Documents.Scanner = documents.Clamd{Addr: cfg.ClamdAddr}
		s.Documents.ScanEnabled = func(ctx context.Context) bool {
			v, err := s.Settings.Value(ctx, settings.VirusScanner)
			return err != nil || v != "false" // scan unless switched off
		}
	}
	if u, err := url.Parse(cfg.PasswordResetURL); cfg.PasswordResetURL != "" && (err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("password reset URL %q: want an http(s) address of the reset page", cfg.PasswordResetURL)
	}
	if cfg.PasswordResetTTL < time.Minute {
		return nil, fmt.Errorf("password reset TTL %s: want at least a minute", cfg.PasswordResetTTL)
	}
	var sender notify.Sender // stays nil without an SMTP server
	if cfg.SMTPURL != "" {
		m, err := mail.New(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		s.Work.Mailer = m
		s.Dir.Resets.Mailer = m
		sender = m
	}
	s.Notifier = notify.New(db.Client, s.Policy, s.Settings, sender, cfg.Logger, cfg.Notify)
	s.Dir.Accounts = s.Auth
	if cfg.OIDC.Enabled() {
		oc, err := cfg.OIDC.Check()
		if err != nil {
			return nil, err
		}
		if s.SSO, err = sso.New(oc, key, s.Dir, s.Auth, cfg.Logger); err != nil {
			return nil, err
		}
		s.SSO.LoginPageDisplay = func(ctx context.Context) bool {
			v, err := s.Settings.Value(ctx, settings.LoginPageDisplay)
			return err != nil || v != "false"
		}
	}
	s.Dir.Resets.TTL, s.Dir.Resets.URL = cfg.PasswordResetTTL, cfg.PasswordResetURL
	life, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	feed := changefeed.New(db.ReadSQL(), db.Dialect).WithWriter(db)
	index, err := listindex.Open(sys, db.Reads(), db.Dialect, feed, s.log)
	if err != nil {
		return nil, err
	}
	s.publishChanges(life, index)
	s.Dir.StartResets(life)
	s.Notifier.Start(life)
	go index.Follow(life, time.Second)
	// The hub computes each event's audience from the index's rows and the policy.
	s.Hub = live.NewHub(db.Client, s.Policy, index, s.Bus, s.log)
	go s.followPolicy(events)
	s.Charts = statistics.New(db.Client, db.Dialect, db.TimeZone)
	s.Feeds = statistics.NewFeeds(s.Hub.Changes(life), s.log)
	if err := s.Settings.KeepPolicy(policy.SystemContext(life)); err != nil {
		return nil, err
	}
	s.Cleanup = cleanup.New(db.Client, db.Dialect, s.Settings, s.log)
	go s.Cleanup.Schedule(life)
	tuneGC(index.Rows(), s.log)
	s.Index = index
	s.Lists = lists.New(db.Client, s.Policy, index)
	s.Handler = s.routes(cfg)
	if err := s.watch(); err != nil {
		return nil, err
	}
	return s, nil
}

// watch has the metrics read the counters of the server's parts and its database pools.
func (s *Server) watch() error {
	if err := s.Metrics.WatchPools(map[string]*sql.DB{"write": s.DB.SQL, "read": s.DB.ReadSQL()}); err != nil {
		return err
	}
	caches := map[string]func() cachestats.Counts{
		"graphql_documents":       s.documents.Counts,
		"persisted_queries":       s.persisted.Counts,
		"subscription_renderings": s.sockets.Renderings,
		"list_orders":             s.Index.Orders,
		"list_conditions":         s.Index.Conditions,
		"settings":                s.Settings.Lookups,
	}
	if st := s.DB.Statements(); st != nil {
		caches["sql_statements"] = st.Counts
	}
	return s.Metrics.Watch(metrics.Sources{Logins: s.Auth.LoginStats, Sockets: s.sockets.Stats, Timers: s.Work.TimerStats,
		Index: s.Index.SyncStats, Mails: s.Notifier.Stats, Caches: caches})
}

// A large list index is most of the heap, and marking it is most of a collection's
// work: at a million tasks a collection took 1.5 s of CPU every 4 s under load and
// tripled the 1-client p99 of the lists (19 ms against 6 ms). Above bigIndex rows the
// server collects when the heap has grown by 4× the live heap instead of 1× (GOGC=400:
// about 4.5 GB of RSS at a million tasks instead of 1.4 GB), unless the operator set
// GOGC; GOMEMLIMIT still caps the heap.
const bigIndex = 100_000

func tuneGC(rows int, log *slog.Logger) {
	if rows < bigIndex || os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(400)
	log.Info("large list index: GOGC=400 (set GOGC to choose another)", "rows", rows)
}

// openBus opens the event bus: LISTEN/NOTIFY on PostgreSQL, in-process on SQLite.
func (s *Server) openBus() error {
	if s.DB.Dialect != dialect.Postgres {
		s.Bus = live.NewLocal(s.id)
		return nil
	}
	bus, err := live.NewPostgres(s.DB.URL, s.DB.SQL, s.id, s.log)
	if err != nil {
		return err
	}
	bus.ObserveLag(s.Metrics.ObserveBusLag)
	s.Bus = bus
	return nil
}

// publishChanges puts committed policy, work and settings changes on the bus, for every
// server's enforcer, settings and subscribers. Events name what changed, never its new
// state: receivers read that from the database (see package live). A work change is
// also read into this server's list index at once (until life ends).
func (s *Server) publishChanges(life context.Context, index *listindex.Index) {
	publish := func(ctx context.Context, e live.Event) {
		if err := s.Bus.Publish(context.WithoutCancel(ctx), e); err != nil {
			s.log.Error("publish event", "kind", e.Kind, "err", err)
		}
	}
	// This server applied its own change already, at once (directory, settings).
	s.Dir.Publish = func(ctx context.Context, _ []policy.Change) {
		publish(ctx, live.Event{Kind: live.KindPolicy})
	}
	// One event per write: its first kind of assignment travels with its tasks and cases
	// (an event has one assignment kind; a write of several sends one more per kind).
	s.Work.Changed = func(ctx context.Context, c workflow.Change) {
		// Read the write into the index right after its commit, so a list asked next
		// finds it applied and waits only for one read of the feed, and the hub waits
		// for this sync, not one of its own (a failure here shows in theirs).
		mark := index.Mark()
		go index.SyncSince(life, mark)
		e := live.Event{Kind: live.KindWork, Tasks: c.Tasks, Cases: c.Cases, Created: c.Created, Mark: mark}
		for i, a := range c.Assigned {
			if i == 0 {
				e.Assigned, e.Assignment = a.Tasks, a.Kind
			} else {
				publish(ctx, live.Event{Kind: live.KindWork, Assigned: a.Tasks, Assignment: a.Kind, Mark: mark})
			}
			// Mails go from the server that committed, not from every server on the bus.
			s.Notifier.Assigned(ctx, a.Kind, a.Tasks)
		}
		publish(ctx, e)
	}
	s.Dir.SessionsEnded = func(ctx context.Context, users []int) {
		publish(ctx, live.Event{Kind: live.KindSessions, Users: users})
	}
	s.Settings.Changed = func(ctx context.Context, names []string) {
		publish(ctx, live.Event{Kind: live.KindSettings, Variables: names})
	}
}

// followPolicy keeps this server in step with changes committed through other servers:
// a policy event has the enforcer re-read the role graph and grants from the database
// (Sync applies only the lines that differ), another server's settings event re-reads
// the variables it names. After a possible gap (the bus reconnected) it does both. Any
// Ended sessions (from any server, this one included) close
// those users' websockets whose token no longer holds; after a gap every socket re-checks.
//
// Syncs run on their own goroutine and coalesce: events arriving while one runs are
// covered by one more, which starts after they arrived and so reads what they announced.
func (s *Server) followPolicy(events <-chan live.Event) {
	ctx := policy.SystemContext(context.Background())
	syncs := make(chan struct{}, 1)
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		for range syncs {
			if err := s.Policy.Sync(ctx, s.DB.Client); err != nil {
				s.log.Error("follow policy change", "err", err)
			}
			// Open subscriptions see what their viewers' new rights let them see.
			s.Hub.PolicyChanged()
		}
	}()
	defer func() { close(syncs); <-synced }()
	requestSync := func() {
		select {
		case syncs <- struct{}{}:
		default: // one is pending: it will read this change too
		}
	}
	for e := range events {
		switch {
		case e.Kind == live.KindResync:
			s.Settings.Reread(ctx, nil)
			requestSync()
			if err := s.Auth.CheckSessions(ctx, nil); err != nil {
				s.log.Error("re-check sessions", "err", err)
			}
		case e.Kind == live.KindSessions:
			if len(e.Users) > 0 {
				if err := s.Auth.CheckSessions(ctx, e.Users); err != nil {
					s.log.Error("re-check sessions", "err", err)
				}
			}
		case e.Kind == live.KindPolicy:
			// Its own changes too: a sync that read the database just before one was
			// committed and applied here would undo it (see Policy.Sync); this one reads
			// after.
			requestSync()
		case e.Kind == live.KindSettings && e.Origin != s.id:
			s.Settings.Reread(ctx, e.Variables)
		}
	}
}

func withDefaults(cfg Config) Config {
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 12 * time.Hour
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = documents.DefaultMaxSize
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tracing != nil {
		cfg.Logger = slog.New(tracing.LogHandler(cfg.Logger.Handler()))
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = time.Minute
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 2 * time.Minute
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.MaxSocketsPerUser == 0 {
		cfg.MaxSocketsPerUser = 20
	}
	if cfg.PasswordResetTTL == 0 {
		cfg.PasswordResetTTL = directory.DefaultResetTTL
	}
	return cfg
}

// tokenKey returns the token signing key shared by all servers on the database,
// creating it on first start.
func tokenKey(ctx context.Context, client *ent.Client) ([]byte, error) {
	const name = "token-signing-key"
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	// Two servers starting together may both try; the unique name keeps the first.
	err := client.ServerSecret.Create().SetName(name).SetValue(key).
		OnConflictColumns(serversecret.FieldName).DoNothing().Exec(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store token key: %w", err)
	}
	sec, err := client.ServerSecret.Query().Where(serversecret.Name(name)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	return sec.Value, nil
}

// HTTPServer returns an http.Server for the handler with the configured timeouts, so a
// client trickling its request or not reading its response cannot hold a connection.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: min(10*time.Second, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
	}
}

// Shutdown drains hs, serving this server's handler: /readyz answers 503 at once (so
// balancers stop sending new requests), after delay hs stops accepting connections, the
// requests in flight finish and websockets are closed with 1001 (going away) so their
// clients reconnect elsewhere. When ctx ends first the remaining connections are cut
// and the error says so. Request contexts are not cancelled: a request in progress,
// even one still sending its body, completes normally. Close the server afterwards.
func (s *Server) Shutdown(ctx context.Context, hs *http.Server, delay time.Duration) error {
	s.draining.Store(true)
	s.log.Info("draining: /readyz answers 503", "delay", delay.String())
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	sockets := make(chan error, 1)
	go func() {
		sockets <- s.sockets.Shutdown(ctx, "server shutting down; reconnect")
	}()
	err := hs.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	err = errors.Join(err, <-sockets)
	if err != nil {
		hs.Close() // cut what is left
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}

// Close stops the bus and closes the database.
func (s *Server) Close() error {
	s.release()
	return s.DB.Close()
}

// release ends what the server runs and stops its bus: Close, and New when it fails
// part way.
func (s *Server) release() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.Notifier != nil {
		s.Notifier.Wait() // it reads the database until it stopped
	}
	if s.Bus != nil {
		s.stop()
		s.Bus.Close()
	}
}

// GraphQL returns the gqlgen server with its transports, limits and extensions.
func (s *Server) graphQL(cfg Config, res *graph.Resolver) *handler.Server {
	srv := handler.New(graph.Priced(graph.NewExecutableSchema(graph.Config{Resolvers: res}), cfg.Limits))
	s.sockets = wstransport.New(wstransport.Options{
		AllowedOrigins:   cfg.AllowedOrigins,
		ConnContext:      socketContext,
		InitFunc:         s.websocketInit,
		OperationContext: graph.WithLoaders(s.DB.Client, s.Work),
		Watch:            auth.Watch,
		Owner:            socketOwner,
		MaxPerOwner:      cfg.MaxSocketsPerUser,
		MaxOperations:    graph.MaxSubscriptionsPerConnection,
		Log:              s.log,
	})
	srv.AddTransport(s.sockets)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(transport.MultipartForm{MaxUploadSize: cfg.MaxUploadBytes + 1<<20, MaxMemory: 32 << 20})
	s.documents = &cachestats.GraphQL[*ast.QueryDocument]{Cache: lru.New[*ast.QueryDocument](1000)}
	srv.SetQueryCache(s.documents)
	srv.Use(s.Metrics.GraphQL())
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		access.SetOperation(ctx, graphql.GetOperationContext(ctx).Operation.Name)
		return next(ctx)
	})
	if !cfg.NoIntrospection {
		srv.Use(extension.Introspection{})
	}
	s.persisted = &cachestats.GraphQL[string]{Cache: lru.New[string](1000)}
	srv.Use(extension.AutomaticPersistedQuery{Cache: s.persisted})
	cfg.Limits.Use(srv, s.documents.Cache) // after APQ, which fills in the query text; its own look is no lookup to count
	srv.Use(graph.Transaction{Opener: s.DB.Client})
	srv.AroundFields(graph.MarkInternal)
	srv.SetErrorPresenter(graph.ErrorPresenter(s.log))
	srv.SetRecoverFunc(graph.Recover(s.log))
	if cfg.Tracing != nil {
		srv.Use(tracing.NewGraphQL(cfg.Tracing))
	}
	return srv
}

// websocketInit authenticates a websocket from the connection_init payload
// {"authorization": "Bearer <token>"}, or else from the upgrade request's Authorization
// header; a bad token closes the connection with 4401, and
// so does the end of the token later: its expiry, or the end of the user's sessions
// (logout, password change, disabling, revokeSessions) announced on the bus.
func (s *Server) websocketInit(ctx context.Context, p map[string]any, end func(error)) (context.Context, func(), error) {
	h, _ := p["authorization"].(string)
	if h == "" {
		h, _ = p["Authorization"].(string)
	}
	if h == "" { // a client that can set headers may have sent its token with the upgrade
		h, _ = ctx.Value(upgradeTokenKey{}).(string)
	}
	if h == "" {
		return ctx, nil, nil // anonymous: subscriptions that need a viewer refuse it
	}
	// Authenticate on a goroutine of its own: the database lookup needs a deep stack,
	// and run here it would grow the connection's goroutine, which lives as long as the
	// socket and keeps its largest stack (measured: 7 KB more per idle connection).
	var v *auth.Viewer
	var exp time.Time
	var err error
	mark := s.Auth.SessionMark()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { // as net/http would on the handler's goroutine: fail, not crash
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		v, exp, err = s.Auth.Authenticate(ctx, h)
	}()
	<-done
	var ae *apperr.Error
	if err != nil && !errors.As(err, &ae) {
		// Not the token: the database failed (a thousand handshakes at once can exhaust
		// its connections). Telling the client to log in again would be wrong, and the
		// driver's text must not reach it: 1011, and the error in the log.
		s.log.Error("websocket authentication", "err", err)
		return ctx, nil, &wstransport.CloseError{Code: websocket.CloseInternalServerErr, Reason: "internal error; connect again later"}
	}
	if err != nil {
		return ctx, nil, &wstransport.CloseError{Code: wstransport.CloseUnauthorized, Reason: err.Error()}
	}
	// The connection ends when the token expires or its sessions end, and its
	// subscriptions with it.
	untrack := s.Auth.Track(ctx, v, mark, exp, func(expired bool) {
		if expired {
			end(wstransport.ErrTokenExpired)
			return
		}
		end(&wstransport.CloseError{Code: wstransport.CloseUnauthorized, Reason: "the session has ended; log in again"})
	})
	return auth.NewContext(ctx, v), untrack, nil
}

type upgradeTokenKey struct{}

// socketContext is where a websocket's context starts: its upgrade request's client
// address and request id (its operations' logs and errors name them), the trace it
// belongs to, and its Authorization header, which websocketInit checks like a token in
// connection_init (expiry and ended sessions close the socket either way). Not the
// request's own chain of contexts (net/http's cancel contexts, the middlewares' values,
// the access record), which each idle socket would otherwise hold for its life.
func socketContext(r *http.Request) context.Context {
	from := r.Context()
	ctx := requestid.NewContext(auth.WithClientAddr(context.Background(), auth.ClientAddrFrom(from)), requestid.FromContext(from))
	if sc := trace.SpanContextFromContext(from); sc.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		ctx = context.WithValue(ctx, upgradeTokenKey{}, h)
	}
	return ctx
}

// socketOwner counts a websocket against its user's limit; anonymous ones count against
// no one.
func socketOwner(ctx context.Context) string {
	if v := auth.FromContext(ctx); v != nil {
		return strconv.Itoa(v.UserID)
	}
	return ""
}

func (s *Server) routes(cfg Config) http.Handler {
	res := &graph.Resolver{Client: s.DB.Client, Auth: s.Auth, Policy: s.Policy, Dir: s.Dir, Work: s.Work, Lists: s.Lists, Hub: s.Hub,
		Settings: s.Settings, Boards: s.Dashboards, Favorites: s.Favorites, Cleanup: s.Cleanup, Files: s.Documents, Bulletin: s.News, Charts: s.Charts, Feeds: s.Feeds,
		Filters: s.Filters, Finder: search.New(s.DB.Client, s.DB.Dialect, s.Policy), SSO: s.SSO, Log: s.log}
	gql := s.graphQL(cfg, res)
	mux := http.NewServeMux()
	mux.Handle("/graphql", noStore(s.authenticated(graph.Loaders(s.DB.Client, s.Work)(limitBody(gql, cfg.MaxBodyBytes, cfg.MaxUploadBytes)))))
	mux.Handle("GET /documents/{id}", s.authenticated(streaming(http.HandlerFunc(s.downloadDocument), cfg.WriteTimeout)))
	exp := &export.Exporter{Client: s.DB.Client, Policy: s.Policy, Lists: s.Lists, Filters: s.Filters, Log: s.log}
	mux.Handle("GET /export/tasks.xlsx", s.authenticated(streaming(http.HandlerFunc(exp.Tasks), cfg.WriteTimeout)))
	mux.Handle("GET /export/cases.xlsx", s.authenticated(streaming(http.HandlerFunc(exp.Cases), cfg.WriteTimeout)))
	if s.SSO != nil {
		mux.HandleFunc("GET "+sso.LoginPath, s.SSO.Login)
		mux.HandleFunc("GET "+sso.CallbackPath, s.SSO.Callback)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.DB.Ping(ctx); err != nil {
			s.log.Warn("readiness check failed", "err", err)
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if !cfg.NoPlayground {
		mux.Handle("/", playground.Handler("Portico", "/graphql"))
	}
	h := crossOrigin(cfg.AllowedOrigins, access.Handler(mux, access.Options{Proxies: s.proxies, Log: s.log, Observe: s.Metrics.ObserveRequest}))
	if cfg.Tracing != nil {
		h = tracing.Handler(h, cfg.Tracing)
	}
	return h
}

// authenticated puts the viewer of the request's bearer token in its context (see
// auth.Service.Middleware) and its user in the access line.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return s.Auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := auth.FromContext(r.Context()); v != nil {
			access.SetUser(r.Context(), v.UserID)
		}
		next.ServeHTTP(w, r)
	}))
}

// crossOrigin answers CORS preflights and marks the answers to the origins listed as
// readable by them; with none listed (the default) it adds nothing, so browsers keep
// other origins' pages from calling the server. Credentials stay off: clients send a
// bearer token in Authorization, not cookies. Websockets check their origin themselves
// (wstransport), against the same list.
func crossOrigin(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 { // rs/cors would take an empty list for "*"
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		ExposedHeaders: []string{"X-Request-Id"},
		MaxAge:         600,
	}).Handler(next)
}

// noStore marks GraphQL answers uncacheable: they are the viewer's own (no shared cache
// or browser history may keep them). Downloads set their own headers.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies so a huge POST cannot exhaust memory; multipart
// requests (document uploads) may carry a file of up to upload bytes. Other bodies
// (GraphQL JSON, at most n bytes) are read here, so one over the limit gets 413 and one
// the client is too slow to send 408, both with an error in GraphQL's shape, rather
// than a read error inside gqlgen.
func limitBody(next http.Handler, n, upload int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := n // per request: n itself is shared by all of them
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
		if multipart {
			limit = upload + 1<<20
		}
		tooLarge := func() {
			writeJSONError(w, http.StatusRequestEntityTooLarge,
				apperr.BadInput("the request body is larger than the limit of %d bytes; send a smaller one", limit))
		}
		if r.ContentLength > limit {
			tooLarge()
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if !multipart && r.Body != http.NoBody {
			body, err := io.ReadAll(r.Body)
			var tooBig *http.MaxBytesError
			var netErr net.Error
			switch {
			case errors.As(err, &tooBig):
				tooLarge()
				return
			case errors.As(err, &netErr) && netErr.Timeout():
				writeJSONError(w, http.StatusRequestTimeout, apperr.BadInput("the request body did not arrive in time"))
				return
			case err != nil:
				writeJSONError(w, http.StatusBadRequest, apperr.BadInput("the request body could not be read"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// streaming lets a download outlive the server's WriteTimeout while the client keeps
// reading: each write gets d from when it starts (an export builds its whole workbook
// before the first byte), so only a client that stops reading is cut off.
func streaming(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}, r)
	})
}

type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	d        time.Duration
	deadline time.Time
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

// extend moves the write deadline d ahead; as that costs a timer update, only once half
// of it is spent.
func (w *deadlineWriter) extend() {
	if now := time.Now(); w.deadline.Sub(now) < w.d/2 {
		w.deadline = now.Add(w.d)
		_ = w.rc.SetWriteDeadline(w.deadline) // unsupported only off a real connection
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// downloadDocument sends a document's content to a viewer who may read it.
func (s *Server) downloadDocument(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, apperr.BadInput("document id %q is not a number", r.PathValue("id")))
		return
	}
	doc, err := s.Documents.Content(r.Context(), id)
	if err != nil {
		status := http.StatusInternalServerError
		if e, ok := apperr.As(err); ok {
			status = map[apperr.Code]int{apperr.CodeUnauthenticated: http.StatusUnauthorized, apperr.CodeForbidden: http.StatusForbidden,
				apperr.CodeNotFound: http.StatusNotFound, apperr.CodeBadUserInput: http.StatusBadRequest}[e.Code]
			writeJSONError(w, status, e)
			return
		}
		s.log.ErrorContext(r.Context(), "download document", "id", id, "err", err)
		writeJSONError(w, status, &apperr.Error{Code: apperr.CodeInternal, Message: "internal error; quote request id " + requestid.FromContext(r.Context())})
		return
	}
	w.Header().Set("Content-Type", doc.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": doc.Name}))
	w.Header().Set("Content-Length", strconv.FormatInt(doc.Size, 10))
	w.Write(doc.Content)
}

// writeJSONError answers a non-GraphQL route with an error in GraphQL's shape.
func writeJSONError(w http.ResponseWriter, status int, e *apperr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": e.Message, "extensions": map[string]any{"code": e.Code}}}})
}

// expressProcessesVariable makes Portal.Processes.ExpressProcesses load the express
// processes it is set to and read as the current ones (seed 001's model).
func expressProcessesVariable(w *workflow.Engine) settings.Effect {
	return settings.Effect{
		Load: func(ctx context.Context, value string) error {
			defs, err := settings.ParseExpressProcesses(value)
			if err != nil {
				return apperr.BadInput("variable %s: %v", settings.ExpressProcesses, err)
			}
			return w.LoadExpressProcesses(ctx, defs)
		},
		Export: func(ctx context.Context) (string, error) {
			defs, err := w.ExportExpressProcesses(ctx)
			if err != nil {
				return "", err
			}
			b, err := json.Marshal(defs)
			return string(b), err
		},
	}
}
