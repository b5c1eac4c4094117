package database_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/tenant"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
)

// The versioned migrations must build exactly the schema ent expects: if
// someone changes schema/ without `make migration`, this fails on both
// databases with the statements that are missing.
func TestMigrationsMatchSchema(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		var buf bytes.Buffer
		if err := db.Ent.Schema.WriteTo(context.Background(), &buf); err != nil {
			t.Fatalf("diff schema: %v", err)
		}
		if pending := stripTxLines(buf.String()); pending != "" {
			t.Fatalf("ent schema differs from the migrations; run `make migration name=…`. Missing:\n%s", pending)
		}
	})
}

func TestMigrationStatusListsRiverAndVigil(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		st, err := db.MigrationStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, s := range st {
			if !s.Applied {
				t.Errorf("%s migration %d %s not applied", s.Component, s.Version, s.Name)
			}
			seen[s.Component]++
		}
		if seen["river"] == 0 || seen["vigil"] == 0 {
			t.Fatalf("status lists river=%d vigil=%d migrations, want both", seen["river"], seen["vigil"])
		}
		if n, err := db.PendingMigrations(context.Background()); err != nil || n != 0 {
			t.Fatalf("PendingMigrations = %d, %v; want 0", n, err)
		}
	})
}

// Upgrading a database that already holds data applies only what is missing
// and keeps every row.
func TestMigrateUpgradesWithoutLosingData(t *testing.T) {
	t.Parallel()
	ctx := caller.With(context.Background(), caller.System("test"))
	path := filepath.Join(t.TempDir(), "vigil.db")

	db, err := database.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Start from an older state: River only partly migrated, Vigil not at all.
	pendingBefore, err := db.PendingMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	created, err := db.Ent.Tenant.Create().SetName("Acme").SetSlug("acme").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = database.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", applied)
	}
	got, err := db.Ent.Tenant.Query().Where(tenant.Slug("acme")).Only(ctx)
	if err != nil {
		t.Fatalf("tenant lost across upgrade: %v", err)
	}
	if got.ID != created.ID || pendingBefore == 0 {
		t.Fatalf("got %v (pending before %d)", got.ID, pendingBefore)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := caller.With(context.Background(), caller.System("test"))
		boom := context.Canceled
		err := db.WithTx(ctx, func(tx *ent.Tx) error {
			if _, err := tx.Tenant.Create().SetName("Gone").SetSlug("gone").Save(ctx); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("WithTx = %v, want the callback's error", err)
		}
		if n, _ := db.Ent.Tenant.Query().Count(ctx); n != 0 {
			t.Fatalf("rolled-back tenant is visible (%d rows)", n)
		}
	})
}

func stripTxLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		switch strings.TrimSpace(l) {
		case "", "BEGIN;", "COMMIT;":
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// Replicas that start together on one fresh PostgreSQL database all migrate
// without error, and the schema is applied once.
func TestConcurrentMigrateOnPostgres(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyPostgresURL(t)
	ctx := context.Background()
	const replicas = 4
	errs := make(chan error, replicas)
	applied := make(chan int, replicas)
	for range replicas {
		go func() {
			db, err := database.Open(ctx, database.Options{URL: url, MaxConns: 4})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			a, err := db.Migrate(ctx, nil)
			applied <- len(a)
			errs <- err
		}()
	}
	total := 0
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	for range replicas {
		total += <-applied
	}
	db, err := database.Open(ctx, database.Options{URL: url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(st) {
		t.Fatalf("replicas applied %d migrations in all, want each of the %d exactly once", total, len(st))
	}
}
