// Package caller owns the one typed identity that every request and job carries
// in its context: who is acting, for which tenant, and with which explicit
// capabilities. The ent interceptors, hooks and privacy rules read it; nothing
// else decides tenancy. It does not authenticate anyone: that is internal/auth.
package caller

import (
	"context"
	"errors"

	"github.com/vigilhq/vigil/internal/pulid"
)

// Kind says what sort of principal a caller is.
type Kind int

// The kinds of caller.
const (
	KindAnonymous Kind = iota
	KindUser
	KindAPIKey
	KindPartner
	KindSystem
)

func (k Kind) String() string {
	switch k {
	case KindUser:
		return "user"
	case KindAPIKey:
		return "api_key"
	case KindPartner:
		return "partner"
	case KindSystem:
		return "system"
	default:
		return "anonymous"
	}
}

// Capability is a bit set of explicit powers beyond the caller's own tenant.
// Bypasses are capabilities, never loose booleans, so every use can be found.
type Capability uint64

const (
	// CapAllTenants lets reads and writes cross tenants (platform jobs,
	// super-admin tooling). Every grant of it must be deliberate.
	CapAllTenants Capability = 1 << iota
)

// Caller is the acting principal.
type Caller struct {
	Kind     Kind
	Name     string   // a job name, an API key name, or a user's email, for logs
	UserID   pulid.ID // set for KindUser
	TenantID pulid.ID // the tenant acted for; empty for platform-wide callers
	Role     string   // the caller's role in TenantID, if any
	Caps     Capability

	SessionID pulid.ID // the sign-in session of a user caller
	APIKeyID  pulid.ID // the key of an API-key or partner caller
	// Scopes narrow an API key's role; nil for users.
	Scopes []string
	// Superadmin marks a platform operator; it grants nothing by itself.
	Superadmin bool
}

// HasScope reports whether an API-key caller was given scope; user callers
// are not narrowed by scopes.
func (c *Caller) HasScope(scope string) bool {
	if c == nil {
		return false
	}
	if c.Kind != KindAPIKey && c.Kind != KindPartner {
		return true
	}
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Has reports whether c holds every capability in want.
func (c *Caller) Has(want Capability) bool { return c != nil && c.Caps&want == want }

// System returns a caller for platform work (migrations, CLI administration,
// periodic jobs) that may act in every tenant.
func System(name string) *Caller {
	return &Caller{Kind: KindSystem, Name: name, Caps: CapAllTenants}
}

// ForTenant returns a system caller confined to one tenant, for jobs that act
// on behalf of a tenant.
func ForTenant(name string, tenantID pulid.ID) *Caller {
	return &Caller{Kind: KindSystem, Name: name, TenantID: tenantID}
}

type ctxKey struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// From returns the caller in ctx, or nil.
func From(ctx context.Context) *Caller {
	c, _ := ctx.Value(ctxKey{}).(*Caller)
	return c
}

// Errors callers of this package branch on.
var (
	ErrNoCaller = errors.New("no caller in context")
	ErrNoTenant = errors.New("caller acts for no tenant")
)

// TenantScope returns the tenant that ctx's caller is confined to. all is true
// when the caller may act in every tenant.
func TenantScope(ctx context.Context) (tenantID pulid.ID, all bool, err error) {
	c := From(ctx)
	switch {
	case c == nil:
		return "", false, ErrNoCaller
	case c.Has(CapAllTenants):
		return c.TenantID, true, nil
	case c.TenantID == "":
		return "", false, ErrNoTenant
	default:
		return c.TenantID, false, nil
	}
}
