// Package settings holds the portal's settings as variables (seed 001's global
// variables): their names, defaults and data models in one list, reading and writing
// them with validation, and loading a variables.yaml. A broken value is refused whole and
// the error says where it is broken.
package settings

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/variable"
	"github.com/portico-dev/portico/policy"
)

// Kind tells how a variable's value is written.
type Kind string

// Variable kinds.
const (
	Plain Kind = "PLAIN"
	JSON  Kind = "JSON"
)

// Names of the variables the server itself reads.
const (
	CleanupCron         = "PortalStartTimeCleanObsoletedUserData"
	CleanupAllHidden    = "PortalDeleteAllFinishedHiddenCases"
	HiddenExcluded      = "PortalHiddenTaskCaseExcluded"
	LoginPageDisplay    = "PortalLoginPageDisplay"
	VirusScanner        = "EnableVirusScanner"
	SupportedLanguages  = "Portal.SupportedLanguages"
	DefaultLanguage     = "Portal.DefaultLanguage"
	AnnouncementName    = "Portal.Announcement"
	ThirdPartyApps      = "Portal.ThirdPartyApplications"
	StatisticChartsName = "Portal.StatisticCharts"
	FavoriteProcesses   = "Portal.Dashboard.FavoriteProcesses"
	PasswordRules       = "Portal.PasswordValidation"
	ExpressProcesses    = "Portal.Processes.ExpressProcesses"
)

// AdminSettings is the permission that opens the portal's Admin Settings, where seed 002
// places role management; it guards every variable without a permission of its own.
const AdminSettings = policy.RoleManagement

// Definition is a known variable.
type Definition struct {
	Name        string
	Kind        Kind
	Default     string
	Description string
	// Permission needed to change it (AdminSettings unless set).
	Permission policy.Permission
	check      func(string) error
}

// Definitions is the one list of the variables, in the documents' order.
var Definitions = []Definition{
	{Name: CleanupCron, Kind: Plain, Default: "0 0 6 * * ?", check: checkCron,
		Description: "Quartz cron expression (seconds first) of the daily cleanup of obsolete users' data."},
	{Name: CleanupAllHidden, Kind: Plain, Default: "false", check: checkBool,
		Description: "true: the cleanup removes all finished hidden cases; false: only those the portal made."},
	{Name: HiddenExcluded, Kind: Plain, Default: "true", check: checkBool,
		Description: "true: task and case queries skip hidden tasks and cases."},
	{Name: LoginPageDisplay, Kind: Plain, Default: "true", check: checkBool,
		Description: "true: an unknown user is sent to the login page; false: to the login error page."},
	{Name: VirusScanner, Kind: Plain, Default: "true", check: checkBool,
		Description: "true: uploaded documents go through the virus scanner when one is configured."},
	{Name: SupportedLanguages, Kind: Plain, Default: "en,de,fr,es", check: checkLanguages,
		Description: "Languages of the application, comma separated without spaces."},
	{Name: DefaultLanguage, Kind: Plain, Default: "en", check: checkLanguage,
		Description: "The application's language, for users whose language is the application default."},
	{Name: AnnouncementName, Kind: JSON, Default: `{"contents":[],"enabled":false}`, check: checkAnnouncement,
		Description: "The announcement every user sees while enabled: contents per language."},
	{Name: ThirdPartyApps, Kind: JSON, Default: `[]`, check: checkThirdPartyApplications,
		Description: "Third-party applications in the left menu."},
	{Name: StatisticChartsName, Kind: JSON, Default: defaultCharts, check: checkStatisticCharts,
		Description: "The standard statistic charts of the statistics page."},
	{Name: FavoriteProcesses, Kind: JSON, Default: `[]`, check: checkFavoriteProcesses,
		Description: "Application favorite processes shown on the dashboard."},
	{Name: ExpressProcesses, Kind: JSON, Default: `[]`, check: checkExpressProcesses,
		Description: "The standard express processes: setting it creates or updates each (by id; others stay), reading it gives the current ones."},
	{Name: PasswordRules, Kind: JSON, Default: defaultPasswordRules, check: checkPasswordRules, Permission: policy.PasswordValidation,
		Description: "Password complexity rules for new passwords."},
}

