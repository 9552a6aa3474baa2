package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/rolefile"
)

// Format is a role/user file format.
type Format string

// The two formats of domain.md.
const (
	FormatXML  Format = "XML"
	FormatYAML Format = "YAML"
)

// ImportResult counts what an import did.
type ImportResult struct{ RolesCreated, RolesUpdated, UsersCreated, UsersUpdated int }

// Import merges roles and users from files (either may be nil) in one transaction: a file
// that does not parse, or whose references or hierarchy do not fit the database,
// changes nothing and the error says where it is broken.
func (d *Directory) Import(ctx context.Context, format Format, roles, users io.Reader) (ImportResult, error) {
	var res ImportResult
	rs, us, err := parseFiles(format, roles, users)
	if err != nil {
		return res, err
	}
	err = d.write(ctx, policy.RoleManagement, func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		hashes, err := d.hashUsers(ctx, us)
		if err != nil {
			return nil, err
		}
		ids, err := importRoles(ctx, c, rs, &res)
		if err != nil {
			return nil, err
		}
		if err := d.importUsers(ctx, c, us, hashes, ids, &res); err != nil {
			return nil, err
		}
		return []policy.Change{{Op: policy.OpReload}}, nil
	})
	return res, err
}

func parseFiles(format Format, roles, users io.Reader) ([]rolefile.Role, []rolefile.User, error) {
	parseRoles, parseUsers := rolefile.ParseRolesYAML, rolefile.ParseUsersYAML
	if format == FormatXML {
		parseRoles, parseUsers = rolefile.ParseRolesXML, rolefile.ParseUsersXML
	}
	var rs []rolefile.Role
	var us []rolefile.User
	var err error
	if roles != nil {
		if rs, err = parseRoles(roles); err != nil {
			return nil, nil, fileError(err)
		}
	}
	if users != nil {
		if us, err = parseUsers(users); err != nil {
			return nil, nil, fileError(err)
		}
	}
	return rs, us, nil
}

func fileError(err error) error {
	var fe *rolefile.Error
	if errors.As(err, &fe) {
		return apperr.BadInput("%v", fe).WithExtension("file", fe.File).WithExtension("line", fe.Line)
	}
	return apperr.BadInput("%v", err)
}

// importRoles creates or updates the roles in file order (parents first), adds missing
// member links, then checks the whole graph is still acyclic. It returns role ids by name.
func importRoles(ctx context.Context, c *ent.Client, rs []rolefile.Role, res *ImportResult) (map[string]int, error) {
	existing, err := c.Role.Query().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	ids := make(map[string]int, len(existing))
	for _, r := range existing {
		ids[r.Name] = r.ID
	}
	for _, r := range rs {
		var parent *int
		if r.Parent != "" {
			pid, ok := ids[r.Parent]
			if !ok {
				return nil, apperr.BadInput("roles file: role %q: parent %q is neither in the file nor in the database", r.Name, r.Parent)
			}
			parent = &pid
		}
		id, ok := ids[r.Name]
		switch {
		case !ok:
			created, err := c.Role.Create().SetName(r.Name).SetDisplayName(r.DisplayName).SetNillableParentID(parent).Save(ctx)
			if err != nil {
				return nil, fmt.Errorf("import role %q: %w", r.Name, err)
			}
			ids[r.Name] = created.ID
			res.RolesCreated++
		case r.Name == policy.EverybodyName:
			if err := c.Role.UpdateOneID(id).SetDisplayName(r.DisplayName).Exec(ctx); err != nil {
				return nil, fmt.Errorf("import role %q: %w", r.Name, err)
			}
			res.RolesUpdated++
		default:
			if err := c.Role.UpdateOneID(id).SetDisplayName(r.DisplayName).SetNillableParentID(parent).Exec(ctx); err != nil {
				return nil, fmt.Errorf("import role %q: %w", r.Name, err)
			}
			res.RolesUpdated++
		}
	}
	for _, r := range rs {
		for _, m := range r.Members {
			mid, ok := ids[m]
			if !ok {
				return nil, apperr.BadInput("roles file: role %q: member role %q is neither in the file nor in the database", r.Name, m)
			}
			linked, err := c.Role.Query().Where(role.ID(ids[r.Name]), role.HasMembersWith(role.ID(mid))).Exist(ctx)
			if err != nil {
				return nil, err
			}
			if !linked {
				if err := c.Role.UpdateOneID(ids[r.Name]).AddMemberIDs(mid).Exec(ctx); err != nil {
					return nil, fmt.Errorf("import member role %q of %q: %w", m, r.Name, err)
				}
			}
		}
	}
	return ids, checkAcyclic(ctx, c)
}

