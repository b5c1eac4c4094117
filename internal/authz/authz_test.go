package authz_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/vigilhq/vigil/ent/casbinrule"
	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/pulid"
)

type testBundle struct {
	ctx    context.Context
	db     *database.DB
	az     *authz.Authz
	tenant pulid.ID
}

func setup(t *testing.T, db *database.DB) *testBundle {
	t.Helper()
	ctx := context.Background()
	az, err := authz.New(ctx, db, authz.Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testBundle{ctx: ctx, db: db, az: az, tenant: pulid.New("tnt")}
}

// systemCtx may read the policy table directly.
func systemCtx() context.Context {
	return caller.With(context.Background(), caller.System("test"))
}

// Every role × permission of the matrix, enforced from the database.
func TestMatrixIsEnforced(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		for _, row := range authz.Matrix {
			for _, role := range authz.Roles {
				want := slices.Contains(row.Roles, role)
				if got := b.az.Can(role, b.tenant, row.Permission); got != want {
					t.Errorf("Can(%s, %s) = %v, want %v", role, row.Permission, got, want)
				}
			}
		}
		for _, role := range authz.Roles {
			want := slices.Clone(authz.RolePermissions(role))
			slices.SortFunc(want, func(x, y authz.Permission) int { return strings.Compare(x.String(), y.String()) })
			if got := b.az.Permissions(role, b.tenant); !slices.Equal(got, want) {
				t.Errorf("Permissions(%s) = %v, want %v", role, got, want)
			}
		}
	})
}

// perm parses "resource:action", so hand-written checks need no constants.
func perm(s string) authz.Permission {
	r, a, _ := strings.Cut(s, ":")
	return authz.Permission{Resource: r, Action: a}
}

// Spot checks written by hand, so that they cannot drift with the matrix.
func TestSpotChecks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		for _, c := range []struct {
			role string
			p    authz.Permission
			want bool
		}{
			{"PARTNER", perm("alert:read"), false},
			{"PARTNER", perm("event:write"), true},
			{"AUDITOR", perm("alert:triage"), false},
			{"AUDITOR", perm("audit:read"), true},
			{"ADMIN", perm("billing:manage"), false},
			{"ADMIN", perm("billing:read"), true},
			{"OWNER", perm("billing:manage"), true},
			{"VIEWER", perm("alert:triage"), false},
			{"ANALYST", perm("alert:triage"), true},
			{"ANALYST", perm("member:add"), false},
			{"SUPERADMIN", perm("tenant:read"), false},
			{"OWNER", perm("nuclear:launch"), false},
		} {
			if got := b.az.Can(c.role, b.tenant, c.p); got != c.want {
				t.Errorf("Can(%s, %s) = %v, want %v", c.role, c.p, got, c.want)
			}
		}
		// Roles exist only in a tenant.
		if b.az.Can("OWNER", "", authz.TenantRead) || b.az.Can("OWNER", "*", authz.TenantRead) || b.az.Can("", b.tenant, authz.TenantRead) {
			t.Error("a check without a tenant or a role was allowed")
		}
	})
}

func TestTenantGrantAppliesToThatTenantOnly(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		other := pulid.New("tnt")
		// The caller's own context may carry any caller: the adapter acts as the system.
		ctx := caller.With(b.ctx, &caller.Caller{Kind: caller.KindUser, TenantID: b.tenant, Role: "OWNER"})
		if err := b.az.Grant(ctx, "VIEWER", string(b.tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		if !b.az.Can("VIEWER", b.tenant, authz.AlertTriage) {
			t.Error("the grant does not apply to its tenant")
		}
		if b.az.Can("VIEWER", other, authz.AlertTriage) {
			t.Error("the grant leaks to another tenant")
		}
		if b.az.Can("ANALYST", b.tenant, authz.MemberAdd) || b.az.Can("AUDITOR", b.tenant, authz.AlertTriage) {
			t.Error("the grant leaks to another role")
		}
		if !slices.Contains(b.az.Permissions("VIEWER", b.tenant), authz.AlertTriage) ||
			slices.Contains(b.az.Permissions("VIEWER", other), authz.AlertTriage) {
			t.Error("Permissions disagree with Can")
		}
		// Granting again is not an error, and stores nothing new.
		before := countLines(t, db)
		if err := b.az.Grant(ctx, "VIEWER", string(b.tenant), authz.AlertTriage); err != nil {
			t.Fatalf("granting twice: %v", err)
		}
		if after := countLines(t, db); after != before {
			t.Errorf("granting twice stored %d lines, want %d", after, before)
		}

		if err := b.az.Revoke(ctx, "VIEWER", string(b.tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		if b.az.Can("VIEWER", b.tenant, authz.AlertTriage) {
			t.Error("revoked grant still applies")
		}
		if err := b.az.Revoke(ctx, "VIEWER", string(b.tenant), authz.AlertTriage); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		// A tenant line does not take away a default.
		if err := b.az.Revoke(ctx, "VIEWER", string(b.tenant), authz.AlertRead); err != nil {
			t.Fatal(err)
		}
		if !b.az.Can("VIEWER", b.tenant, authz.AlertRead) {
			t.Error("revoking a tenant line removed the default")
		}
	})
}

func TestRevokeDefaultAppliesEverywhereAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		if err := b.az.Revoke(b.ctx, "VIEWER", authz.AllTenants, authz.ReportRead); err != nil {
			t.Fatal(err)
		}
		if b.az.Can("VIEWER", b.tenant, authz.ReportRead) || b.az.Can("VIEWER", pulid.New("tnt"), authz.ReportRead) {
			t.Error("revoked default still applies")
		}
		again, err := authz.New(b.ctx, db, authz.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if again.Can("VIEWER", b.tenant, authz.ReportRead) {
			t.Error("a restart seeded the revoked default again")
		}
	})
}

func TestGrantRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	for _, c := range []struct {
		role, tenant string
		p            authz.Permission
		want         error
	}{
		{"SUPERADMIN", "*", authz.TenantRead, authz.ErrUnknownRole},
		{"viewer", "*", authz.TenantRead, authz.ErrUnknownRole},
		{"VIEWER", "*", perm("tenant:delete"), authz.ErrUnknownPermission},
		{"VIEWER", "", authz.TenantRead, authz.ErrInvalidTenant},
		{"VIEWER", "acme", authz.TenantRead, authz.ErrInvalidTenant},
		{"VIEWER", string(pulid.New("usr")), authz.TenantRead, authz.ErrInvalidTenant},
	} {
		if err := b.az.Grant(b.ctx, c.role, c.tenant, c.p); !errors.Is(err, c.want) {
			t.Errorf("Grant(%q, %q, %s) = %v, want %v", c.role, c.tenant, c.p, err, c.want)
		}
		if err := b.az.Revoke(b.ctx, c.role, c.tenant, c.p); !errors.Is(err, c.want) {
			t.Errorf("Revoke(%q, %q, %s) = %v, want %v", c.role, c.tenant, c.p, err, c.want)
		}
	}
}

// Replicas that start together seed the defaults once between them.
func TestSeedingTwiceKeepsOneCopy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		if _, err := authz.New(ctx, db, authz.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := authz.New(ctx, db, authz.Options{}); err != nil {
			t.Fatal(err)
		}
		assertDefaultsOnce(t, db)
	})
	t.Run("concurrent/sqlite", func(t *testing.T) {
		t.Parallel()
		db := dbtest.SQLite(t)
		second, err := database.OpenSQLite(context.Background(), db.Path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = second.Close() })
		startTogether(t, db, second)
		assertDefaultsOnce(t, db)
	})
	t.Run("concurrent/postgres", func(t *testing.T) {
		t.Parallel()
		url := dbtest.PostgresURL(t)
		first, second := openPostgres(t, url), openPostgres(t, url)
		startTogether(t, first, second)
		assertDefaultsOnce(t, first)
	})
}