// Lookup returns the definition of a variable.
func Lookup(name string) (Definition, bool) {
	i := slices.IndexFunc(Definitions, func(d Definition) bool { return d.Name == name })
	if i < 0 {
		return Definition{}, false
	}
	return Definitions[i], true
}

func (d Definition) permission() policy.Permission {
	if d.Permission != "" {
		return d.Permission
	}
	return AdminSettings
}

// Check validates a value for the variable.
func (d Definition) Check(value string) error {
	if err := d.check(value); err != nil {
		return apperr.BadInput("variable %s: %v", d.Name, err)
	}
	return nil
}

// Variable is a variable with its current value.
type Variable struct {
	Name        string
	Kind        Kind
	Value       string
	Default     string
	Description string
	UpdatedAt   *time.Time // nil while it has its default
}

// Service reads and writes variables. Values are cached in memory: they are read on
// many requests and change rarely; every change, here or on another server (through
// Refresh), drops the cache, wakes the watchers and updates the announcement's
// subscribers.
type Service struct {
	client *ent.Client
	policy *policy.Policy
	log    *slog.Logger
	// Changed, when set, is told after commit which variables changed (for the bus: the
	// names alone, other servers read the values; see Reread).
	Changed func(ctx context.Context, names []string)

	lookups cachestats.Counter // of Value: a miss reads the variables

	mu    sync.Mutex
	cache map[string]string // every variable's value, nil until loaded
	gen   uint64            // bumped by Refresh; a load started before one is not kept
	// announced are the announcementChanged subscribers (see WatchAnnouncement);
	// pending the changes still to send them, in order; dispatching says a goroutine
	// is sending them.
	announced   map[*announcementSub]struct{}
	pending     []announcementChange
	dispatching bool
	recheck     *time.Timer                // confirms the newest announcement after carried changes
	watchers    map[chan struct{}]struct{} // see Watch
	effects     map[string]Effect          // see SetEffect
}

// Effect is what a variable does beyond its stored value: Load applies a value being
// set, in the setting's transaction (an error refuses the whole change), and Export
// gives the value the variable reads as (Get, List), computed from the current state.
type Effect struct {
	Load   func(ctx context.Context, value string) error
	Export func(ctx context.Context) (string, error)
}

// SetEffect gives a variable its effect; call it before serving.
func (s *Service) SetEffect(name string, e Effect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.effects == nil {
		s.effects = map[string]Effect{}
	}
	s.effects[name] = e
}

func (s *Service) effect(name string) Effect {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.effects[name]
}

// exported replaces v's value by its export when the variable has one.
func (s *Service) exported(ctx context.Context, v *Variable) error {
	if ex := s.effect(v.Name).Export; ex != nil {
		text, err := ex(ctx)
		if err != nil {
			return err
		}
		v.Value = text
	}
	return nil
}

// New returns the settings service.
func New(client *ent.Client, p *policy.Policy, log *slog.Logger) *Service {
	return &Service{client: client, policy: p, log: log}
}

// Value returns a variable's value (its default when unset). It checks no permission:
// callers expose only what their own rules allow.
func (s *Service) Value(ctx context.Context, name string) (string, error) {
	if _, ok := Lookup(name); !ok {
		return "", fmt.Errorf("unknown variable %s", name)
	}
	s.mu.Lock()
	cache, gen := s.cache, s.gen
	s.mu.Unlock()
	s.lookups.Record(cache != nil)
	if cache == nil {
		// Inside a transaction (a mutation's) read through it: taking a second pool
		// connection while holding one deadlocks once concurrent mutations hold them all,
		// each waiting for a row lock another holds. What a transaction reads may be its
		// own uncommitted writes, so it is not kept.
		c := database.Reader(ctx, s.client)
		keep := c == s.client
		rows, err := c.Variable.Query().All(policy.Elevate(ctx, policy.ReadSettings))
		if err != nil {
			return "", fmt.Errorf("read variables: %w", err)
		}
		cache = map[string]string{}
		for _, d := range Definitions {
			cache[d.Name] = d.Default
		}
		for _, r := range rows {
			cache[r.Name] = r.Value
		}
		s.mu.Lock()
		if keep && s.gen == gen {
			s.cache = cache
		}
		s.mu.Unlock()
	}
	return cache[name], nil
}

