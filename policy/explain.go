package policy

import "fmt"

// Decision says whether a user holds a permission and which grant decided it.
type Decision struct {
	Permission Permission
	Allowed    bool
	// Kind and ID name the subject of the deciding grant: 'u' user, 'r' role; 0 when no
	// grant applies.
	Kind   byte
	ID     int
	Effect string // "allow" or "deny"; "" when no grant applies
}

// Explain asks the enforcer for the user's decision on perm and the grant behind it.
func (p *Policy) Explain(userID int, perm Permission) (Decision, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ok, rule, err := p.e.EnforceEx(UserSubject(userID), string(perm))
	if err != nil {
		return Decision{}, fmt.Errorf("explain %s for user %d: %w", perm, userID, err)
	}
	d := Decision{Permission: perm, Allowed: ok}
	if len(rule) < 3 {
		return d, nil
	}
	kind, id, err := parseSubject(rule[0])
	if err != nil {
		return Decision{}, err
	}
	d.Kind, d.ID, d.Effect = kind, id, rule[2]
	return d, nil
}

// Describe says in words why the decision fell as it did; name is the deciding grant's
// role or user name.
func (d Decision) Describe(name string) string {
	if d.Kind == 0 {
		return fmt.Sprintf("not granted: no grant of %s applies to the user or any of its roles", d.Permission)
	}
	verb := "allowed"
	if !d.Allowed {
		verb = "denied"
	}
	if d.Kind == 'u' {
		return fmt.Sprintf("%s by the %s grant of %s on the user #%s itself, which overrides role grants", verb, d.Effect, d.Permission, name)
	}
	return fmt.Sprintf("%s by the %s grant of %s on role %s, the most specific of the user's roles with a grant for it", verb, d.Effect, d.Permission, name)
}
