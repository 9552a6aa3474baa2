package policy

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/intercept"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
)

type systemKey struct{}

// SystemContext marks work done by the server itself (timers, bootstrap, migrations of
// data): visibility filters do not apply to it. Never derive it from a request.
func SystemContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

func isSystem(ctx context.Context) bool { v, _ := ctx.Value(systemKey{}).(bool); return v }

// SubjectFrom returns the subject of the request's viewer, or an UNAUTHENTICATED error.
func (p *Policy) SubjectFrom(ctx context.Context) (*Subject, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		if err := auth.TokenError(ctx); err != nil {
			return nil, err
		}
		return nil, apperr.Unauthenticated()
	}
	return p.Subject(v.UserID)
}

// Require returns a FORBIDDEN error unless the viewer holds the permission. Work in a
// SystemContext (the command line, timers) is the server itself and needs none; it gets
// a nil subject.
func (p *Policy) Require(ctx context.Context, perm Permission) (*Subject, error) {
	if isSystem(ctx) {
		return nil, nil
	}
	s, err := p.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !s.Has(perm) {
		return nil, apperr.Forbidden("this needs the permission %s", perm)
	}
	return s, nil
}

// TaskVisible is the predicate of the tasks a subject may see: those whose responsibles
// include the user or one of its roles; every task with TaskReadAll.
func (s *Subject) TaskVisible() predicate.Task {
	if s.Has(TaskReadAll) {
		return func(*sql.Selector) {}
	}
	return task.HasResponsiblesWith(
		taskresponsible.Expiry(false),
		taskresponsible.Or(
			taskresponsible.UserID(s.UserID),
			taskresponsible.RoleIDIn(s.RoleIDs...),
		),
	)
}

// CaseVisible is the predicate of the cases a subject may see: those it created or owns
// or has a visible task in; every case with CaseReadAll.
func (s *Subject) CaseVisible() predicate.BusinessCase {
	if s.Has(CaseReadAll) {
		return func(*sql.Selector) {}
	}
	return businesscase.Or(
		businesscase.CreatorID(s.UserID),
		businesscase.OwnerID(s.UserID),
		businesscase.HasTasksWith(s.TaskVisible()),
	)
}

// Install adds the visibility predicates to every task and case query, traversal and
// eager load of the client, so no read path can skip them.
func (p *Policy) Install(client *ent.Client) {
	client.Task.Intercept(intercept.TraverseTask(func(ctx context.Context, q *ent.TaskQuery) error {
		if isSystem(ctx) {
			return nil
		}
		s, err := p.SubjectFrom(ctx)
		if err != nil {
			return err
		}
		q.Where(s.TaskVisible())
		return nil
	}))
	client.BusinessCase.Intercept(intercept.TraverseBusinessCase(func(ctx context.Context, q *ent.BusinessCaseQuery) error {
		if isSystem(ctx) {
			return nil
		}
		s, err := p.SubjectFrom(ctx)
		if err != nil {
			return err
		}
		q.Where(s.CaseVisible())
		return nil
	}))
}