// Lookups counts the lookups of cached values.
func (s *Service) Lookups() cachestats.Counts { return s.lookups.Counts() }

// Refresh drops the cached values after variables changed (names; nil for any), wakes
// every watcher and has the announcement's subscribers sent what changed for them. values
// holds the new values when known (this server's own change, or read by Reread as the
// change arrived; nil: they are read from the database when sent); with them
// subscribers get every announcement in turn, not only the one current when the
// dispatch reads the database, which may already be the next.
func (s *Service) Refresh(names []string, values map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache = nil
	s.gen++
	for w := range s.watchers {
		select {
		case w <- struct{}{}:
		default: // a wake-up is pending already; it will read the newest values
		}
	}
	if len(s.announced) > 0 && (names == nil || slices.ContainsFunc(names, affectsAnnouncement)) {
		text, carried := values[AnnouncementName]
		if carried && text == "" {
			text = announcementDefault // reset to its default
		}
		s.queueLocked(announcementChange{text: text, carried: carried})
	}
}

// Reread is Refresh for variables another server changed (names; nil for any): the bus
// names them but carries no values, since any session on the database may send or read
// its notifications, so the values come from the database. Unknown names are ignored.
// When the announcement's subscribers are affected it is read at once, on the change's
// arrival, so that a quick next change does not hide this one from them.
func (s *Service) Reread(ctx context.Context, names []string) {
	if names != nil {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := Lookup(n); return !ok })
		if len(names) == 0 {
			return
		}
	}
	s.mu.Lock()
	announced := len(s.announced) > 0
	s.mu.Unlock()
	var values map[string]string
	if announced && (names == nil || slices.ContainsFunc(names, affectsAnnouncement)) {
		v, err := s.Get(ctx, AnnouncementName)
		if err != nil {
			s.log.Warn("read the announcement after a change", "err", err)
		} else {
			values = map[string]string{AnnouncementName: v.Value}
		}
	}
	s.Refresh(names, values)
}

// Watch returns a channel that receives a signal after variables change, until ctx
// ends. Signals coalesce: a watcher that lags gets one for many changes, never none.
func (s *Service) Watch(ctx context.Context) <-chan struct{} {
	w := make(chan struct{}, 1)
	s.mu.Lock()
	if s.watchers == nil {
		s.watchers = map[chan struct{}]struct{}{}
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	})
	return w
}

// Get returns one variable with its current value (as the request's transaction sees
// it), checking no permission.
func (s *Service) Get(ctx context.Context, name string) (*Variable, error) {
	def, ok := Lookup(name)
	if !ok {
		return nil, apperr.BadInput("unknown variable %q; known: %s", name, knownNames())
	}
	v := &Variable{Name: def.Name, Kind: def.Kind, Value: def.Default, Default: def.Default, Description: def.Description}
	row, err := database.Reader(ctx, s.client).Variable.Query().Where(variable.Name(name)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read variable %s: %w", name, err)
	default:
		v.Value, v.UpdatedAt = row.Value, &row.UpdatedAt
	}
	if err := s.exported(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

// List returns every variable; it needs AdminSettings.
func (s *Service) List(ctx context.Context) ([]*Variable, error) {
	if _, err := s.policy.Require(ctx, AdminSettings); err != nil {
		return nil, err
	}
	rows, err := s.client.Variable.Query().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read variables: %w", err)
	}
	out := make([]*Variable, 0, len(Definitions))
	for _, d := range Definitions {
		v := &Variable{Name: d.Name, Kind: d.Kind, Value: d.Default, Default: d.Default, Description: d.Description}
		if i := slices.IndexFunc(rows, func(r *ent.Variable) bool { return r.Name == d.Name }); i >= 0 {
			v.Value, v.UpdatedAt = rows[i].Value, &rows[i].UpdatedAt
		}
		if err := s.exported(ctx, v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Set changes variables in one transaction, each checked against its model and its
// permission; an empty value returns a variable to its default. Nothing changes when
// any of them is refused.
func (s *Service) Set(ctx context.Context, values map[string]string) error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		def, ok := Lookup(name)
		if !ok {
			return apperr.BadInput("unknown variable %q; known: %s", name, knownNames())
		}
		if _, err := s.policy.Require(ctx, def.permission()); err != nil {
			return err
		}
		if v := values[name]; v != "" {
			if err := def.Check(v); err != nil {
				return err
			}
			if def.Kind == JSON {
				values[name] = compact(v)
			}
		}
	}
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		c := tx.Client()
		for _, name := range names {
			if values[name] == "" {
				if _, err := c.Variable.Delete().Where(variable.Name(name)).Exec(ctx); err != nil {
					return fmt.Errorf("reset variable %s: %w", name, err)
				}
				continue
			}
			err := c.Variable.Create().SetName(name).SetValue(values[name]).
				OnConflictColumns(variable.FieldName).UpdateValue().UpdateUpdatedAt().Exec(ctx)
			if err != nil {
				return fmt.Errorf("write variable %s: %w", name, err)
			}
			if load := s.effect(name).Load; load != nil {
				if err := load(ctx, values[name]); err != nil {
					return err
				}
			}
		}
		database.AfterCommit(tx, func() {
			// Other servers first: this one's own fan-out would slow the publishing.
			if s.Changed != nil {
				s.Changed(ctx, names)
			}
			s.Refresh(names, values)
			if v, ok := values[HiddenExcluded]; ok {
				s.policy.SetHiddenExcluded(hiddenExcluded(v)) // at once: the next request sees it
			}
		})
		return nil
	})
}

