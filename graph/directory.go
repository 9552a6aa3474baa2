package graph

import (
	"context"
	"io"
	"strings"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/policy"
)

// mayReadPermissionsOf allows reading one's own permissions, and anyone's with
// RoleManagement.
func (r *Resolver) mayReadPermissionsOf(ctx context.Context, userID int) error {
	s, err := r.Policy.SubjectFrom(ctx)
	if err != nil {
		return err
	}
	if s.UserID == userID {
		return nil
	}
	_, err = r.Policy.Require(ctx, policy.RoleManagement)
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func properties(in []*model.PropertyInput) map[string]string {
	if in == nil {
		return nil
	}
	m := make(map[string]string, len(in))
	for _, p := range in {
		m[p.Key] = p.Value
	}
	return m
}

func reader(s *string) io.Reader {
	if s == nil {
		return nil
	}
	return strings.NewReader(*s)
}

func userPayload(u *ent.User, err error) (*model.UserPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.UserPayload{User: u}, nil
}

func grantPayload(err error) (*model.GrantPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.GrantPayload{Ok: true}, nil
}

func taskPayload(t *ent.Task, err error) (*model.TaskPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.TaskPayload{Task: t}, nil
}

func casePayload(c *ent.BusinessCase, err error) (*model.CasePayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.CasePayload{Case: c}, nil
}

// userOrViewer returns id, or the viewer's id when id is nil.
func (r *Resolver) userOrViewer(ctx context.Context, id *int) int {
	if id != nil {
		return *id
	}
	if s, err := r.Policy.SubjectFrom(ctx); err == nil {
		return s.UserID
	}
	return 0
}
