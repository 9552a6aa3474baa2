package policy

import (
	"fmt"
	"testing"
)

// BenchmarkSubject measures computing Subjects (a user's roles and the decision for
// every permission) in a role graph shaped like subbench's: Everybody holding the
// default grants, ten roles under it with a grant each, 1,000 users in them, one with a
// grant of its own. A server computes one for every user it sees, and again for each
// after any policy change: "one" is Casbin deciding for one user, "all" every user's
// Subject after a change.
//
//	go test -run '^$' -bench Subject -benchmem ./policy
func BenchmarkSubject(b *testing.B) {
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
	pol := policyOf(b, g, p)
	b.Run("one", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			pol.forget()
			if _, err := pol.compute(1 + i%1000); err != nil {
				b.Fatal(fmt.Errorf("compute: %w", err))
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pol.forget()
			for u := 1; u <= 1000; u++ {
				if _, err := pol.Subject(u); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
