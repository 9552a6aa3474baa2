package policy

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/absence"
	"github.com/portico-dev/portico/ent/dashboard"
	"github.com/portico-dev/portico/ent/dashboardposition"
	"github.com/portico-dev/portico/ent/document"
	"github.com/portico-dev/portico/ent/favoriteprocess"
	"github.com/portico-dev/portico/ent/intercept"
	"github.com/portico-dev/portico/ent/processstarter"
	"github.com/portico-dev/portico/ent/savedfilter"
	"github.com/portico-dev/portico/ent/substitute"
)

// The read and write policy of every entity, in one table each. Install puts one
// interceptor and one hook on the client for all entities: each query, traversal and
// eager load gets the read rule of its entity, each mutation its write rule. A request
// without a valid viewer reads and writes nothing (UNAUTHENTICATED); an entity missing
// from a table is denied to everybody but the server itself (SystemContext: jobs,
// bootstrap, the command line). TestEveryEntityHasRules fails for an entity without a
// rule. A request path that must read beyond these rules names a Privilege
// (privileges.go), which lifts the read rule of the entities it lists only.

// readRule narrows a query of one entity to the rows the subject may read.
type readRule func(ctx context.Context, s *Subject, q intercept.Query)

// writeRule returns an error unless the subject may make the mutation. The domain
// packages check the permission of each action; these rules are the floor beneath them.
type writeRule func(s *Subject, m ent.Mutation) error

// readRules is the read policy of every entity.
var readRules = map[string]readRule{
	ent.TypeTask: func(ctx context.Context, s *Subject, q intercept.Query) {
		if page, ok := taskPageOf(ctx); ok {
			q.WhereP(page) // a page of this viewer's visible tasks (TaskList, SearchTasks)
			return
		}
		q.WhereP(s.TaskVisible(auth.FromContext(ctx)))
	},
	ent.TypeBusinessCase: func(ctx context.Context, s *Subject, q intercept.Query) {
		if page, ok := casePageOf(ctx); ok {
			q.WhereP(page) // a page of this viewer's visible cases (CaseList, SearchCases)
			return
		}
		q.WhereP(s.CaseVisible(auth.FromContext(ctx)))
	},
	ent.TypeProcess: func(ctx context.Context, s *Subject, q intercept.Query) {
		q.WhereP(s.ProcessVisible(auth.FromContext(ctx)))
	},
	// Starters of the processes the subject sees.
	ent.TypeProcessStarter: func(ctx context.Context, s *Subject, q intercept.Query) {
		q.WhereP(processstarter.HasProcessWith(s.ProcessVisible(auth.FromContext(ctx))))
	},
	ent.TypeNote: func(ctx context.Context, s *Subject, q intercept.Query) {
		q.WhereP(s.NoteVisible(auth.FromContext(ctx)))
	},
	ent.TypeWorkflowEvent: func(ctx context.Context, s *Subject, q intercept.Query) {
		q.WhereP(s.EventVisible(auth.FromContext(ctx)))
	},
	// Responsibles are no Node and no query field: they are read as the edge of a
	// visible task, or by the domain for its own tasks. Repeating the task visibility
	// here would double the cost of every task list page for nothing.
	ent.TypeTaskResponsible: anyViewer,
	ent.TypeAbsence: func(_ context.Context, s *Subject, q intercept.Query) {
		switch {
		case s.Has(UserReadAbsences):
		case s.Has(UserReadOwnAbsences):
			q.WhereP(absence.UserID(s.UserID))
		default:
			q.WhereP(sql.FieldLT(absence.FieldID, 0))
		}
	},
	ent.TypeSubstitute: func(_ context.Context, s *Subject, q intercept.Query) {
		if !s.Has(UserReadSubstitutes) {
			q.WhereP(substitute.Or(substitute.UserID(s.UserID), substitute.SubstituteID(s.UserID)))
		}
	},
	// Every logged-in user reads every user's name and full name (delegation pickers
	// need them); their email and properties only UserDetailsVisible allows.
	ent.TypeUser: anyViewer,
	// Role names and the tree are shown with every task's responsibles.
	ent.TypeRole: anyViewer,
	// Grants are read by the policy itself (SystemContext) and by role managers.
	ent.TypeGrant: func(_ context.Context, s *Subject, q intercept.Query) {
		if !s.Has(RoleManagement) {
			q.WhereP(func(sel *sql.Selector) { sel.Where(sql.False()) })
		}
	},
	// Own and public dashboards; package dashboards narrows public ones to their
	// audience (role names or #user).
	ent.TypeDashboard: func(_ context.Context, s *Subject, q intercept.Query) {
		q.WhereP(dashboard.Or(dashboard.OwnerID(s.UserID), dashboard.Public(true)))
	},
	ent.TypeDashboardPosition: func(_ context.Context, s *Subject, q intercept.Query) {
		q.WhereP(dashboardposition.UserID(s.UserID))
	},
	ent.TypeFavoriteProcess: func(_ context.Context, s *Subject, q intercept.Query) {
		q.WhereP(favoriteprocess.UserID(s.UserID))
	},
	// DocumentRead reads every case's documents, others those of the cases they see.
	ent.TypeDocument: func(ctx context.Context, s *Subject, q intercept.Query) {
		if !s.Has(DocumentRead) {
			q.WhereP(document.HasCaseWith(s.CaseVisible(auth.FromContext(ctx))))
		}
	},
	ent.TypeNewsItem: anyViewer,
	// Saved filters: the viewer's own and the public ones.
	ent.TypeSavedFilter: func(_ context.Context, s *Subject, q intercept.Query) {
		q.WhereP(savedfilter.Or(savedfilter.OwnerID(s.UserID), savedfilter.Public(true)))
	},
	// The portal's settings: package settings says which a viewer is shown.
	ent.TypeVariable: anyViewer,
	// The token signing key: the server's own.
	ent.TypeServerSecret: nil,
	// Password reset tokens: read by no viewer; package directory reads them under the
	// privileges RequestPasswordReset and ResetPassword (privileges.go).
	ent.TypePasswordReset: nil,
}

