package policy

import (
	"fmt"
	"strings"

	"github.com/portico-dev/portico/ent/grant"
)

// Op is the kind of a policy change.
type Op string

// Policy change kinds: they mirror the Casbin lines they touch.
const (
	OpAddLink       Op = "add_link"       // g: Sub inherits Obj
	OpRemoveLink    Op = "remove_link"    // g: Sub no longer inherits Obj
	OpAddGrant      Op = "add_grant"      // p: Sub, Perm, Effect (replaces Sub's grant for Perm)
	OpRemoveGrant   Op = "remove_grant"   // p: Sub's grant for Perm
	OpRemoveSubject Op = "remove_subject" // every g and p line of Sub (deleted role)
	OpReload        Op = "reload"         // bulk change (import): sync the lines that differ from the database
)

// Change is one incremental update of the enforcer, applied by the server that
// committed it. Changes never travel between servers: the others re-read the database
// (Sync), since a change received over the bus could have been sent by anyone.
type Change struct {
	Op     Op
	Sub    string
	Obj    string
	Perm   string
	Effect string
}

// Link is the change that makes child inherit parent (user → role, role → parent,
// member role → holding role).
func Link(child, parent string) Change { return Change{Op: OpAddLink, Sub: child, Obj: parent} }

// Unlink removes a Link.
func Unlink(child, parent string) Change { return Change{Op: OpRemoveLink, Sub: child, Obj: parent} }

// SetGrant is the change for a grant of perm to sub with effect.
func SetGrant(sub string, perm Permission, effect grant.Effect) Change {
	return Change{Op: OpAddGrant, Sub: sub, Perm: string(perm), Effect: strings.ToLower(effect.String())}
}

// DropGrant removes sub's grant for perm.
func DropGrant(sub string, perm Permission) Change {
	return Change{Op: OpRemoveGrant, Sub: sub, Perm: string(perm)}
}

// DropSubject removes every line of a deleted role or user.
func DropSubject(sub string) Change { return Change{Op: OpRemoveSubject, Sub: sub} }

// Apply updates the enforcer with changes already committed to the database, then drops
// the derived per-user sets so the next check sees them. It never rebuilds everything.
func (p *Policy) Apply(changes ...Change) error {
	p.changing.Lock()
	defer p.changing.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.forget()
	for _, c := range changes {
		if err := p.apply(c); err != nil {
			return fmt.Errorf("apply %s %s: %w", c.Op, c.Sub, err)
		}
	}
	return nil
}

func (p *Policy) apply(c Change) error {
	e := p.e
	var err error
	switch c.Op {
	case OpAddLink:
		_, err = e.AddGroupingPolicy(c.Sub, c.Obj)
	case OpRemoveLink:
		_, err = e.RemoveGroupingPolicy(c.Sub, c.Obj)
	case OpAddGrant:
		if _, err = e.RemoveFilteredPolicy(0, c.Sub, c.Perm); err == nil {
			_, err = e.AddPolicy(c.Sub, c.Perm, c.Effect)
		}
	case OpRemoveGrant:
		_, err = e.RemoveFilteredPolicy(0, c.Sub, c.Perm)
	case OpRemoveSubject:
		if _, err = e.RemoveFilteredGroupingPolicy(0, c.Sub); err == nil {
			if _, err = e.RemoveFilteredGroupingPolicy(1, c.Sub); err == nil {
				_, err = e.RemoveFilteredPolicy(0, c.Sub)
			}
		}
	case OpReload:
		// Handled by the caller, which has the database client; see NeedsReload.
	default:
		err = fmt.Errorf("unknown op")
	}
	return err
}

// Reaches reports whether subject a inherits subject b (directly or through any chain of
// parent and member links), or a == b. Graph changes use it to refuse cycles.
func (p *Policy) Reaches(a, b string) bool {
	if a == b {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	ok, err := p.e.GetRoleManager().HasLink(a, b)
	return err == nil && ok
}

// NeedsReload reports whether changes hold a bulk change that needs a full reload.
func NeedsReload(changes []Change) bool {
	for _, c := range changes {
		if c.Op == OpReload {
			return true
		}
	}
	return false
}
