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
// for their responsibles and one for their allowed actions, not one per task.
type loaders struct {
	responsibles *dataloadgen.Loader[responsibleKey, []ent.Noder]
	actions      *dataloadgen.Loader[*ent.Task, []policy.ActionState]
}

type loadersKey struct{}

// fetchers are the batch lookups behind the loaders.
type fetchers struct {
	client *ent.Client
	work   *workflow.Engine
}

// Loaders is HTTP middleware that gives each request its own batch loaders; they read
// through the request's context, so visibility still applies. A websocket gets them per
// operation and per event instead (WithLoaders), so no cache outlives one of them.
func Loaders(client *ent.Client, work *workflow.Engine) func(http.Handler) http.Handler {
	with := WithLoaders(client, work)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "" {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(with(r.Context())))
		})
	}
}

// WithLoaders returns a function that gives a context fresh batch loaders.
func WithLoaders(client *ent.Client, work *workflow.Engine) func(context.Context) context.Context {
	f := fetchers{client: client, work: work}
	return func(ctx context.Context) context.Context {
		l := &loaders{
			responsibles: dataloadgen.NewLoader(batch(f.responsibles), dataloadgen.WithWait(2*time.Millisecond)),
			actions:      dataloadgen.NewLoader(batch(f.actions), dataloadgen.WithWait(2*time.Millisecond)),
		}
		return context.WithValue(ctx, loadersKey{}, l)
	}
}

// batch adapts a lookup that fails as a whole to the loader's per-key errors.
func batch[K comparable, V any](fetch func(context.Context, []K) ([]V, error)) func(context.Context, []K) ([]V, []error) {
	return func(ctx context.Context, keys []K) ([]V, []error) {
		vs, err := fetch(ctx, keys)
		if err != nil {
			errs := make([]error, len(keys))
			for i := range errs {
				errs[i] = err
			}
			return nil, errs
		}
		return vs, nil
	}
}

// load goes through the request's loader, or fetches directly inside a mutation (its
// transaction holds what it just wrote) and outside HTTP requests (websocket operations).
func load[K comparable, V any](ctx context.Context, pick func(*loaders) *dataloadgen.Loader[K, V], fetch func(context.Context, []K) ([]V, error), key K) (V, error) {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok && ent.TxFromContext(ctx) == nil {
		return pick(l).Load(ctx, key)
	}
	vs, err := fetch(ctx, []K{key})
	if err != nil {
		var zero V
		return zero, err
	}
	return vs[0], nil
}

// responsibleKey asks for a task's current responsibles, or (expiry) those it goes to
// when it expires.
type responsibleKey struct {
	task   int
	expiry bool
}

// responsibles loads the responsibles of many tasks at once.
func (f fetchers) responsibles(ctx context.Context, keys []responsibleKey) ([][]ent.Noder, error) {
	c := f.client
	if tc := ent.FromContext(ctx); tc != nil {
		c = tc
	}
	ids := make([]int, len(keys))
	for i, k := range keys {
		ids[i] = k.task
	}
	rs, err := c.TaskResponsible.Query().Where(taskresponsible.TaskIDIn(ids...)).
		WithUser().WithRole().Order(ent.Asc(taskresponsible.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[responsibleKey][]ent.Noder{}
	for _, x := range rs {
		k := responsibleKey{x.TaskID, x.Expiry}
		switch {
		case x.Edges.User != nil:
			byKey[k] = append(byKey[k], x.Edges.User)
		case x.Edges.Role != nil:
			byKey[k] = append(byKey[k], x.Edges.Role)
		}
	}
	out := make([][]ent.Noder, len(keys))
	for i, k := range keys {
		out[i] = append([]ent.Noder{}, byKey[k]...)
	}
	return out, nil
}

// actions computes the action states of many tasks with one query for their facts.
func (f fetchers) actions(ctx context.Context, tasks []*ent.Task) ([][]policy.ActionState, error) {
	s, facts, err := f.work.TaskFacts(ctx, tasks)
	if err != nil {
		return nil, err
	}
	out := make([][]policy.ActionState, len(tasks))
	for i, fact := range facts {
		out[i] = policy.TaskActionStates(s, fact)
	}
	return out, nil
}

// taskResponsibles returns a task's responsibles, batched per request.
func taskResponsibles(ctx context.Context, client *ent.Client, taskID int, expiry bool) ([]ent.Noder, error) {
	f := fetchers{client: client}
	return load(ctx, func(l *loaders) *dataloadgen.Loader[responsibleKey, []ent.Noder] { return l.responsibles },
		f.responsibles, responsibleKey{taskID, expiry})
}

// taskActions returns what the viewer may do to a task and what a UI shows, batched per
// request.
func taskActions(ctx context.Context, work *workflow.Engine, t *ent.Task) ([]policy.ActionState, error) {
	f := fetchers{work: work}
	return load(ctx, func(l *loaders) *dataloadgen.Loader[*ent.Task, []policy.ActionState] { return l.actions }, f.actions, t)
}
