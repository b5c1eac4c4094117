package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/observe"
)

func migrateCommand(cfg *config.Config) *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply or list schema migrations (River's and Vigil's)",
		Flags: cfg.DatabaseFlags(),
		Commands: []*cli.Command{
			{
				Name:  "up",
				Usage: "apply every pending migration",
				Action: func(ctx context.Context, cmd *cli.Command) error {
					db, err := openDB(ctx, cfg)
					if err != nil {
						return err
					}
					defer db.Close()
					applied, err := db.Migrate(ctx, observe.NewLogger(os.Stderr, cfg.LogLevel, "text"))
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.Root().Writer, "%d migration(s) applied on %s\n", len(applied), db.Name())
					return nil
				},
			},
			{
				Name:  "status",
				Usage: "list migrations and whether each is applied",
				Action: func(ctx context.Context, cmd *cli.Command) error {
					db, err := openDB(ctx, cfg)
					if err != nil {
						return err
					}
					defer db.Close()
					st, err := db.MigrationStatus(ctx)
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(cmd.Root().Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintf(w, "database: %s\nCOMPONENT\tVERSION\tNAME\tSTATE\tAPPLIED AT\n", db.Name())
					pending := 0
					for _, s := range st {
						state, at := "applied", ""
						if !s.Applied {
							state = "pending"
							pending++
						}
						if !s.AppliedAt.IsZero() {
							at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
						}
						fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", s.Component, s.Version, s.Name, state, at)
					}
					fmt.Fprintf(w, "%d pending\n", pending)
					return w.Flush()
				},
			},
		},
	}
}

func openDB(ctx context.Context, cfg *config.Config) (*database.DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: cfg.DBMaxConns})
}

// openMigrated opens the database and applies pending migrations, for
// administrative commands that may run before the first `vigil serve`.
func openMigrated(ctx context.Context, cfg *config.Config) (*database.DB, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
