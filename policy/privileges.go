package policy

import (
	"context"
	"slices"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
)

// Privilege is a named, narrow exception to the read rules for one request-path need;
// see auth.Privilege. Request paths use these, never SystemContext (jobs, bootstrap and
// the command line only; TestSystemContextOnlyInJobs fails otherwise).
type Privilege = auth.Privilege

const (
	// ReadForLogin: the login reads the User it checks the password of (no viewer yet).
	ReadForLogin = auth.ReadForLogin
	// ReadSettings: filling the server-wide settings cache reads every Variable, also
	// for requests without a viewer (the login page).
	ReadSettings Privilege = "ReadSettings"
	// ReloadPolicy: rebuilding the enforcer after a committed change reads the Roles,
	// Users and Grants.
	ReloadPolicy Privilege = "ReloadPolicy"
	// CaseOfDocuments: DocumentRead and DocumentWrite act on every case, so their holders
	// see whether a case exists and which case a document belongs to.
	CaseOfDocuments Privilege = "CaseOfDocuments"
	// DestroyCaseTasks: destroying a case destroys all its open tasks, also those the
	// viewer does not see.
	DestroyCaseTasks Privilege = "DestroyCaseTasks"
	// CopyTaskFlags: the task hooks read the tasks they copy state, system flag and
	// creation time of onto the responsibles, whoever writes them.
	CopyTaskFlags Privilege = "CopyTaskFlags"
	// ReadProcessDefinition: the engine reads the express process a case runs (its next
	// step) and checks the owner of a process before refusing to change it.
	ReadProcessDefinition Privilege = "ReadProcessDefinition"
	// HideCaseTasks: hiding a case hides all its tasks, also those the viewer does not see.
	HideCaseTasks Privilege = "HideCaseTasks"
	// ReadBack: a workflow mutation returns the task and case it just changed, although
	// the change (a delegation, say) may have taken them out of the viewer's sight.
	ReadBack Privilege = "ReadBack"
	// RequestPasswordReset: "forgot my password" finds the user by name or address and
	// stores a reset token for it, before anybody is logged in.
	RequestPasswordReset Privilege = "RequestPasswordReset"
	// ResetPassword: a reset token sets its user's password and ends its sessions,
	// before anybody is logged in; a password change marks the user's tokens used.
	ResetPassword Privilege = "ResetPassword"
	// SingleSignOn: an OpenID Connect sign-in, verified by the provider before anybody is
	// logged in, reads its user and the roles named by its groups, creates the user when
	// missing and sets its roles from the groups (directory.SignInExternal).
	SingleSignOn Privilege = "SingleSignOn"
	// NotifyAssignment: the mail notifier (package notify), after a commit and off the
	// request, reads the assigned tasks, their responsibles and the users to mail (address,
	// language, channels, disabled).
	NotifyAssignment Privilege = "NotifyAssignment"
)

// privilegeGrant is what a privilege lifts: the read rules of the entities named, for
// subjects holding one of needs (no needs: also without a viewer). Writes are lifted
// only by the password reset privileges, for the operations and fields their writes
// name: every other request-path write is the viewer's.
type privilegeGrant struct {
	reads []string
	// writes: the entity's mutations of these operations setting these fields (and
	// edges) only pass without a viewer and without the entity's write rule.
	writes map[string]writeGrant
	needs  []Permission
	// viewer: a logged-in viewer is needed even though needs is empty.
	viewer bool
}

// privileges is the one table of what each privilege allows.
var privileges = map[Privilege]privilegeGrant{
	ReadForLogin:          {reads: []string{ent.TypeUser}},
	ReadSettings:          {reads: []string{ent.TypeVariable}},
	ReloadPolicy:          {reads: []string{ent.TypeRole, ent.TypeUser, ent.TypeGrant}},
	CaseOfDocuments:       {reads: []string{ent.TypeBusinessCase, ent.TypeDocument}, needs: []Permission{DocumentRead, DocumentWrite, DocumentOfInvolvedCaseWrite}},
	DestroyCaseTasks:      {reads: []string{ent.TypeTask}, needs: []Permission{CaseDestroy}},
	HideCaseTasks:         {reads: []string{ent.TypeTask}, needs: []Permission{CaseWriteHidden}},
	CopyTaskFlags:         {reads: []string{ent.TypeTask}, viewer: true},
	ReadProcessDefinition: {reads: []string{ent.TypeProcess}, viewer: true},
	ReadBack:              {reads: []string{ent.TypeTask, ent.TypeBusinessCase}, viewer: true},
	RequestPasswordReset: {reads: []string{ent.TypeUser, ent.TypePasswordReset},
		writes: map[string]writeGrant{ent.TypePasswordReset: {op: ent.OpCreate,
			fields: []string{"token_hash", "user_id", "user", "sent_to", "created_at", "expires_at"}}}},
	NotifyAssignment: {reads: []string{ent.TypeTask, ent.TypeTaskResponsible, ent.TypeUser}},
	ResetPassword: {reads: []string{ent.TypeUser, ent.TypePasswordReset},
		writes: map[string]writeGrant{
			ent.TypePasswordReset: {op: ent.OpUpdate | ent.OpUpdateOne, fields: []string{"used_at"}},
			ent.TypeUser:          {op: ent.OpUpdateOne, fields: []string{"password_hash", "token_version", "updated_at"}},
		}},
	// A created user gets the schema's defaults (no password: it signs in through the
	// provider only, until an administrator sets one); an existing one only its roles.
	SingleSignOn: {reads: []string{ent.TypeUser, ent.TypeRole},
		writes: map[string]writeGrant{
			ent.TypeUser: {op: ent.OpCreate | ent.OpUpdateOne, fields: []string{"name", "full_name", "email",
				"language", "password_hash", "disabled", "token_version", "created_at", "updated_at", "roles"}},
		}},
}

// writeGrant is the write a privilege allows on one entity.
type writeGrant struct {
	op     ent.Op
	fields []string
}

// privilegedWrite reports whether ctx carries a privilege allowing the mutation m: its
// operation, and no field or edge beyond those named.
func privilegedWrite(ctx context.Context, m ent.Mutation) bool {
	pr, ok := auth.PrivilegeOf(ctx)
	if !ok {
		return false
	}
	w, ok := privileges[pr].writes[m.Type()]
	if !ok || !m.Op().Is(w.op) {
		return false
	}
	for _, names := range [][]string{m.Fields(), m.AddedFields(), m.ClearedFields(), m.AddedEdges(), m.RemovedEdges(), m.ClearedEdges()} {
		for _, n := range names {
			if !slices.Contains(w.fields, n) {
				return false
			}
		}
	}
	return true
}

// Elevate returns ctx carrying the privilege p: the queries made with it read the
// entities p names without their read rule, and nothing else.
func Elevate(ctx context.Context, p Privilege) context.Context { return auth.Elevate(ctx, p) }

// privileged reports whether ctx carries a privilege lifting the read rule of typ.
func (p *Policy) privileged(ctx context.Context, typ string) bool {
	pr, ok := auth.PrivilegeOf(ctx)
	if !ok {
		return false
	}
	g, ok := privileges[pr]
	if !ok || !slices.Contains(g.reads, typ) {
		return false
	}
	if len(g.needs) == 0 && !g.viewer {
		return true
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return false
	}
	return len(g.needs) == 0 || needsAny(s, g.needs...) == nil
}
