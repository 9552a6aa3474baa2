package workflow

import (
	"context"
	"slices"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

func userName(ctx context.Context) string {
	if v := auth.FromContext(ctx); v != nil {
		return v.Name
	}
	return "the system"
}

// policySystem reads back what the action just wrote, which the viewer may no longer see
// (e.g. after delegating a task away).
func policySystem(ctx context.Context) context.Context { return policy.SystemContext(ctx) }

func uniq(ids []int) []int {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func userIDIn(ids []int) predicate.User { return user.IDIn(ids...) }
func roleIDIn(ids []int) predicate.Role { return role.IDIn(ids...) }