// writeRules is the write policy of every entity.
var writeRules = map[string]writeRule{
	ent.TypeTask:              viewerWrites,
	ent.TypeBusinessCase:      viewerWrites,
	ent.TypeProcess:           viewerWrites,
	ent.TypeProcessStarter:    viewerWrites,
	ent.TypeNote:              viewerWrites,
	ent.TypeWorkflowEvent:     viewerWrites,
	ent.TypeTaskResponsible:   viewerWrites,
	ent.TypeAbsence:           viewerWrites,
	ent.TypeSubstitute:        viewerWrites,
	ent.TypeDashboard:         viewerWrites,
	ent.TypeDashboardPosition: viewerWrites,
	ent.TypeFavoriteProcess:   viewerWrites,
	ent.TypeDocument:          viewerWrites,
	ent.TypeNewsItem:          viewerWrites,
	ent.TypeVariable:          viewerWrites,
	// A user changes its own row (its settings); everything else is user management.
	ent.TypeUser: func(s *Subject, m ent.Mutation) error {
		if id, ok := m.(interface{ ID() (int, bool) }).ID(); ok && id == s.UserID && m.Op().Is(ent.OpUpdateOne) {
			return nil
		}
		return needsAny(s, RoleManagement)
	},
	ent.TypeRole: func(s *Subject, _ ent.Mutation) error {
		return needsAny(s, RoleManagement, RoleCreate, RoleDelete, RoleMove)
	},
	ent.TypeGrant:        func(s *Subject, _ ent.Mutation) error { return needsAny(s, RoleManagement) },
	ent.TypeSavedFilter:  savedFilterWrites,
	ent.TypeServerSecret: nil,
	// Password reset tokens: written under the privileges RequestPasswordReset and
	// ResetPassword only, which name the fields they may set.
	ent.TypePasswordReset: nil,
}

// savedFilterWrites: a user creates its own filters, public ones with
// CreatePublicFilter, and changes or deletes its own, or public ones with
// CreatePublicFilter (the mutation is narrowed to those rows; package savedfilters says
// why a row is out of reach).
func savedFilterWrites(s *Subject, m ent.Mutation) error {
	sm, ok := m.(*ent.SavedFilterMutation)
	if !ok {
		return apperr.Forbidden("unexpected mutation of saved filters")
	}
	if pub, ok := sm.Public(); ok && pub && !s.Has(CreatePublicFilter) {
		return apperr.Forbidden("a public filter needs the permission %s; save it as a private one", CreatePublicFilter)
	}
	if m.Op().Is(ent.OpCreate) {
		if owner, ok := sm.OwnerID(); !ok || owner != s.UserID {
			return apperr.Forbidden("a saved filter belongs to the user who saves it")
		}
		return nil
	}
	if owner, ok := sm.OwnerID(); ok && owner != s.UserID {
		return apperr.Forbidden("a saved filter cannot change its owner")
	}
	if s.Has(CreatePublicFilter) {
		sm.Where(savedfilter.Or(savedfilter.OwnerID(s.UserID), savedfilter.Public(true)))
	} else {
		sm.Where(savedfilter.OwnerID(s.UserID))
	}
	return nil
}

// anyViewer lets every logged-in user read every row.
func anyViewer(context.Context, *Subject, intercept.Query) {}

// viewerWrites lets the domain code acting for a logged-in user write; it checks the
// action's permission itself.
func viewerWrites(*Subject, ent.Mutation) error { return nil }

func needsAny(s *Subject, perms ...Permission) error {
	for _, p := range perms {
		if s.Has(p) {
			return nil
		}
	}
	return apperr.Forbidden("this needs the permission %s", perms[0])
}

// UserDetailsVisible reports whether the viewer may read the email and properties of
// the user id: its own, and with RoleManagement everybody's (as exportUsers). It is the
// one statement of that rule; the GraphQL fields of User resolve to null otherwise.
func (p *Policy) UserDetailsVisible(ctx context.Context, id int) bool {
	if isSystem(ctx) {
		return true
	}
	s, err := p.SubjectFrom(ctx)
	return err == nil && (s.UserID == id || s.Has(RoleManagement))
}

// Install puts the read rule of every entity on every query, traversal and eager load
// of the client, and its write rule on every mutation, so no path can skip them.
func (p *Policy) Install(client *ent.Client) {
	client.Intercept(intercept.TraverseFunc(p.read))
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if err := p.write(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

// read applies the read rule of the query's entity.
func (p *Policy) read(ctx context.Context, q intercept.Query) error {
	if isSystem(ctx) || p.privileged(ctx, q.Type()) {
		return nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return err
	}
	rule := readRules[q.Type()]
	if rule == nil {
		return apperr.Forbidden("%s is read by the server only", q.Type())
	}
	rule(ctx, s, q)
	return nil
}

// write applies the write rule of the mutation's entity.
func (p *Policy) write(ctx context.Context, m ent.Mutation) error {
	if isSystem(ctx) || privilegedWrite(ctx, m) {
		return nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return err
	}
	rule := writeRules[m.Type()]
	if rule == nil {
		return apperr.Forbidden("%s is written by the server only", m.Type())
	}
	if err := rule(s, m); err != nil {
		return fmt.Errorf("%s %s: %w", m.Op(), m.Type(), err)
	}
	return nil
}
