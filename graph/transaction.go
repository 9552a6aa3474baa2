package graph

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Transaction runs each mutation operation in one database transaction, committed when
// it has no error and rolled back otherwise, as entgql.Transactioner does, with two
// differences:
//
//   - a request that never became an operation (a body that is not JSON, a batch array,
//     `{"query":1}`) passes the response interceptors without an operation context;
//     entgql's panics on it ("missing operation context"), this one lets gqlgen answer
//     the client's mistake;
//   - failing to begin or commit the transaction (the database is down) goes through the
//     error presenter, masked and logged, instead of reaching the client as the driver's
//     text with no code.
type Transaction struct{ Opener entgql.TxOpener }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = Transaction{}

// ExtensionName implements graphql.HandlerExtension.
func (Transaction) ExtensionName() string { return "Transaction" }

// Validate implements graphql.HandlerExtension.
func (t Transaction) Validate(graphql.ExecutableSchema) error {
	if t.Opener == nil {
		return errors.New("graph: transaction opener is nil")
	}
	return nil
}

// MutateOperationContext serializes a mutation's field resolvers: they share one
// transaction, which is not safe for concurrent use.
func (Transaction) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if !isMutation(oc.Operation) {
		return nil
	}
	previous := oc.ResolverMiddleware
	var mu sync.Mutex
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return previous(ctx, next)
	}
	return nil
}

// InterceptResponse implements graphql.ResponseInterceptor.
func (t Transaction) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) || !isMutation(graphql.GetOperationContext(ctx).Operation) {
		return next(ctx)
	}
	txCtx, tx, err := t.Opener.OpenTx(ctx)
	if err != nil {
		return presentedResponse(ctx, fmt.Errorf("begin the mutation's transaction: %w", err))
	}
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			panic(r)
		}
	}()
	resp := next(txCtx)
	if resp == nil || len(resp.Errors) > 0 {
		_ = tx.Rollback()
		if resp == nil {
			return nil
		}
		return &graphql.Response{Errors: resp.Errors}
	}
	if err := tx.Commit(); err != nil {
		return presentedResponse(ctx, fmt.Errorf("commit the mutation's transaction: %w", err))
	}
	return resp
}

// presentedResponse is a response holding err as the error presenter shows an internal
// error: masked, logged with the request id.
func presentedResponse(ctx context.Context, err error) *graphql.Response {
	graphql.AddError(ctx, &internalError{err})
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
}

func isMutation(op *ast.OperationDefinition) bool {
	return op != nil && op.Operation == ast.Mutation
}
