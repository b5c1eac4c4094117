package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error is an authentication failure with the GraphQL code it maps to.
type Error struct {
	Code       string
	Msg        string
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.cause }

// GraphQLCode implements the graph package's coded-error contract.
func (e *Error) GraphQLCode() string { return e.Code }

// GraphQLExtensions adds retryAfter (whole seconds) to RATE_LIMITED errors.
func (e *Error) GraphQLExtensions() map[string]any {
	if e.RetryAfter <= 0 {
		return nil
	}
	return map[string]any{"retryAfter": int((e.RetryAfter + time.Second - 1) / time.Second)}
}

var (
	// ErrBadCredentials is the one message for every failed sign-in.
	ErrBadCredentials = &Error{Code: "UNAUTHENTICATED", Msg: "invalid email or password"}
	// ErrSessionEnded covers revoked, expired and reused refresh tokens.
	ErrSessionEnded = &Error{Code: "UNAUTHENTICATED", Msg: "the session has ended; sign in again"}
	// ErrUnauthenticated is an access token or API key that is not valid now.
	ErrUnauthenticated = &Error{Code: "UNAUTHENTICATED", Msg: "invalid or expired credentials"}
	// ErrSignUpDisabled is returned when public sign-up is off.
	ErrSignUpDisabled = &Error{Code: "FORBIDDEN", Msg: "sign-up is disabled on this server"}
	// ErrCSRF is a cookie-authenticated request without the CSRF token.
	ErrCSRF = &Error{Code: "FORBIDDEN", Msg: "missing or wrong CSRF token (send the vigil_csrf cookie's value in X-CSRF-Token)"}
)

func badInput(format string, args ...any) error {
	return &Error{Code: "BAD_USER_INPUT", Msg: fmt.Sprintf(format, args...)}
}

func rateLimited(after time.Duration) error {
	return &Error{Code: "RATE_LIMITED", Msg: "too many failed sign-ins; try again later", RetryAfter: after}
}

func unauthenticated(cause error) error {
	return &Error{Code: ErrUnauthenticated.Code, Msg: ErrUnauthenticated.Msg, cause: cause}
}

// IsAuthError reports whether err is one of this package's errors.
func IsAuthError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

type clientKey struct{}

// WithClient returns ctx carrying where the request comes from.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the request's client description.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}
