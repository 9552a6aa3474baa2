package graph

import (
	"context"

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
