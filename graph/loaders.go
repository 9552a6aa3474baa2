package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/taskresponsible"
)

// loaders batch the per-task lookups of one request, so a page of tasks costs one query
// for their responsibles instead of one per task.
type loaders struct {
	responsibles *dataloadgen.Loader[int, []ent.Noder]
}

type loadersKey struct{}

// Loaders is HTTP middleware that gives each request its own batch loaders; they read
// through the request's context, so visibility still applies.
func Loaders(client *ent.Client) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l := &loaders{responsibles: dataloadgen.NewLoader(responsiblesOf(client), dataloadgen.WithWait(time.Millisecond))}
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
// a direct query outside HTTP requests (websocket operations, tests of the schema).
func taskResponsibles(ctx context.Context, client *ent.Client, taskID int) ([]ent.Noder, error) {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l.responsibles.Load(ctx, taskID)
	}
	rs, errs := responsiblesOf(client)(ctx, []int{taskID})
	if errs != nil {
		return nil, errs[0]
	}
	return rs[0], nil
}
