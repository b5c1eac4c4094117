package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/ent/privacy"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/tenancy"
)

// Writes are confined by ent, not by callers' good manners: a tenant's user
// cannot touch another tenant's rows even by id, cannot write platform data,
// and a context without a caller writes nothing.
func TestWritesAreConfinedInEnt(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		sys := caller.With(context.Background(), caller.System("test"))
		a, err := tenancy.CreateTenant(sys, db.Ent, "Alpha", "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := tenancy.CreateTenant(sys, db.Ent, "Bravo", "")
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.Ent.User.Create().SetEmail("u@example.com").Save(sys)
		if err != nil {
			t.Fatal(err)
		}
		memB, err := tenancy.AddMember(sys, db.Ent, b.ID, u.ID, membership.RoleVIEWER)
		if err != nil {
			t.Fatal(err)
		}
		inA := caller.With(context.Background(), &caller.Caller{Kind: caller.KindUser, TenantID: a.ID, UserID: u.ID, Role: "OWNER"})

		// Update and delete by another tenant's id change nothing.
		if err := db.Ent.Membership.UpdateOneID(memB.ID).SetRole(membership.RoleOWNER).Exec(inA); !ent.IsNotFound(err) {
			t.Fatalf("cross-tenant update by id: %v", err)
		}
		if n, err := db.Ent.Membership.Delete().Where(membership.ID(memB.ID)).Exec(inA); err != nil || n != 0 {
			t.Fatalf("cross-tenant delete: %d, %v", n, err)
		}
		if got, _ := db.Ent.Membership.Get(sys, memB.ID); got == nil || got.Role != membership.RoleVIEWER {
			t.Fatalf("B's membership changed: %+v", got)
		}
		// Creating into another tenant is refused.
		if _, err := db.Ent.Membership.Create().SetTenantID(b.ID).SetUserID(u.ID).SetRole(membership.RoleOWNER).Save(inA); err == nil {
			t.Fatal("created a membership in another tenant")
		}
		// Platform data is written by the platform only.
		if _, err := db.Ent.Tenant.Create().SetName("Evil").SetSlug("evil").Save(inA); !errors.Is(err, privacy.Deny) {
			t.Fatalf("tenant user created a tenant: %v", err)
		}
		if err := db.Ent.User.UpdateOneID(u.ID).SetSuperadmin(true).Exec(inA); !errors.Is(err, privacy.Deny) {
			t.Fatalf("tenant user made itself superadmin: %v", err)
		}
		// No caller, no write.
		if _, err := db.Ent.Membership.Create().SetTenantID(a.ID).SetUserID(u.ID).SetRole(membership.RoleOWNER).Save(context.Background()); err == nil {
			t.Fatal("write without a caller succeeded")
		}
	})
}
