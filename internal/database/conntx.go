package database

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vigilhq/vigil/ent"
)

// Use adds hooks to the ent client, and to the clients of WithConnTx.
func (db *DB) Use(hooks ...ent.Hook) {
	db.hooks = append(db.hooks, hooks...)
	db.Ent.Use(hooks...)
}

// WithConnTx is WithTx on one pinned connection, which fn also gets: on
// PostgreSQL, CopyFrom writes through it in the same transaction as tx.
func (db *DB) WithConnTx(ctx context.Context, fn func(tx *ent.Tx, conn *stdsql.Conn) error) (err error) {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("take a connection: %w", err)
	}
	defer conn.Close()
	client := ent.NewClient(ent.Driver(connDriver{dialect: db.Dialect, conn: conn}))
	client.Use(db.hooks...)
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx, conn); err != nil {
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

// CopyFrom bulk-writes rows into table with PostgreSQL's COPY on conn, inside
// whatever transaction conn is in.
func CopyFrom(ctx context.Context, conn *stdsql.Conn, table string, columns []string, rows [][]any) (n int64, err error) {
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("COPY needs a pgx connection, not %T", dc)
		}
		n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
	return n, err
}

// connDriver is an ent driver on one *sql.Conn.
type connDriver struct {
	dialect string
	conn    *stdsql.Conn
}

func (d connDriver) Exec(ctx context.Context, query string, args, v any) error {
	return entsql.Conn{ExecQuerier: d.conn}.Exec(ctx, query, args, v)
}

func (d connDriver) Query(ctx context.Context, query string, args, v any) error {
	return entsql.Conn{ExecQuerier: d.conn}.Query(ctx, query, args, v)
}

func (d connDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &entsql.Tx{Conn: entsql.Conn{ExecQuerier: tx}, Tx: tx}, nil
}

func (d connDriver) Close() error    { return nil }
func (d connDriver) Dialect() string { return d.dialect }
