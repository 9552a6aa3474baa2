package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
)

// EverybodyName is the name of the root role.
const EverybodyName = "Everybody"

// lines are the Casbin g and p lines generated from the database.
type lines struct {
	g, p      [][]string
	everybody int
}

// readLines generates the g and p lines from the role graph, memberships and grants.
func readLines(ctx context.Context, client *ent.Client) (*lines, error) {
	roles, err := client.Role.Query().WithMembers(func(q *ent.RoleQuery) { q.Select(role.FieldID) }).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	l := &lines{}
	for _, r := range roles {
		if r.Name == EverybodyName {
			l.everybody = r.ID
		}
		if r.ParentID != nil {
			l.g = append(l.g, []string{RoleSubject(r.ID), RoleSubject(*r.ParentID)})
		}
		// A linked member role makes its members members of the holding role.
		for _, m := range r.Edges.Members {
			l.g = append(l.g, []string{RoleSubject(m.ID), RoleSubject(r.ID)})
		}
	}
	users, err := client.User.Query().WithRoles(func(q *ent.RoleQuery) { q.Select(role.FieldID) }).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read user roles: %w", err)
	}
	for _, u := range users {
		if l.everybody != 0 {
			l.g = append(l.g, []string{UserSubject(u.ID), RoleSubject(l.everybody)})
		}
		for _, r := range u.Edges.Roles {
			l.g = append(l.g, []string{UserSubject(u.ID), RoleSubject(r.ID)})
		}
	}
	grants, err := client.Grant.Query().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	for _, gr := range grants {
		if line := grantLine(gr); line != nil {
			l.p = append(l.p, line)
		}
	}
	return l, nil
}

// grantLine is the p line of a grant, or nil for a grant with no subject left.
func grantLine(g *ent.Grant) []string {
	eft := strings.ToLower(g.Effect.String())
	switch {
	case g.UserID != nil:
		return []string{UserSubject(*g.UserID), g.Permission, eft}
	case g.RoleID != nil:
		return []string{RoleSubject(*g.RoleID), g.Permission, eft}
	}
	return nil
}