func startTogether(t *testing.T, dbs ...*database.DB) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Go(func() {
			<-start
			_, errs[i] = authz.New(context.Background(), db, authz.Options{})
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func assertDefaultsOnce(t *testing.T, db *database.DB) {
	t.Helper()
	rows, err := db.Ent.CasbinRule.Query().All(systemCtx())
	if err != nil {
		t.Fatal(err)
	}
	count := map[[5]string]int{}
	for _, r := range rows {
		count[[5]string{r.Ptype, r.V0, r.V1, r.V2, r.V3}]++
	}
	want := authz.DefaultPolicies()
	if len(rows) != len(want) {
		t.Errorf("the table holds %d lines, want %d", len(rows), len(want))
	}
	for _, l := range want {
		if n := count[[5]string{"p", l[0], l[1], l[2], l[3]}]; n != 1 {
			t.Errorf("%v stored %d times", l, n)
		}
	}
}

func countLines(t *testing.T, db *database.DB) int {
	t.Helper()
	n, err := db.Ent.CasbinRule.Query().Count(systemCtx())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func openPostgres(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{URL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// replica is an Authz running Watch, with a signal after each reload.
type replica struct {
	az       *authz.Authz
	reloaded chan struct{}
}

func watching(t *testing.T, db *database.DB, poll time.Duration) *replica {
	t.Helper()
	az, err := authz.New(context.Background(), db, authz.Options{PollInterval: poll})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{az: az, reloaded: make(chan struct{}, 1)}
	authz.SetReloadHook(az, func() {
		select {
		case r.reloaded <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		az.Watch(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// waitUntil waits, reload by reload, until cond holds.
func (r *replica) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-r.reloaded:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// waitReload waits for the next reload.
func (r *replica) waitReload(t *testing.T, what string) {
	t.Helper()
	select {
	case <-r.reloaded:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func (r *replica) drain() {
	for {
		select {
		case <-r.reloaded:
		default:
			return
		}
	}
}

// A grant on one replica reaches another without a restart: by
// notification on PostgreSQL, by the poll on SQLite.
func TestGrantReachesOtherReplica(t *testing.T) {
	t.Parallel()
	tenant := pulid.New("tnt")
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := dbtest.SQLite(t)
		a, err := authz.New(context.Background(), db, authz.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b := watching(t, db, 10*time.Millisecond)
		if err := a.Grant(context.Background(), "VIEWER", string(tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		b.waitUntil(t, "B sees the grant", func() bool { return b.az.Can("VIEWER", tenant, authz.AlertTriage) })
		if err := a.Revoke(context.Background(), "VIEWER", string(tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		b.waitUntil(t, "B sees the revocation", func() bool { return !b.az.Can("VIEWER", tenant, authz.AlertTriage) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := dbtest.PostgresURL(t)
		dbA, dbB := openPostgres(t, url), openPostgres(t, url)
		a, err := authz.New(context.Background(), dbA, authz.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// No poll: only notifications can bring the change.
		b := watching(t, dbB, time.Hour)
		b.waitReload(t, "B to listen (it reloads once when LISTEN succeeds)")

		if err := a.Grant(context.Background(), "VIEWER", string(tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		b.waitUntil(t, "B sees the grant", func() bool { return b.az.Can("VIEWER", tenant, authz.AlertTriage) })

		// Drop B's listening connection: it listens again and catches up.
		b.drain()
		var killed int
		err = dbA.SQL.QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN "`+authz.Channel+`"'`).Scan(&killed)
		if err != nil || killed != 1 {
			t.Fatalf("terminate B's listener: killed %d, %v", killed, err)
		}
		b.waitReload(t, "B to listen again")
		if err := a.Revoke(context.Background(), "VIEWER", string(tenant), authz.AlertTriage); err != nil {
			t.Fatal(err)
		}
		b.waitUntil(t, "B sees the revocation", func() bool { return !b.az.Can("VIEWER", tenant, authz.AlertTriage) })
	})
}

// A policy written by another process that does not notify (the CLI, SQL
// by hand) is picked up by the poll.
func TestWatchPollsForOutsideEdits(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		tenant := pulid.New("tnt")
		r := watching(t, db, 10*time.Millisecond)
		err := db.Ent.CasbinRule.Create().SetPtype("p").
			SetV0("role:PARTNER").SetV1(string(tenant)).SetV2("alert").SetV3("read").
			Exec(systemCtx())
		if err != nil {
			t.Fatal(err)
		}
		r.waitUntil(t, "the outside edit is seen", func() bool { return r.az.Can("PARTNER", tenant, authz.AlertRead) })

		n, err := db.Ent.CasbinRule.Delete().Where(casbinrule.V1(string(tenant))).Exec(systemCtx())
		if err != nil || n != 1 {
			t.Fatalf("delete: %d, %v", n, err)
		}
		r.waitUntil(t, "the outside delete is seen", func() bool { return !r.az.Can("PARTNER", tenant, authz.AlertRead) })
	})
}

// The adapter serves a plain casbin enforcer too: batch writes, updates,
// filtered removal and save, each persisted.
func TestAdapterRoundTrip(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ad := authz.NewAdapter(db.Ent)
		newEnforcer := func() *casbin.Enforcer {
			m, err := model.NewModelFromString(authz.Model)
			if err != nil {
				t.Fatal(err)
			}
			e, err := casbin.NewEnforcer(m, ad)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		stored := func() [][]string {
			p, err := newEnforcer().GetPolicy()
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(p, func(x, y []string) int { return slices.Compare(x, y) })
			return p
		}
		e := newEnforcer()
		if _, err := e.AddPolicies([][]string{
			{"role:VIEWER", "tnt_a", "alert", "read"},
			{"role:VIEWER", "tnt_a", "rule", "read"},
			{"role:VIEWER", "tnt_b", "rule", "read"},
		}); err != nil {
			t.Fatal(err)
		}
		// Adding an existing line straight through the adapter is no error.
		if err := ad.AddPolicy("p", "p", []string{"role:VIEWER", "tnt_a", "alert", "read"}); err != nil {
			t.Fatalf("adding an existing line: %v", err)
		}
		if _, err := e.AddGroupingPolicy("role:LEAD", "role:VIEWER", "tnt_a"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.UpdatePolicy([]string{"role:VIEWER", "tnt_a", "alert", "read"}, []string{"role:VIEWER", "tnt_a", "alert", "triage"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RemoveFilteredPolicy(1, "tnt_b"); err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"role:VIEWER", "tnt_a", "alert", "triage"},
			{"role:VIEWER", "tnt_a", "rule", "read"},
		}
		if got := stored(); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stored %v, want %v", got, want)
		}
		if ok, _ := newEnforcer().Enforce("role:LEAD", "tnt_a", "rule", "read"); !ok {
			t.Error("the stored grouping line does not apply")
		}
		if _, err := e.RemovePolicies(want[:1]); err != nil {
			t.Fatal(err)
		}
		if err := e.SavePolicy(); err != nil {
			t.Fatal(err)
		}
		if got := stored(); !slices.EqualFunc(got, want[1:], slices.Equal) {
			t.Fatalf("after save: %v, want %v", got, want[1:])
		}
	})
}

// The fingerprint of the loaded lines (computed in Go) and of the table
// (computed by the database) agree, or every poll would reload.
func TestFingerprintMatchesLoadedPolicy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		if stale, err := authz.Stale(b.ctx, b.az); err != nil || stale {
			t.Fatalf("Stale after New = %v, %v; want false", stale, err)
		}
		if err := db.Ent.CasbinRule.Create().SetPtype("p").SetV0("role:VIEWER").SetV1(string(b.tenant)).
			SetV2("job").SetV3("read").Exec(systemCtx()); err != nil {
			t.Fatal(err)
		}
		if stale, err := authz.Stale(b.ctx, b.az); err != nil || !stale {
			t.Fatalf("Stale after an outside insert = %v, %v; want true", stale, err)
		}
		if err := b.az.Reload(b.ctx); err != nil {
			t.Fatal(err)
		}
		if stale, err := authz.Stale(b.ctx, b.az); err != nil || stale {
			t.Fatalf("Stale after Reload = %v, %v; want false", stale, err)
		}
	})
}

// Can memoises casbin's answers; they must stay casbin's, for tenants with
// lines of their own and without, across reloads.
func TestCanAgreesWithCasbin(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		own, plain := b.tenant, pulid.New("tnt")
		compareAll := func(when string) {
			t.Helper()
			for range 2 { // the second round answers from the memo
				for _, row := range authz.Matrix {
					for _, role := range append(slices.Clone(authz.Roles), "NOBODY") {
						for _, tenant := range []pulid.ID{own, plain} {
							want := authz.Enforce(b.az, role, string(tenant), row.Permission)
							if got := b.az.Can(role, tenant, row.Permission); got != want {
								t.Fatalf("%s: Can(%s, %s, %s) = %v, casbin says %v", when, role, tenant, row.Permission, got, want)
							}
						}
					}
				}
			}
		}
		compareAll("defaults")
		if err := b.az.Grant(b.ctx, "PARTNER", string(own), authz.AlertRead); err != nil {
			t.Fatal(err)
		}
		compareAll("after a tenant grant")
		if err := b.az.Revoke(b.ctx, "VIEWER", authz.AllTenants, authz.RuleRead); err != nil {
			t.Fatal(err)
		}
		compareAll("after a default revoked")
	})
}

// Checks running while policies change never keep an answer of a policy
// that is gone.
func TestCanDuringReloads(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	ctx, cancel := context.WithCancel(b.ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				b.az.Can("VIEWER", b.tenant, authz.AlertTriage)
				b.az.Can("VIEWER", pulid.New("tnt"), authz.AlertTriage)
			}
		})
	}
	for i := range 20 {
		var err error
		if i%2 == 0 {
			err = b.az.Grant(b.ctx, "VIEWER", string(b.tenant), authz.AlertTriage)
		} else {
			err = b.az.Revoke(b.ctx, "VIEWER", string(b.tenant), authz.AlertTriage)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := b.az.Can("VIEWER", b.tenant, authz.AlertTriage), i%2 == 0; got != want {
			t.Fatalf("after change %d: Can = %v, want %v", i, got, want)
		}
	}
	cancel()
	wg.Wait()
}
