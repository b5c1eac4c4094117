package authz_test

import (
	"context"
	"testing"

	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/pulid"
)

type check struct {
	role string
	p    authz.Permission
}

// checks are every role × permission, allowed or not.
func checks() []check {
	var cs []check
	for _, row := range authz.Matrix {
		for _, role := range authz.Roles {
			cs = append(cs, check{role, row.Permission})
		}
	}
	return cs
}

// BenchmarkCan measures a permission check against the seeded policies:
// Can (memoised), casbin's Enforce alone, and a plain map lookup as the
// floor. Run:
//
//	go test ./internal/authz -run '^$' -bench Can -benchmem
func BenchmarkCan(b *testing.B) {
	az, err := authz.New(context.Background(), dbtest.SQLite(b), authz.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tenant := pulid.New("tnt")
	cs := checks()

	b.Run("Can", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c := cs[i%len(cs)]
			az.Can(c.role, tenant, c.p)
			i++
		}
	})
	b.Run("Enforce", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c := cs[i%len(cs)]
			authz.Enforce(az, c.role, string(tenant), c.p)
			i++
		}
	})
	b.Run("Can-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c := cs[i%len(cs)]
				az.Can(c.role, tenant, c.p)
				i++
			}
		})
	})
	b.Run("map", func(b *testing.B) {
		allowed := map[check]bool{}
		for _, row := range authz.Matrix {
			for _, role := range row.Roles {
				allowed[check{role, row.Permission}] = true
			}
		}
		i := 0
		for b.Loop() {
			_ = allowed[cs[i%len(cs)]]
			i++
		}
	})
}
