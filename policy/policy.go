package policy

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
)

//go:embed model.conf
var modelText string

// maxDepth bounds role-link walks. Casbin's default of 10 silently denies deeper chains;
// our graph is acyclic (moves and links are checked), so the bound only guards cost.
const maxDepth = 100000

// Policy is the one long-lived authorization state of a server: a Casbin enforcer over
// the role graph and grants, and per-user effective sets derived from it. All changes go
// through its methods, which keep the enforcer in step and drop the derived sets.
type Policy struct {
	mu       sync.RWMutex
	e        *casbin.Enforcer
	everyone int // id of the Everybody role
	subjects map[int]*Subject
	// byRoles are the permissions of users who hold no grant of their own, by the
	// roles they reach (roleKey): see compute. Dropped with subjects (forget).
	byRoles map[string]permSet
	// changing serializes whatever changes the enforcer (Apply, Sync, Reload) with the
	// database read it is based on: a Sync that read the lines just before this server
	// committed a change would otherwise undo that change's Apply, and checks in between
	// would see it revoked. Permission checks take only mu.
	changing sync.Mutex
	// hiddenExcluded mirrors PortalHiddenTaskCaseExcluded: hidden tasks and cases are
	// out of every viewer's sight (visibility.go). Package settings keeps it current.
	hiddenExcluded atomic.Bool
}

// SetHiddenExcluded sets whether hidden tasks and cases are out of sight
// (PortalHiddenTaskCaseExcluded), for every subject at once.
func (p *Policy) SetHiddenExcluded(on bool) { p.hiddenExcluded.Store(on) }

// Subject is what a user may do and through which roles: the input of every visibility
// predicate and permission check.
type Subject struct {
	UserID  int
	RoleIDs []int   // every role the user has: direct, ancestors, through member links
	perms   permSet // those it holds
	// hiddenExcluded is the policy's PortalHiddenTaskCaseExcluded (nil: off).
	hiddenExcluded *atomic.Bool
}

// hidesHidden reports whether hidden tasks and cases are out of the viewer v's sight.
func (s *Subject) hidesHidden(v *auth.Viewer) bool {
	return s.hiddenExcluded != nil && s.hiddenExcluded.Load() && (v == nil || !v.WithHidden)
}

// Has reports whether the subject holds the permission.
func (s *Subject) Has(p Permission) bool { return s != nil && s.perms.has(p) }

// Permissions lists the subject's effective permissions in the order of All.
func (s *Subject) Permissions() []Permission {
	var out []Permission
	for _, d := range All {
		if s.perms.has(d.Name) {
			out = append(out, d.Name)
		}
	}
	return out
}

// permSet holds permissions by their place in All: a server keeps a Subject for every
// user it has seen, and a map of every permission to a bool took about 4.5 KB of each.
type permSet []uint64

func (ps *permSet) add(p Permission) {
	i, ok := placeOf[p]
	if !ok {
		return
	}
	if *ps == nil {
		*ps = make(permSet, (len(All)+63)/64)
	}
	(*ps)[i/64] |= 1 << (i % 64)
}

func (ps permSet) has(p Permission) bool {
	i, ok := placeOf[p]
	return ok && ps != nil && ps[i/64]&(1<<(i%64)) != 0
}

// placeOf is each permission's place in All.
var placeOf = func() map[Permission]int {
	m := make(map[Permission]int, len(All))
	for i, d := range All {
		m[d.Name] = i
	}
	return m
}()

