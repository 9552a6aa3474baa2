// Package apperr defines the kinds of errors domain code returns; the GraphQL error
// presenter turns each kind into its extensions.code.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the extensions.code a client sees.
type Code string

// The codes of conventions.md.
const (
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeForbidden       Code = "FORBIDDEN"
	CodeNotFound        Code = "NOT_FOUND"
	CodeBadUserInput    Code = "BAD_USER_INPUT"
	CodeConflict        Code = "CONFLICT"
	CodeInternal        Code = "INTERNAL"
)

// Error is a domain error whose message is safe to show to the client.
type Error struct {
	Code    Code
	Message string
	// Extensions are extra machine-readable details, e.g. the allowed states.
	Extensions map[string]any
}

func (e *Error) Error() string { return e.Message }

func newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated is returned when a request needs a logged-in user and has none.
func Unauthenticated() *Error {
	return newf(CodeUnauthenticated, "log in first: send 'Authorization: Bearer <token>' with a token from the login mutation")
}

// Forbidden is returned when the viewer lacks a permission.
func Forbidden(format string, args ...any) *Error { return newf(CodeForbidden, format, args...) }

// NotFound is returned for an object that does not exist or that the viewer may not see.
func NotFound(format string, args ...any) *Error { return newf(CodeNotFound, format, args...) }

// BadInput is returned for input that breaks a rule; the message says what is accepted.
func BadInput(format string, args ...any) *Error { return newf(CodeBadUserInput, format, args...) }

// Conflict is returned when the current state does not allow the action.
func Conflict(format string, args ...any) *Error { return newf(CodeConflict, format, args...) }

// WithExtension adds a detail to the error and returns it.
func (e *Error) WithExtension(key string, value any) *Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions[key] = value
	return e
}

// As returns the domain error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
