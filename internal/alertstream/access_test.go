package alertstream

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/dbtest"
)

// Only changes that can take rights away make subscribers re-check; a key's
// last_used_at (written every minute it is used) or a session refresh do not.
func TestOnlyRevocationsWakeRechecks(t *testing.T) {
	t.Parallel()
	c := dbtest.SQLite(t).Ent
	now := time.Now()
	for _, tc := range []struct {
		name string
		m    ent.Mutation
		want bool
	}{
		{"key used", c.APIKey.UpdateOneID("key_x").SetLastUsedAt(now).Mutation(), false},
		{"key revoked", c.APIKey.UpdateOneID("key_x").SetRevokedAt(now).Mutation(), true},
		{"key narrowed", c.APIKey.UpdateOneID("key_x").SetScopes([]string{"events:write"}).Mutation(), true},
		{"key created", c.APIKey.Create().SetName("k").Mutation(), false},
		{"session refreshed", c.Session.UpdateOneID("ses_x").SetExpiresAt(now).Mutation(), false},
		{"session revoked", c.Session.UpdateOneID("ses_x").SetRevokedAt(now).Mutation(), true},
		{"role changed", c.Membership.UpdateOneID("mem_x").SetRole("VIEWER").Mutation(), true},
		{"user disabled", c.User.UpdateOneID("usr_x").SetDisabled(true).Mutation(), true},
		{"user renamed", c.User.UpdateOneID("usr_x").SetDisplayName("x").Mutation(), false},
	} {
		if got := revokes(tc.m); got != tc.want {
			t.Errorf("%s: revokes = %v, want %v", tc.name, got, tc.want)
		}
	}
}
