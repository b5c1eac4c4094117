// Package tenancy owns tenants and memberships: creating a tenant with a
// valid unique slug, and joining users to tenants with a role. Authorisation
// of who may do so is not here (see the ent policies and internal/authz).
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"github.com/vigilhq/vigil/internal/detect"
	"regexp"
	"strings"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/ent/user"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/pulid"
)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify derives a slug from a display name: "Acme Corp." → "acme-corp".
func Slugify(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// CreateTenant creates a tenant. An empty slug is derived from name.
func CreateTenant(ctx context.Context, c *ent.Client, name, slug string) (*ent.Tenant, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("tenant name is empty")
	}
	if slug == "" {
		slug = Slugify(name)
	}
	if slug == "" {
		return nil, fmt.Errorf("cannot derive a slug from %q; give one with letters or digits", name)
	}
	t, err := c.Tenant.Create().SetName(name).SetSlug(slug).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fmt.Errorf("a tenant with slug %q exists already", slug)
	}
	if ent.IsValidationError(err) {
		return nil, fmt.Errorf("invalid tenant: %w (a slug is lower-case letters, digits and inner dashes, at most 63)", err)
	}
	if err != nil {
		return nil, err
	}
	// Every new tenant starts with the default rule pack, enabled.
	if err := detect.SeedDefaults(ctx, c, t.ID); err != nil {
		return nil, err
	}
	return t, nil
}

// AddMember gives a user a role in a tenant.
func AddMember(ctx context.Context, c *ent.Client, tenantID, userID pulid.ID, role membership.Role) (*ent.Membership, error) {
	if err := membership.RoleValidator(role); err != nil {
		return nil, fmt.Errorf("role %q is not one of OWNER, ADMIN, ANALYST, VIEWER, AUDITOR, PARTNER", role)
	}
	m, err := c.Membership.Create().SetTenantID(tenantID).SetUserID(userID).SetRole(role).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fmt.Errorf("the user is a member of that tenant already")
	}
	return m, err
}

// Errors for membership changes; the API maps them to FORBIDDEN or
// BAD_USER_INPUT.
var (
	ErrOwnerOnly  = errors.New("only an OWNER may grant, change or remove the OWNER role")
	ErrLastOwner  = errors.New("a tenant keeps at least one OWNER")
	ErrNoSuchUser = errors.New("no user with that email; they must sign up first")
)

// AddMemberByEmail adds an existing user to tenantID. actorRole is the role
// of whoever asks.
func AddMemberByEmail(ctx context.Context, c *ent.Client, tenantID pulid.ID, actorRole string, email string, role membership.Role) (*ent.Membership, error) {
	if role == membership.RoleOWNER && actorRole != string(membership.RoleOWNER) {
		return nil, ErrOwnerOnly
	}
	email = strings.ToLower(strings.TrimSpace(email))
	// Users are platform-wide; finding one by email is a system lookup.
	u, err := c.User.Query().Where(user.Email(email)).Only(caller.With(ctx, caller.System("tenancy")))
	if ent.IsNotFound(err) {
		return nil, ErrNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	return AddMember(ctx, c, tenantID, u.ID, role)
}

// AssignRole changes a member's role.
func AssignRole(ctx context.Context, c *ent.Client, tenantID pulid.ID, actorRole string, userID pulid.ID, role membership.Role) (*ent.Membership, error) {
	if err := membership.RoleValidator(role); err != nil {
		return nil, fmt.Errorf("role %q is not one of OWNER, ADMIN, ANALYST, VIEWER, AUDITOR, PARTNER", role)
	}
	m, err := c.Membership.Query().Where(membership.TenantID(tenantID), membership.UserID(userID)).Only(ctx)
	if err != nil {
		return nil, err
	}
	if (role == membership.RoleOWNER || m.Role == membership.RoleOWNER) && actorRole != string(membership.RoleOWNER) {
		return nil, ErrOwnerOnly
	}
	if m.Role == membership.RoleOWNER && role != membership.RoleOWNER {
		if err := keepAnOwner(ctx, c, tenantID); err != nil {
			return nil, err
		}
	}
	return c.Membership.UpdateOne(m).SetRole(role).Save(ctx)
}

// RemoveMember removes a user from a tenant.
func RemoveMember(ctx context.Context, c *ent.Client, tenantID pulid.ID, actorRole string, userID pulid.ID) error {
	m, err := c.Membership.Query().Where(membership.TenantID(tenantID), membership.UserID(userID)).Only(ctx)
	if err != nil {
		return err
	}
	if m.Role == membership.RoleOWNER {
		if actorRole != string(membership.RoleOWNER) {
			return ErrOwnerOnly
		}
		if err := keepAnOwner(ctx, c, tenantID); err != nil {
			return err
		}
	}
	return c.Membership.DeleteOne(m).Exec(ctx)
}

func keepAnOwner(ctx context.Context, c *ent.Client, tenantID pulid.ID) error {
	n, err := c.Membership.Query().Where(membership.TenantID(tenantID), membership.RoleEQ(membership.RoleOWNER)).Count(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastOwner
	}
	return nil
}