// checkAcyclic refuses a role graph (parents and member links) with a cycle: the file
// moved a role under something that inherits it.
func checkAcyclic(ctx context.Context, c *ent.Client) error {
	roles, err := c.Role.Query().WithMembers(func(q *ent.RoleQuery) { q.Select(role.FieldID) }).All(ctx)
	if err != nil {
		return fmt.Errorf("load role graph: %w", err)
	}
	up := map[int][]int{} // role -> roles it inherits
	name := map[int]string{}
	for _, r := range roles {
		name[r.ID] = r.Name
		if r.ParentID != nil {
			up[r.ID] = append(up[r.ID], *r.ParentID)
		}
		for _, m := range r.Edges.Members {
			up[m.ID] = append(up[m.ID], r.ID)
		}
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[int]int{}
	var visit func(id int) error
	visit = func(id int) error {
		switch state[id] {
		case active:
			return apperr.BadInput("the import would make role %q inherit itself through its parents and member links", name[id])
		case done:
			return nil
		}
		state[id] = active
		for _, p := range up[id] {
			if err := visit(p); err != nil {
				return err
			}
		}
		state[id] = done
		return nil
	}
	for _, r := range roles {
		if err := visit(r.ID); err != nil {
			return err
		}
	}
	return nil
}

// hashUsers checks the file's passwords against the password rules, as createUser would,
// and hashes them before the transaction's first statement (see hashBeforeWriting): a
// file of 100 users would otherwise hold the writer for seconds.
func (d *Directory) hashUsers(ctx context.Context, us []rolefile.User) ([]*string, error) {
	hashes := make([]*string, len(us))
	for i, u := range us {
		if u.Password == "" {
			continue
		}
		if err := d.checkPassword(ctx, u.Name, u.Password); err != nil {
			if e, ok := apperr.As(err); ok {
				return nil, apperr.BadInput("users file: user %q: %s", u.Name, e.Message)
			}
			return nil, fmt.Errorf("users file: user %q: %w", u.Name, err)
		}
		h, err := auth.HashPassword(u.Password)
		if err != nil {
			return nil, apperr.BadInput("users file: user %q: %v", u.Name, err)
		}
		hashes[i] = &h
	}
	return hashes, nil
}

// importUsers creates or updates the file's users; hashes[i] is the hash of us[i]'s
// password, nil for none. Replacing the password of an existing user ends its sessions.
func (d *Directory) importUsers(ctx context.Context, c *ent.Client, us []rolefile.User, hashes []*string, roleIDs map[string]int, res *ImportResult) error {
	for i, u := range us {
		ids := make([]int, 0, len(u.Roles))
		for _, rn := range u.Roles {
			id, ok := roleIDs[rn] // every role of the database and the file
			if !ok {
				return apperr.BadInput("users file: user %q: role %q is neither in the roles file nor in the database", u.Name, rn)
			}
			ids = append(ids, id)
		}
		hash := hashes[i]
		existing, err := c.User.Query().Where(user.Name(u.Name)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err = c.User.Create().SetName(u.Name).SetFullName(u.FullName).SetEmail(u.Email).SetLanguage(u.Language).
				SetProperties(u.Properties).SetNillablePasswordHash(hash).AddRoleIDs(ids...).Exec(ctx)
			res.UsersCreated++
		case err == nil:
			err = existing.Update().SetFullName(u.FullName).SetEmail(u.Email).SetLanguage(u.Language).
				SetProperties(u.Properties).SetNillablePasswordHash(hash).ClearRoles().AddRoleIDs(ids...).Exec(ctx)
			if err == nil && hash != nil {
				err = d.endSessions(ctx, c, existing.ID)
			}
			res.UsersUpdated++
		}
		if err != nil {
			return fmt.Errorf("import user %q: %w", u.Name, err)
		}
	}
	return nil
}

// ExportRoles writes every role, parents first, in the format. Needs RoleReadAll.
func (d *Directory) ExportRoles(ctx context.Context, format Format) (string, error) {
	if _, err := d.policy.Require(ctx, policy.RoleReadAll); err != nil {
		return "", err
	}
	roles, err := d.client.Role.Query().WithParent().WithMembers().Order(ent.Asc(role.FieldID)).All(ctx)
	if err != nil {
		return "", fmt.Errorf("load roles: %w", err)
	}
	children := map[int][]*ent.Role{}
	var root *ent.Role
	for _, r := range roles {
		if r.ParentID == nil {
			root = r
			continue
		}
		children[*r.ParentID] = append(children[*r.ParentID], r)
	}
	var out []rolefile.Role
	for queue := []*ent.Role{root}; len(queue) > 0 && queue[0] != nil; queue = queue[1:] {
		r := queue[0]
		fr := rolefile.Role{Name: r.Name, DisplayName: r.DisplayName}
		if r.Edges.Parent != nil {
			fr.Parent = r.Edges.Parent.Name
		}
		for _, m := range r.Edges.Members {
			fr.Members = append(fr.Members, m.Name)
		}
		slices.Sort(fr.Members)
		out = append(out, fr)
		queue = append(queue, children[r.ID]...)
	}
	var buf bytes.Buffer
	write := rolefile.WriteRolesYAML
	if format == FormatXML {
		write = rolefile.WriteRolesXML
	}
	if err := write(&buf, out); err != nil {
		return "", fmt.Errorf("write roles: %w", err)
	}
	return buf.String(), nil
}

// ExportUsers writes every user with its roles and properties, without passwords (only
// hashes are stored). Needs RoleManagement.
func (d *Directory) ExportUsers(ctx context.Context, format Format) (string, error) {
	if _, err := d.policy.Require(ctx, policy.RoleManagement); err != nil {
		return "", err
	}
	users, err := d.client.User.Query().WithRoles().Order(ent.Asc(user.FieldName)).All(ctx)
	if err != nil {
		return "", fmt.Errorf("load users: %w", err)
	}
	out := make([]rolefile.User, 0, len(users))
	for _, u := range users {
		fu := rolefile.User{Name: u.Name, FullName: u.FullName, Email: u.Email, Language: u.Language, Properties: u.Properties}
		for _, r := range u.Edges.Roles {
			fu.Roles = append(fu.Roles, r.Name)
		}
		if len(fu.Roles) == 0 {
			fu.Roles = []string{policy.EverybodyName}
		}
		slices.Sort(fu.Roles)
		if len(fu.Properties) == 0 {
			fu.Properties = nil
		}
		out = append(out, fu)
	}
	var buf bytes.Buffer
	write := rolefile.WriteUsersYAML
	if format == FormatXML {
		write = rolefile.WriteUsersXML
	}
	if err := write(&buf, out); err != nil {
		return "", fmt.Errorf("write users: %w", err)
	}
	return buf.String(), nil
}
