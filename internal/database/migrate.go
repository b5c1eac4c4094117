package database

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Migrations holds Vigil's versioned schema migrations, one directory per
// dialect, in goose's format. They are generated from the ent schema by
// `make migration name=…` (see internal/database/migrategen) and never edited
// once released: a change is a new file.
//
//go:embed migrations
var Migrations embed.FS

// MigrationsTable records which of Vigil's migrations a database has.
const MigrationsTable = "vigil_schema_migrations"

// migrationLockID serialises migrations of replicas that start together.
const migrationLockID = 0x5669_6769_6c4d // "VigilM"

// MigrationStatus is one migration of one component and whether it is applied.
type MigrationStatus struct {
	Component string // "river" or "vigil"
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when unknown or not applied
}

// Migrate applies every pending migration: River's own tables first, then
// Vigil's. It is safe to run from several replicas at once on PostgreSQL and
// returns what it applied.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) ([]MigrationStatus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	unlock, err := db.migrationLock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var applied []MigrationStatus
	rm, err := db.riverMigrator(log)
	if err != nil {
		return nil, err
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("apply River migrations: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, MigrationStatus{Component: "river", Version: int64(v.Version), Name: v.Name, Applied: true})
	}

	p, err := db.gooseProvider()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply Vigil migrations: %w", err)
	}
	for _, r := range results {
		applied = append(applied, MigrationStatus{Component: "vigil", Version: r.Source.Version, Name: baseName(r.Source.Path), Applied: true})
	}
	for _, a := range applied {
		log.Info("migration applied", "component", a.Component, "version", a.Version, "name", a.Name)
	}
	return applied, nil
}

// MigrationStatus lists every known migration of River and Vigil with whether
// this database has it.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	var out []MigrationStatus
	rm, err := db.riverMigrator(nil)
	if err != nil {
		return nil, err
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		// A database River has never touched has no river_migration table.
		existing = nil
	}
	have := map[int]bool{}
	for _, m := range existing {
		have[m.Version] = true
	}
	for _, m := range rm.AllVersions() {
		out = append(out, MigrationStatus{Component: "river", Version: int64(m.Version), Name: m.Name, Applied: have[m.Version]})
	}

	p, err := db.gooseProvider()
	if err != nil {
		return nil, err
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Vigil migration status: %w", err)
	}
	for _, s := range statuses {
		out = append(out, MigrationStatus{
			Component: "vigil",
			Version:   s.Source.Version,
			Name:      baseName(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// PendingMigrations counts migrations not yet applied.
func (db *DB) PendingMigrations(ctx context.Context) (int, error) {
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

func (db *DB) riverMigrator(log *slog.Logger) (*rivermigrate.Migrator[*sql.Tx], error) {
	var drv riverdriver.Driver[*sql.Tx]
	if db.Dialect == dialect.Postgres {
		drv = riverdatabasesql.New(db.SQL)
	} else {
		drv = riversqlite.New(db.SQL)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	return m, nil
}

func (db *DB) gooseProvider() (*goose.Provider, error) {
	d, sub := goose.DialectSQLite3, "migrations/sqlite"
	if db.Dialect == dialect.Postgres {
		d, sub = goose.DialectPostgres, "migrations/postgres"
	}
	fsys, err := fs.Sub(Migrations, sub)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(d, db.SQL, fsys,
		goose.WithTableName(MigrationsTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load Vigil migrations: %w", err)
	}
	return p, nil
}

// migrationLock takes a PostgreSQL advisory lock on a dedicated connection so
// that replicas starting together migrate one after another. SQLite needs none:
// the single connection already serialises writers.
func (db *DB) migrationLock(ctx context.Context) (func(), error) {
	if db.Dialect != dialect.Postgres {
		return func() {}, nil
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID)
		_ = conn.Close()
	}, nil
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
