package directory_test

import (
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

func TestAbsencesAndSubstitutes(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		alice, demo := srv.Login(t, "alice", "alice"), srv.Login(t, "demo", "demo")
		var ids struct {
			Viewer struct{ ID string }
			Role   struct{ ID string }
		}
		alice.MustDo(t, `{ viewer { id } role(name: "Support Group") { id } }`, nil, &ids)
		var demoID struct{ Viewer struct{ ID string } }
		demo.MustDo(t, `{ viewer { id } }`, nil, &demoID)

		// Own absence: allowed by the Everybody default UserCreateOwnAbsence.
		alice.MustDo(t, `mutation { createAbsence(input: {from: "2030-01-01T00:00:00Z", until: "2030-01-05T00:00:00Z", comment: "ski"}) { absence { id } } }`, nil, nil)
		tests := []struct {
			name, query, code string
		}{
			{"someone else's absence needs UserCreateAbsence",
				fmt.Sprintf(`mutation { createAbsence(input: {userId: "%s", from: "2030-01-01T00:00:00Z", until: "2030-01-02T00:00:00Z"}) { absence { id } } }`, ids.Viewer.ID), "FORBIDDEN"},
			{"until before from", `mutation { createAbsence(input: {from: "2030-01-05T00:00:00Z", until: "2030-01-01T00:00:00Z"}) { absence { id } } }`, "BAD_USER_INPUT"},
			{"someone else's absences need UserReadAbsences", fmt.Sprintf(`{ user(id: "%s") { absences { id } } }`, ids.Viewer.ID), "FORBIDDEN"},
			{"own substitute for a role the user lacks",
				fmt.Sprintf(`mutation { createSubstitute(input: {substituteId: "%s", roleId: "%s"}) { substitute { id } } }`, ids.Viewer.ID, ids.Role.ID), "BAD_USER_INPUT"},
			{"nobody substitutes themselves", fmt.Sprintf(`mutation { createSubstitute(input: {substituteId: "%s"}) { substitute { id } } }`, demoID.Viewer.ID), "BAD_USER_INPUT"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if code := demo.Do(t, tt.query, nil).Code(); code != tt.code {
					t.Fatalf("code %q, want %q", code, tt.code)
				}
			})
		}
		var own struct {
			Viewer struct{ Absences []struct{ Comment string } }
		}
		alice.MustDo(t, `{ viewer { absences { comment } } }`, nil, &own)
		if len(own.Viewer.Absences) != 1 || own.Viewer.Absences[0].Comment != "ski" {
			t.Fatalf("alice's absences: %+v", own)
		}

		// alice makes demo her permanent substitute for Support Group: demo now sees the
		// Support Group task (a new token is not needed; substitutions load per request).
		var before, after struct{ Tasks struct{ TotalCount int } }
		bob := srv.Login(t, "bob", "bob")
		bob.MustDo(t, `{ tasks { totalCount } }`, nil, &before)
		var bobID struct{ Viewer struct{ ID string } }
		bob.MustDo(t, `{ viewer { id } }`, nil, &bobID)
		alice.MustDo(t, fmt.Sprintf(`mutation { createSubstitute(input: {substituteId: "%s", roleId: "%s", permanent: true}) { substitute { id } } }`,
			bobID.Viewer.ID, ids.Role.ID), nil, nil)
		bob.MustDo(t, `{ tasks { totalCount } }`, nil, &after)
		if after.Tasks.TotalCount != before.Tasks.TotalCount+1 {
			t.Fatalf("bob as alice's Support Group substitute sees %d tasks, before %d; want one more", after.Tasks.TotalCount, before.Tasks.TotalCount)
		}
	})
}
