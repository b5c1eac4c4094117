// Package tenancy owns tenants and memberships: creating a tenant with a
// valid unique slug, and joining users to tenants with a role. Authorisation
// of who may do so is not here (see the ent policies and internal/authz).
package tenancy

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/membership"
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
	return t, err
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
