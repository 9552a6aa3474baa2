package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/workflow"
)

// loaders batch the per-task lookups of one request, so a page of tasks costs one query
// for their responsibles instead of one per task.
type loaders struct {
	responsibles   *dataloadgen.Loader[int, []ent.Noder]
	allowedActions *dataloadgen.Loader[*ent.Task, []policy.TaskAction]
}

type loadersKey struct{}

// Loaders is HTTP middleware that gives each request its own batch loaders; they read
// through the request's context, so visibility still applies.
func Loaders(client *ent.Client, work *workflow.Engine) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l := &loaders{
				responsibles:   dataloadgen.NewLoader(responsiblesOf(client), dataloadgen.WithWait(2*time.Millisecond)),
				allowedActions: dataloadgen.NewLoader(allowedActionsOf(work), dataloadgen.WithWait(2*time.Millisecond)),
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadersKey{}, l)))
		})
	}
}

// responsiblesOf loads the current (non-expiry) responsibles of many tasks at once.
func responsiblesOf(client *ent.Client) func(ctx context.Context, taskIDs []int) ([][]ent.Noder, []error) {
	return func(ctx context.Context, taskIDs []int) ([][]ent.Noder, []error) {
		rs, err := client.TaskResponsible.Query().
			Where(taskresponsible.TaskIDIn(taskIDs...), taskresponsible.Expiry(false)).
			WithUser().WithRole().Order(ent.Asc(taskresponsible.FieldID)).All(ctx)
		if err != nil {
			errs := make([]error, len(taskIDs))
			for i := range errs {
				errs[i] = err
			}
			return nil, errs
		}
		byTask := map[int][]ent.Noder{}
		for _, x := range rs {
			switch {
			case x.Edges.User != nil:
				byTask[x.TaskID] = append(byTask[x.TaskID], x.Edges.User)
			case x.Edges.Role != nil:
				byTask[x.TaskID] = append(byTask[x.TaskID], x.Edges.Role)
			}
		}
		out := make([][]ent.Noder, len(taskIDs))
		for i, id := range taskIDs {
			out[i] = append([]ent.Noder{}, byTask[id]...)
		}
		return out, nil
	}
}

// taskResponsibles returns a task's responsibles through the request's loader, or with
// a direct query inside a mutation and outside HTTP requests (websocket operations).
func taskResponsibles(ctx context.Context, client *ent.Client, taskID int) ([]ent.Noder, error) {
	if tx := ent.FromContext(ctx); tx != nil && ent.TxFromContext(ctx) != nil {
		client = tx // a mutation's payload: read what it wrote, before commit
	} else if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l.responsibles.Load(ctx, taskID)
	}
	rs, errs := responsiblesOf(client)(ctx, []int{taskID})
	if errs != nil {
		return nil, errs[0]
	}
	return rs[0], nil
}

// allowedActionsOf computes allowedActions for many tasks with one query.
func allowedActionsOf(work *workflow.Engine) func(ctx context.Context, tasks []*ent.Task) ([][]policy.TaskAction, []error) {
	return func(ctx context.Context, tasks []*ent.Task) ([][]policy.TaskAction, []error) {
		s, facts, err := work.TaskFacts(ctx, tasks)
		if err != nil {
			errs := make([]error, len(tasks))
			for i := range errs {
				errs[i] = err
			}
			return nil, errs
		}
		out := make([][]policy.TaskAction, len(tasks))
		for i, f := range facts {
			out[i] = policy.AllowedTaskActions(s, f)
		}
		return out, nil
	}
}

// taskAllowedActions returns what the viewer may do to a task, batched per request
// (directly inside a mutation, whose transaction holds what it just wrote).
func taskAllowedActions(ctx context.Context, work *workflow.Engine, t *ent.Task) ([]policy.TaskAction, error) {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok && ent.TxFromContext(ctx) == nil {
		return l.allowedActions.Load(ctx, t)
	}
	acts, errs := allowedActionsOf(work)(ctx, []*ent.Task{t})
	if errs != nil {
		return nil, errs[0]
	}
	return acts[0], nil
}
