// Command migrategen writes a new versioned migration for each database from
// the difference between the ent schema and the migrations already in
// internal/database/migrations. Run it as `make migration name=add_alerts`.
//
// It replays the existing migrations into a scratch database of each dialect
// (a temporary SQLite file; a temporary PostgreSQL database on the server of
// VIGIL_TEST_DATABASE_URL, or local PostgreSQL), diffs, and writes goose files.
// When the schema has not changed it writes nothing.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"

	"ariga.io/atlas/sql/sqltool"
	entschema "entgo.io/ent/dialect/sql/schema"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vigilhq/vigil/internal/database"
)

func main() {
	name := flag.String("name", "", "short snake_case name of the change, e.g. add_alerts")
	dir := flag.String("dir", "internal/database/migrations", "migrations directory")
	flag.Parse()
	if *name == "" {
		log.Fatal("migrategen: -name is required, e.g. make migration name=add_alerts")
	}
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "vigil-migrategen-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	lite, err := database.OpenSQLite(ctx, filepath.Join(tmp, "dev.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer lite.Close()
	if err := diff(ctx, lite, filepath.Join(*dir, "sqlite"), *name); err != nil {
		log.Fatalf("sqlite: %v", err)
	}

	pg, drop, err := scratchPostgres(ctx)
	if err != nil {
		log.Fatalf("postgres: %v (set VIGIL_TEST_DATABASE_URL to a PostgreSQL server this command may create databases on)", err)
	}
	defer drop()
	if err := diff(ctx, pg, filepath.Join(*dir, "postgres"), *name); err != nil {
		log.Fatalf("postgres: %v", err)
	}
}

func diff(ctx context.Context, db *database.DB, path, name string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	dir, err := sqltool.NewGooseDir(path)
	if err != nil {
		return err
	}
	before, err := dir.Files()
	if err != nil {
		return err
	}
	err = db.Ent.Schema.NamedDiff(ctx, name,
		entschema.WithDir(dir),
		entschema.WithMigrationMode(entschema.ModeReplay),
		entschema.WithDialect(db.Dialect),
		entschema.WithFormatter(sqltool.GooseFormatter),
		entschema.WithDropColumn(true),
		entschema.WithDropIndex(true),
	)
	if err != nil {
		return err
	}
	after, err := dir.Files()
	if err != nil {
		return err
	}
	if len(after) == len(before) {
		fmt.Printf("%s: no schema changes\n", path)
		return nil
	}
	fmt.Printf("%s: wrote %s\n", path, after[len(after)-1].Name())
	return nil
}

func scratchPostgres(ctx context.Context) (*database.DB, func(), error) {
	base := os.Getenv("VIGIL_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "vigil_migrategen_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	u.Path = "/" + name
	db, err := database.Open(ctx, database.Options{URL: u.String(), MaxConns: 4})
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	return db, func() {
		db.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}
