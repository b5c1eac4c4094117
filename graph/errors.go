package graph

import (
	"context"
	"errors"
	"fmt"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/ingest"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/privacy"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/schema"
)

// Error codes of API.md; every GraphQL error carries one in extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeConflict        = "CONFLICT"
	CodeRateLimited     = "RATE_LIMITED"
	CodeQuotaExceeded   = "QUOTA_EXCEEDED"
	CodeValidation      = "GRAPHQL_VALIDATION_FAILED"
	CodeParse           = "GRAPHQL_PARSE_FAILED"
	CodeInternal        = "INTERNAL"
)

// ErrorPresenter returns gqlgen's error presenter: it maps every error to a
// stable code and, for anything unexpected, hides the detail behind INTERNAL
// with the request id (unless detail is on, in --dev mode), logging the real
// error under that id. It never adds a stack trace.
func ErrorPresenter(detail bool, log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if code, ok := gqlErr.Extensions["code"].(string); ok && code != "" {
			return normalizeCode(gqlErr)
		}
		code, msg := classify(err)
		if code == CodeInternal {
			id := observe.RequestID(ctx)
			log.ErrorContext(ctx, "internal error in GraphQL", "error", err.Error(), "path", gqlErr.Path.String())
			if detail {
				msg = fmt.Sprintf("internal error (request id %s): %v", id, err)
			} else {
				msg = fmt.Sprintf("internal error (request id %s)", id)
			}
			gqlErr.Extensions = map[string]any{"code": CodeInternal, "requestId": id}
			gqlErr.Message = msg
			return gqlErr
		}
		gqlErr.Message = msg
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = map[string]any{}
		}
		gqlErr.Extensions["code"] = code
		var extra interface{ GraphQLExtensions() map[string]any }
		if errors.As(err, &extra) {
			for k, v := range extra.GraphQLExtensions() {
				gqlErr.Extensions[k] = v
			}
		}
		return gqlErr
	}
}

// normalizeCode maps gqlgen's own codes to API.md's.
func normalizeCode(e *gqlerror.Error) *gqlerror.Error {
	switch e.Extensions["code"] {
	case "COMPLEXITY_LIMIT_EXCEEDED":
		e.Extensions["code"] = CodeValidation
	case "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED":
	}
	return e
}

// classify maps domain and ent errors to a code and a message fit for users.
func classify(err error) (code, msg string) {
	var (
		notFound   *ent.NotFoundError
		notSingle  *ent.NotSingularError
		validation *ent.ValidationError
		constraint *ent.ConstraintError
	)
	switch {
	case errors.Is(err, caller.ErrNoCaller):
		return CodeUnauthenticated, "sign in first"
	case errors.Is(err, caller.ErrNoTenant), errors.Is(err, schema.ErrOtherTenant), errors.Is(err, privacy.Deny):
		return CodeForbidden, "not allowed"
	case errors.As(err, &notFound), errors.As(err, &notSingle):
		return CodeNotFound, "not found"
	case errors.As(err, &validation):
		return CodeBadUserInput, validation.Error()
	case errors.As(err, &constraint):
		return CodeConflict, "conflicts with an existing record"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return CodeInternal, "request cancelled"
	case errors.Is(err, detect.ErrInvalidRule), errors.Is(err, alerting.ErrInvalidTransition),
		errors.Is(err, alerting.ErrNotMember), errors.Is(err, alerting.ErrEmptyComment),
		errors.Is(err, ingest.ErrTooManyEvents):
		return CodeBadUserInput, err.Error()
	case errors.Is(err, ingest.ErrIdempotencyConflict):
		return CodeConflict, err.Error()
	}
	var coded interface {
		error
		GraphQLCode() string
	}
	if errors.As(err, &coded) {
		return coded.GraphQLCode(), coded.Error()
	}
	return CodeInternal, ""
}

// RecoverFunc turns a resolver panic into an INTERNAL error with the request
// id, after reporting it (Sentry, logs) through report.
func RecoverFunc(report func(ctx context.Context, v any)) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		report(ctx, v)
		id := observe.RequestID(ctx)
		return &gqlerror.Error{
			Message:    fmt.Sprintf("internal error (request id %s)", id),
			Extensions: map[string]any{"code": CodeInternal, "requestId": id},
		}
	}
}
