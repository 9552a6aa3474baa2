package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/requestid"
)

// ErrorPresenter is the one place that turns errors into GraphQL errors with an
// extensions.code: domain errors keep their code and message, ent validation and
// not-found errors become BAD_USER_INPUT and NOT_FOUND, and everything else is logged
// with the request id and masked as INTERNAL.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var ae *apperr.Error
		var ge *gqlerror.Error
		var ie *internalError
		switch {
		case errors.As(err, &ae):
			gqlErr.Message = ae.Message
			setCode(gqlErr, ae.Code)
			for k, v := range ae.Extensions {
				gqlErr.Extensions[k] = v
			}
		case ent.IsValidationError(err):
			gqlErr.Message = validationMessage(err)
			setCode(gqlErr, apperr.CodeBadUserInput)
		case ent.IsNotFound(err):
			gqlErr.Message = "not found"
			setCode(gqlErr, apperr.CodeNotFound)
		case errors.As(err, &ie):
			maskInternal(ctx, log, gqlErr, ie.err)
		case errors.As(err, &ge):
			// gqlgen's own errors: parse and validation failures and input coercion. The
			// client can fix them, except APQ's miss, whose code clients rely on.
			if ge.Extensions["code"] != "PERSISTED_QUERY_NOT_FOUND" {
				setCode(gqlErr, apperr.CodeBadUserInput)
			}
		default:
			maskInternal(ctx, log, gqlErr, err)
		}
		return gqlErr
	}
}

// maskInternal logs err with the request id and replaces the message with that id.
func maskInternal(ctx context.Context, log *slog.Logger, gqlErr *gqlerror.Error, err error) {
	id := requestid.FromContext(ctx)
	level := slog.LevelError
	if ctx.Err() != nil {
		// The client went away; the database's "canceling statement" is our own doing.
		level = slog.LevelDebug
	}
	log.Log(ctx, level, "internal error", "requestId", id, "path", gqlErr.Path.String(), "err", err)
	gqlErr.Message = fmt.Sprintf("internal error; quote request id %s when reporting it", id)
	setCode(gqlErr, apperr.CodeInternal)
	gqlErr.Extensions["requestId"] = id
}

// internalError marks an error a resolver returned that is not a domain error: its text
// may hold SQL or internals, so the presenter logs it and shows only the request id.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// MarkInternal is a field middleware that marks resolver errors other than domain, ent
// not-found and ent validation errors as internal. gqlgen reports argument coercion
// errors without passing here, so whatever the presenter sees unmarked is client input.
func MarkInternal(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err == nil {
		return res, nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) || ent.IsNotFound(err) || ent.IsValidationError(err) {
		return res, err
	}
	if ce := clientError(err); ce != nil {
		return res, ce
	}
	return res, &internalError{err}
}

func setCode(e *gqlerror.Error, c apperr.Code) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = string(c)
}

// validationMessage keeps ent's field validation text, which names the field and rule,
// without the package prefix.
func validationMessage(err error) string {
	var ve *ent.ValidationError
	if errors.As(err, &ve) {
		return fmt.Sprintf("invalid %s: %v", ve.Name, errors.Unwrap(ve))
	}
	return "invalid input"
}

// Recover turns a panic in a resolver into a logged INTERNAL error instead of a crash.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "requestId", requestid.FromContext(ctx), "panic", p, "stack", string(debug.Stack()))
		return errors.New("panic")
	}
}
