// Package dbtest gives each test its own migrated database, on SQLite and on
// PostgreSQL, so that every data-touching test runs against both.
//
// SQLite: a file in t.TempDir(), migrated. PostgreSQL: a fresh database
// cloned from a template that is migrated once per schema version, on the
// server named by VIGIL_TEST_DATABASE_URL (default: local PostgreSQL on
// 127.0.0.1:5432 as user postgres). When that server cannot be reached the
// PostgreSQL half fails under CI=true and is skipped, loudly, elsewhere.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection

	"github.com/vigilhq/vigil/internal/database"
)

// DefaultPostgresURL is used when VIGIL_TEST_DATABASE_URL is empty.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Each runs fn as two subtests, "sqlite" and "postgres", each with a fresh,
// migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a fresh migrated SQLite database that lives as long as t.
func SQLite(t testing.TB) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.OpenSQLite(ctx, filepath.Join(t.TempDir(), database.SQLiteFile))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// Postgres returns a fresh migrated PostgreSQL database that lives as long as t.
func Postgres(t testing.TB) *database.DB {
	t.Helper()
	u := PostgresURL(t)
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: u, MaxConns: 8})
	if err != nil {
		t.Fatalf("open postgres test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// PostgresURL creates a fresh migrated PostgreSQL database for t, drops it
// when t ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	s := server(t)
	name := "vigil_t_" + randomHex(8)
	if _, err := s.admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, s.template)); err != nil {
		t.Fatalf("create test database from template %s: %v", s.template, err)
	}
	t.Cleanup(func() {
		if _, err := s.admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return s.urlFor(name)
}

// EmptyPostgresURL creates an empty, unmigrated PostgreSQL database for t,
// drops it when t ends, and returns its URL.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	s := server(t)
	name := "vigil_t_" + randomHex(8)
	if _, err := s.admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create empty test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return s.urlFor(name)
}

type pgServer struct {
	base     *url.URL
	admin    *sql.DB
	template string
	err      error
}

func (s *pgServer) urlFor(db string) string {
	u := *s.base
	u.Path = "/" + db
	return u.String()
}

var (
	once   sync.Once
	shared pgServer
)

func server(t testing.TB) *pgServer {
	t.Helper()
	once.Do(func() { shared = connect() })
	if shared.err != nil {
		msg := fmt.Sprintf("\n*** PostgreSQL half of the suite DID NOT RUN: %v\n*** Start PostgreSQL or set VIGIL_TEST_DATABASE_URL (see README).", shared.err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return &shared
}

func connect() pgServer {
	raw := os.Getenv("VIGIL_TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultPostgresURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return pgServer{err: fmt.Errorf("VIGIL_TEST_DATABASE_URL: %w", err)}
	}
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		return pgServer{err: err}
	}
	admin.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return pgServer{err: fmt.Errorf("cannot reach %s@%s: %w", u.User.Username(), u.Host, err)}
	}
	s := pgServer{base: u, admin: admin, template: "vigil_tpl_" + schemaHash()}
	if err := s.ensureTemplate(); err != nil {
		return pgServer{err: fmt.Errorf("prepare template database: %w", err)}
	}
	return s
}

// ensureTemplate builds the migrated template database once per schema
// version, under an advisory lock so that test binaries running in parallel
// do not race.
func (s *pgServer) ensureTemplate() error {
	ctx := context.Background()
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const lockID = 0x5669_6769_6c54 // "VigilT"
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockID) }()

	var isTemplate bool
	err = conn.QueryRowContext(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", s.template).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate:
		return nil
	case err == nil:
		// A build that died half-way: start over.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", s.template)); err != nil {
			return err
		}
	case err != sql.ErrNoRows:
		return err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+s.template); err != nil {
		return err
	}
	db, err := database.Open(ctx, database.Options{URL: s.urlFor(s.template), MaxConns: 4})
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx, nil)
	db.Close()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("ALTER DATABASE %s IS_TEMPLATE true", s.template))
	return err
}

// schemaHash names the template after the migrations it holds, so a changed
// migration gets a new template.
func schemaHash() string {
	h := sha256.New()
	_ = fs.WalkDir(database.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(database.Migrations, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	h.Write([]byte(riverVersion))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// riverVersion is part of the template's name: a River upgrade brings new
// River migrations.
var riverVersion = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/riverqueue/river" {
				return m.Version
			}
		}
	}
	return ""
}()

// SharedData returns the path of a file or directory under ../shared/data
// beside the repository (the public test data CI always provides). It fails
// the test when it is missing.
func SharedData(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("SharedData: no go.mod above the test's directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "data"}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data %s is missing (../shared/data beside the repository): %v", p, err)
	}
	return p
}
