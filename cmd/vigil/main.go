// Command vigil is the Vigil binary: the server, migrations and
// administration, each a subcommand with --help.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app().Run(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(1)
	}
}

func app() *cli.Command {
	cfg := config.Defaults()
	return &cli.Command{
		Name:  "vigil",
		Usage: "multi-tenant security alerting platform",
		Description: "Vigil takes in security events, scores them, raises alerts and streams them live.\n" +
			"With no configuration it runs on an embedded SQLite database in ./vigil-data.",
		Commands: []*cli.Command{
			serveCommand(&cfg),
			migrateCommand(&cfg),
			tenantCommand(&cfg),
			userCommand(&cfg),
			keysCommand(&cfg),
			rulesCommand(&cfg),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(_ context.Context, cmd *cli.Command) error {
					fmt.Fprintln(cmd.Root().Writer, "vigil", buildVersion())
					return nil
				},
			},
		},
	}
}
