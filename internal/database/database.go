// Package database owns Vigil's connection to its system of record: the
// embedded SQLite file (default) or PostgreSQL, one *sql.DB shared by ent and
// River, schema migrations for both, and transactions. It knows nothing of
// HTTP, GraphQL or jobs.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/vigilhq/vigil/ent"
	_ "github.com/vigilhq/vigil/ent/runtime" // registers schema hooks, interceptors and policies
)

// Options say which database to open.
type Options struct {
	// URL selects PostgreSQL when set (postgres://…).
	URL string
	// DataDir holds vigil.db when URL is empty.
	DataDir string
	// MaxConns sizes the PostgreSQL pool (one connection is held for LISTEN).
	MaxConns int
}

// DB is an open database: the shared *sql.DB, the ent client on it and, on
// PostgreSQL, the pgx pool under it (River's listener needs it).
type DB struct {
	Dialect string // dialect.SQLite or dialect.Postgres
	SQL     *sql.DB
	Pool    *pgxpool.Pool // nil on SQLite
	Ent     *ent.Client
	// Path is the SQLite file; empty on PostgreSQL.
	Path string

	hooks []ent.Hook // added with Use, for the clients of WithConnTx too
}

// SQLiteFile is the name of the database file inside the data directory.
const SQLiteFile = "vigil.db"

// Open connects to the database that opts name. It does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.URL != "" {
		return openPostgres(ctx, opts)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", opts.DataDir, err)
	}
	return OpenSQLite(ctx, filepath.Join(opts.DataDir, SQLiteFile))
}

// OpenSQLite opens (creating if needed) the SQLite database at path.
//
// SQLite allows one writer at a time. Vigil gives ent and River a pool of
// exactly one connection, so writes queue in Go instead of failing with
// "database is locked"; transactions begin IMMEDIATE so a reader never has to
// upgrade to a writer mid-transaction. WAL keeps readers of other processes
// (backups, `vigil migrate status`) off the writer's back.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &DB{
		Dialect: dialect.SQLite,
		SQL:     db,
		Ent:     ent.NewClient(ent.Driver(entsql.OpenDB(dialect.SQLite, db))),
		Path:    path,
	}, nil
}

func openPostgres(ctx context.Context, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("VIGIL_DATABASE_URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "vigil"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	return &DB{
		Dialect: dialect.Postgres,
		SQL:     db,
		Pool:    pool,
		Ent:     ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db))),
	}, nil
}

// Close closes the ent client and every connection.
func (db *DB) Close() error {
	err := db.SQL.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}

// Name returns "sqlite" or "postgres".
func (db *DB) Name() string {
	if db.Dialect == dialect.Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.SQL.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	return nil
}

// WithTx runs fn inside one ent transaction and commits it when fn returns
// nil, or rolls it back. Everything fn does must go through tx (tx.Client(),
// River's InsertTx with tx.SQLTx()): on SQLite the one connection belongs to
// the transaction until it ends.
func (db *DB) WithTx(ctx context.Context, fn func(tx *ent.Tx) error) (err error) {
	tx, err := db.Ent.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
