package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
)

// EverybodyName is the name of the root role.
const EverybodyName = "Everybody"

// lines are the Casbin g and p lines generated from the database.
type lines struct {
	g, p      [][]string
	everybody int
}

// readLines generates the g and p lines from the role graph, memberships and grants.
// Every server runs it on each policy change (Sync), so it reads plain columns and the
// link tables in five statements; eager-loading the edges bound every user id into an
// IN list, most of a second for 10,000 users on PostgreSQL.
func readLines(ctx context.Context, client *ent.Client) (*lines, error) {
	roles, err := client.Role.Query().Select(role.FieldName, role.FieldParentID).All(ctx)
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
	}
	// A linked member role makes its members members of the holding role.
	holder, member := role.MembersPrimaryKey[0], role.MembersPrimaryKey[1]
	err = readPairs(ctx, client, role.MembersTable, holder, member, func(h, m int) {
		l.g = append(l.g, []string{RoleSubject(m), RoleSubject(h)})
	})
	if err != nil {
		return nil, fmt.Errorf("read member roles: %w", err)
	}
	users, err := client.User.Query().IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	if l.everybody != 0 {
		for _, u := range users {
			l.g = append(l.g, []string{UserSubject(u), RoleSubject(l.everybody)})
		}
	}
	err = readPairs(ctx, client, user.RolesTable, user.RolesPrimaryKey[0], user.RolesPrimaryKey[1], func(u, r int) {
		l.g = append(l.g, []string{UserSubject(u), RoleSubject(r)})
	})
	if err != nil {
		return nil, fmt.Errorf("read user roles: %w", err)
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

// readPairs reads the two id columns of an edge's link table (names from the generated
// ent code, never from a request).
func readPairs(ctx context.Context, client *ent.Client, table, a, b string, fn func(a, b int)) error {
	rows, err := client.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s", a, b, table))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var x, y int
		if err := rows.Scan(&x, &y); err != nil {
			return err
		}
		fn(x, y)
	}
	return rows.Err()
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