func knownNames() string {
	names := make([]string, len(Definitions))
	for i, d := range Definitions {
		names[i] = d.Name
	}
	return strings.Join(names, ", ")
}

// quartz parses Quartz-style cron expressions: seconds first, "?" for "any".
var quartz = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a Quartz-style cron expression such as "0 0 6 * * ?".
func ParseCron(expr string) (cron.Schedule, error) { return quartz.Parse(expr) }

func checkCron(v string) error {
	if _, err := ParseCron(v); err != nil {
		return fmt.Errorf("%q is not a cron expression with seconds first, such as \"0 0 6 * * ?\" (6 AM daily): %v", v, err)
	}
	return nil
}

func checkBool(v string) error {
	if _, err := strconv.ParseBool(v); err != nil || (v != "true" && v != "false") {
		return fmt.Errorf("%q must be true or false", v)
	}
	return nil
}

func checkLanguage(v string) error {
	if v == "" || strings.ContainsAny(v, " ,") || len(v) > 35 {
		return fmt.Errorf("%q is not a language code such as en or de-CH", v)
	}
	return nil
}

func checkLanguages(v string) error {
	for i, l := range strings.Split(v, ",") {
		if err := checkLanguage(l); err != nil {
			return fmt.Errorf("entry %d: %v (the list is comma separated without spaces, such as en,de,fr)", i+1, err)
		}
	}
	return nil
}

func badPassword(problems []string) error {
	return apperr.BadInput("the password needs %s", strings.Join(problems, ", "))
}

// hiddenExcluded reads PortalHiddenTaskCaseExcluded: on unless "false" ("" is its
// default, true).
func hiddenExcluded(v string) bool { return v != "false" }

// KeepPolicy gives the policy PortalHiddenTaskCaseExcluded now and again after every
// change (on this server or another), until ctx ends: visibility reads it on every
// query, so it lives in the policy, not behind a database read.
func (s *Service) KeepPolicy(ctx context.Context) error {
	changes := s.Watch(ctx) // before the first read: a change in between wakes it
	apply := func() error {
		v, err := s.Value(ctx, HiddenExcluded)
		if err != nil {
			return err
		}
		s.policy.SetHiddenExcluded(hiddenExcluded(v))
		return nil
	}
	if err := apply(); err != nil {
		return fmt.Errorf("read %s: %w", HiddenExcluded, err)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changes:
				if err := apply(); err != nil {
					s.log.Error("apply a settings change to the policy", "variable", HiddenExcluded, "err", err)
				}
			}
		}
	}()
	return nil
}
