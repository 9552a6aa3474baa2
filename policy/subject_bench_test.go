package policy

import (
	"fmt"
	"testing"
)

// BenchmarkSubject measures computing one user's Subject (its roles and the decision for
// every permission) in a role graph shaped like subbench's: Everybody holding the
// default grants, ten roles under it with a grant each, 1,000 users in them. A server
// computes it for every user it sees, and again for each after any policy change.
//
//	go test -run '^$' -bench Subject -benchmem ./policy
func BenchmarkSubject(b *testing.B) {
	e, err := newEnforcer()
	if err != nil {
		b.Fatal(err)
	}
	var g, p [][]string
	for _, d := range All {
		if d.EverybodyDefault {
			p = append(p, []string{RoleSubject(1), string(d.Name), "allow"})
		}
	}
	for r := 2; r <= 11; r++ {
		g = append(g, []string{RoleSubject(r), RoleSubject(1)})
		p = append(p, []string{RoleSubject(r), string(All[r].Name), "allow"})
	}
	for u := 1; u <= 1000; u++ {
		g = append(g, []string{UserSubject(u), RoleSubject(2 + u%10)}, []string{UserSubject(u), RoleSubject(1)})
	}
	p = append(p, []string{UserSubject(7), string(All[0].Name), "deny"})
	if _, err := e.AddGroupingPolicies(g); err != nil {
		b.Fatal(err)
	}
	if _, err := e.AddPolicies(p); err != nil {
		b.Fatal(err)
	}
	pol := &Policy{e: e, everyone: 1}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := pol.compute(1 + i%1000); err != nil {
			b.Fatal(fmt.Errorf("compute: %w", err))
		}
	}
}
