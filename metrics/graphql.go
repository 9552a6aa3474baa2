package metrics

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// GraphQL returns the gqlgen extension counting operations and timing queries and
// mutations. A subscription counts once, at its first response (an event or its error)
// or its end; its lifetime is no latency and gets no duration. A request refused before
// it ran (unparsable, invalid, over a limit) counts with its error's code.
func (m *Metrics) GraphQL() graphql.HandlerExtension { return operationMetrics{m} }

type operationMetrics struct{ m *Metrics }

var (
	_ graphql.OperationInterceptor = operationMetrics{}
	_ graphql.ResponseInterceptor  = operationMetrics{}
)

func (operationMetrics) ExtensionName() string                   { return "Metrics" }
func (operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// dispatched marks the context of an operation that runs: its responses are counted by
// InterceptOperation, not by InterceptResponse.
type dispatched struct{}

func (e operationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name, typ := e.labels(oc)
	start := oc.Stats.OperationStart
	if start.IsZero() {
		start = time.Now()
	}
	h := next(context.WithValue(ctx, dispatched{}, true))
	var counted atomic.Bool // a subscription's events may render concurrently
	return func(ctx context.Context) *graphql.Response {
		resp := h(ctx)
		if counted.CompareAndSwap(false, true) {
			e.m.operations.WithLabelValues(name, typ, outcome(resp)).Inc()
			if typ != string(ast.Subscription) {
				e.m.opDuration.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
			}
		}
		return resp
	}
}

func (e operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if ctx.Value(dispatched{}) != nil {
		return resp
	}
	var oc *graphql.OperationContext
	if graphql.HasOperationContext(ctx) {
		oc = graphql.GetOperationContext(ctx)
	}
	name, typ := e.labels(oc)
	e.m.operations.WithLabelValues(name, typ, outcome(resp)).Inc()
	return resp
}

// labels returns the operation's name and type labels; before parsing, "anonymous" and
// "unknown" (the name a client sent is not trusted to be one).
func (e operationMetrics) labels(oc *graphql.OperationContext) (name, typ string) {
	if oc == nil || oc.Operation == nil {
		return "anonymous", "unknown"
	}
	return e.m.names.label(oc.Operation.Name), string(oc.Operation.Operation)
}

// codes are the outcome codes counted by name; others count as OTHER.
var codes = map[string]bool{"UNAUTHENTICATED": true, "FORBIDDEN": true, "NOT_FOUND": true, "BAD_USER_INPUT": true,
	"CONFLICT": true, "INTERNAL": true, "EVENTS_LOST": true, "PERSISTED_QUERY_NOT_FOUND": true}

// outcome is OK for a response without errors (or none: a subscription's end), else
// the first error's extensions.code.
func outcome(resp *graphql.Response) string {
	if resp == nil || len(resp.Errors) == 0 {
		return "OK"
	}
	if c := fmt.Sprint(resp.Errors[0].Extensions["code"]); codes[c] {
		return c
	}
	return "OTHER"
}
