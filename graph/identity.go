package graph

import (
	"context"
	"errors"

	"github.com/vigilhq/vigil/graph/model"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/tenancy"
)

// payload answers a sign-in; with cookie, the session is also set as
// browser cookies.
func (r *Resolver) payload(ctx context.Context, t *auth.Tokens, cookie bool) *model.AuthPayload {
	if cookie {
		auth.SetSessionCookies(ctx, t, r.Auth.RefreshTTL())
	}
	return &model.AuthPayload{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.ExpiresAt, User: t.User, Tenant: t.Tenant}
}

func membershipError(err error) error {
	switch {
	case errors.Is(err, tenancy.ErrOwnerOnly), errors.Is(err, tenancy.ErrLastOwner):
		return forbidden("%v", err)
	case errors.Is(err, tenancy.ErrNoSuchUser):
		return badInput("%v", err)
	}
	return err
}
