package tracing

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// GraphQL is a gqlgen extension that traces each operation (a span named by its type
// and name, with the error codes of its answer) and each root field's resolver (the
// notable ones: nested fields would cost a span each per row).
type GraphQL struct{ Tracer trace.Tracer }

var (
	_ graphql.HandlerExtension    = GraphQL{}
	_ graphql.ResponseInterceptor = GraphQL{}
	_ graphql.FieldInterceptor    = GraphQL{}
)

// NewGraphQL returns the extension with a tracer of tp.
func NewGraphQL(tp trace.TracerProvider) GraphQL { return GraphQL{Tracer: tp.Tracer(scope)} }

// ExtensionName names the extension.
func (GraphQL) ExtensionName() string { return "Tracing" }

// Validate accepts any schema.
func (GraphQL) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse spans one operation (for a subscription: each event it sends).
func (g GraphQL) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	kind, name := "query", oc.OperationName
	if oc.Operation != nil {
		kind = string(oc.Operation.Operation)
	}
	if name == "" {
		name = "anonymous"
	}
	ctx, span := g.Tracer.Start(ctx, "graphql "+kind+" "+name, trace.WithAttributes(
		attribute.String("graphql.operation.type", kind), attribute.String("graphql.operation.name", name)))
	defer span.End()
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > 0 {
		var codesSeen []string
		for _, e := range resp.Errors {
			if c, ok := e.Extensions["code"].(string); ok {
				codesSeen = append(codesSeen, c)
			}
		}
		span.SetAttributes(attribute.StringSlice("graphql.error.codes", codesSeen))
		span.SetStatus(codes.Error, resp.Errors[0].Message)
	}
	return resp
}

// InterceptField spans the resolvers of root fields.
func (g GraphQL) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Parent == nil || fc.Parent.Parent != nil || fc.Object == "" || !isRoot(fc.Object) {
		return next(ctx)
	}
	ctx, span := g.Tracer.Start(ctx, fc.Object+"."+fc.Field.Name, trace.WithAttributes(attribute.String("graphql.field", fc.Field.Name)))
	defer span.End()
	v, err := next(ctx)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return v, err
}

func isRoot(object string) bool {
	switch ast.Operation(object) {
	case "Query", "Mutation", "Subscription":
		return true
	}
	return false
}