// Load builds the policy from the database.
func Load(ctx context.Context, client *ent.Client) (*Policy, error) {
	p := &Policy{}
	if err := p.Reload(ctx, client); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload rebuilds the enforcer from the database (at start, and after bulk imports).
func (p *Policy) Reload(ctx context.Context, client *ent.Client) error {
	p.changing.Lock()
	defer p.changing.Unlock()
	lines, err := readLines(ctx, client)
	if err != nil {
		return err
	}
	e, err := newEnforcer()
	if err != nil {
		return err
	}
	if len(lines.g) > 0 {
		if _, err := e.AddGroupingPolicies(lines.g); err != nil {
			return fmt.Errorf("load role links: %w", err)
		}
	}
	if len(lines.p) > 0 {
		if _, err := e.AddPolicies(lines.p); err != nil {
			return fmt.Errorf("load grants: %w", err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.e, p.everyone = e, lines.everybody
	p.forget()
	return nil
}

// Sync brings the enforcer in step with the database (after a bulk change, or a change
// announced by another server) by applying only the lines that differ, without
// rebuilding it. The database is read and the difference computed without blocking
// permission checks; only applying it takes the write lock, and a Sync that finds
// nothing to change drops no cached subject. Changes of this server wait for it
// (p.changing), so none is applied between the read and the difference.
func (p *Policy) Sync(ctx context.Context, client *ent.Client) error {
	p.changing.Lock()
	defer p.changing.Unlock()
	lines, err := readLines(ctx, client)
	if err != nil {
		return err
	}
	p.mu.RLock()
	d, err := p.diff(lines)
	p.mu.RUnlock()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applyDiff(d)
}

// difference is what Sync changes in the enforcer.
type difference struct {
	addG, delG, addP, delP [][]string
	everybody              int
}

// diff compares the enforcer (p.mu held, read or write) with lines from the database.
func (p *Policy) diff(lines *lines) (*difference, error) {
	have, err := p.e.GetGroupingPolicy()
	if err != nil {
		return nil, fmt.Errorf("read role links: %w", err)
	}
	havep, err := p.e.GetPolicy()
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	d := &difference{everybody: lines.everybody}
	d.addG, d.delG = diffLines(have, lines.g)
	d.addP, d.delP = diffLines(havep, lines.p)
	return d, nil
}

// applyDiff applies d (p.mu held for writing) and drops the derived sets when anything
// changed.
func (p *Policy) applyDiff(d *difference) error {
	if len(d.addG)+len(d.delG)+len(d.addP)+len(d.delP) == 0 && d.everybody == p.everyone {
		return nil
	}
	defer p.forget()
	for _, step := range []struct {
		rules [][]string
		fn    func([][]string) (bool, error)
	}{{d.delG, p.e.RemoveGroupingPolicies}, {d.delP, p.e.RemovePolicies}, {d.addG, p.e.AddGroupingPolicies}, {d.addP, p.e.AddPolicies}} {
		if len(step.rules) == 0 {
			continue
		}
		if _, err := step.fn(step.rules); err != nil {
			return fmt.Errorf("sync policy: %w", err)
		}
	}
	p.everyone = d.everybody
	return nil
}

// diffLines returns the lines of want missing from have, and those of have not in want.
func diffLines(have, want [][]string) (add, del [][]string) {
	key := func(l []string) string { return strings.Join(l, "\x00") }
	in := make(map[string]bool, len(want))
	for _, l := range want {
		in[key(l)] = true
	}
	had := make(map[string]bool, len(have))
	for _, l := range have {
		had[key(l)] = true
		if !in[key(l)] {
			del = append(del, l)
		}
	}
	for _, l := range want {
		if !had[key(l)] {
			add = append(add, l)
		}
	}
	return add, del
}

func newEnforcer() (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("parse casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("create enforcer: %w", err)
	}
	e.SetRoleManager(defaultrolemanager.NewRoleManagerImpl(maxDepth))
	e.EnableAutoSave(false)
	e.AddFunction("shadowed", func(args ...any) (any, error) {
		return shadowed(e, args[0].(string), args[1].(string), args[2].(string))
	})
	return e, nil
}

// shadowed reports whether a grant on sub for perm is overridden, for requester req, by a
// grant for the same permission on a more specific subject that req also reaches.
func shadowed(e *casbin.Enforcer, req, sub, perm string) (bool, error) {
	rm := e.GetRoleManager()
	rules, err := e.GetFilteredPolicy(1, perm)
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		other := r[0]
		if other == sub {
			continue
		}
		reach, err := rm.HasLink(req, other)
		if err != nil || !reach {
			continue
		}
		if below, err := rm.HasLink(other, sub); err == nil && below {
			return true, nil
		}
	}
	return false, nil
}

// Subject returns the effective roles and permissions of a user, computed once per user
// and kept until the next change to roles, links or grants.
func (p *Policy) Subject(userID int) (*Subject, error) {
	p.mu.RLock()
	s, ok := p.subjects[userID]
	p.mu.RUnlock()
	if ok {
		return s, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subjects[userID]; ok {
		return s, nil
	}
	s, err := p.compute(userID)
	if err != nil {
		return nil, err
	}
	p.subjects[userID] = s
	return s, nil
}

// forget drops every computed Subject after a change of roles, links or grants; p.mu is
// held.
func (p *Policy) forget() {
	p.subjects, p.byRoles = map[int]*Subject{}, map[string]permSet{}
}

// compute has Casbin decide every permission for a user. A decision depends on the
// user only through whom it reaches: itself (its own grants) and its roles (the model's
// g and shadowed ask nothing else; no link leads from a user to another user). So
// users who hold no grant of their own and reach the same roles get the same answers,
// and Casbin decides once per such role set: 1,000 users in ten roles cost ten
// computations, not 1,000 (each about 1 ms and 400 KB of garbage, BenchmarkSubject),
// at start and again after every policy change. p.mu is held.
func (p *Policy) compute(userID int) (*Subject, error) {
	sub := UserSubject(userID)
	roles, err := p.e.GetImplicitRolesForUser(sub)
	if err != nil {
		return nil, fmt.Errorf("roles of user %d: %w", userID, err)
	}
	s := &Subject{UserID: userID, hiddenExcluded: &p.hiddenExcluded}
	for _, r := range roles {
		if kind, id, err := parseSubject(r); err == nil && kind == 'r' {
			s.RoleIDs = append(s.RoleIDs, id)
		}
	}
	slices.Sort(s.RoleIDs)
	own, err := p.e.GetFilteredPolicy(0, sub)
	if err != nil {
		return nil, fmt.Errorf("grants of user %d: %w", userID, err)
	}
	key := ""
	if len(own) == 0 && len(s.RoleIDs) == len(roles) { // every subject reached is a role
		key = roleKey(s.RoleIDs)
		if perms, ok := p.byRoles[key]; ok {
			s.perms = perms // never changed once computed: shared
			return s, nil
		}
	}
	for _, d := range All {
		ok, err := p.e.Enforce(sub, string(d.Name))
		if err != nil {
			return nil, fmt.Errorf("enforce %s for user %d: %w", d.Name, userID, err)
		}
		if ok {
			s.perms.add(d.Name)
		}
	}
	if key != "" {
		p.byRoles[key] = s.perms
	}
	return s, nil
}

// roleKey names a sorted set of role ids.
func roleKey(ids []int) string {
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = strconv.AppendInt(b, int64(id), 10)
		b = append(b, ',')
	}
	return string(b)
}

// EverybodyID returns the id of the root role.
func (p *Policy) EverybodyID() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.everyone
}

// UsersOfRoles returns, sorted, the users having any of the roles: directly, through a
// descendant role or through a member link (the users whose Subject.RoleIDs hold one of
// them). Disabled users are included: the caller filters by the user rows.
func (p *Policy) UsersOfRoles(roleIDs []int) ([]int, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	seen := map[int]bool{}
	for _, r := range roleIDs {
		subs, err := p.e.GetImplicitUsersForRole(RoleSubject(r))
		if err != nil {
			return nil, fmt.Errorf("users of role %d: %w", r, err)
		}
		for _, s := range subs {
			if kind, id, err := parseSubject(s); err == nil && kind == 'u' {
				seen[id] = true
			}
		}
	}
	out := make([]int, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
