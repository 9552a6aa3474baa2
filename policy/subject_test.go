package policy

import (
	"testing"

	"github.com/portico-dev/portico/ent/grant"
)

// TestSubjectsShareRoleSets: users who reach the same roles and hold no grant of their
// own share one computation, and every user's permissions are still exactly Casbin's
// answers: a user with a grant of its own among them, and everyone after a change.
func TestSubjectsShareRoleSets(t *testing.T) {
	everybody, clerks, auditors := RoleSubject(1), RoleSubject(2), RoleSubject(3)
	g := [][]string{{clerks, everybody}, {auditors, everybody}}
	for u, role := range map[int]string{1: clerks, 2: clerks, 3: clerks, 4: auditors} {
		g = append(g, []string{UserSubject(u), role}, []string{UserSubject(u), everybody})
	}
	p := [][]string{
		{everybody, string(RoleReadAll), "allow"},
		{clerks, string(TaskReadAll), "allow"},
		{auditors, string(CaseReadAll), "allow"},
		{UserSubject(3), string(TaskReadAll), "deny"}, // user 3 is a clerk with a grant of its own
	}
	pol := policyOf(t, g, p)
	e := pol.e
	check := func(when string) {
		t.Helper()
		for _, u := range []int{1, 3, 2, 4} { // 3 right after a clerk without grants
			s, err := pol.Subject(u)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range All {
				want, err := e.Enforce(UserSubject(u), string(d.Name))
				if err != nil {
					t.Fatal(err)
				}
				if s.Has(d.Name) != want {
					t.Errorf("%s: user %d has %s = %v, Casbin says %v", when, u, d.Name, s.Has(d.Name), want)
				}
			}
		}
	}
	check("at first")
	if s, _ := pol.Subject(3); s.Has(TaskReadAll) {
		t.Error("user 3's own deny was lost")
	}
	if len(pol.byRoles) != 2 {
		t.Errorf("%d role sets computed, want 2 (clerks, auditors; user 3 apart)", len(pol.byRoles))
	}
	if err := pol.Apply(SetGrant(clerks, CaseReadAll, grant.EffectALLOW)); err != nil {
		t.Fatal(err)
	}
	check("after a grant to the clerks")
	if s, _ := pol.Subject(2); !s.Has(CaseReadAll) {
		t.Error("a clerk kept the permissions from before the change")
	}
}

// policyOf returns a policy of role links g and grants p, Everybody being role 1.
func policyOf(tb testing.TB, g, p [][]string) *Policy {
	tb.Helper()
	e, err := newEnforcer()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.AddGroupingPolicies(g); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.AddPolicies(p); err != nil {
		tb.Fatal(err)
	}
	pol := &Policy{e: e, everyone: 1}
	pol.forget()
	return pol
}
