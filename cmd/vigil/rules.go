package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/ent/tenant"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/pulid"
)

func rulesCommand(cfg *config.Config) *cli.Command {
	var tenantRef string
	var disabled bool
	return &cli.Command{
		Name:  "rules",
		Usage: "administer detection rules",
		Commands: []*cli.Command{{
			Name:      "import",
			Usage:     "load every Sigma rule of a directory into a tenant, printing each rule's result",
			UsageText: "vigil rules import --tenant acme DIR",
			Description: "Walks DIR for *.yml and *.yaml Sigma rules. Each one is validated and compiled;\n" +
				"those that load become (or update, by Sigma id) rules of the tenant, the others are\n" +
				"named with the reason. Exits non-zero when no rule loaded.",
			Flags: append(cfg.DatabaseFlags(),
				&cli.StringFlag{Name: "tenant", Usage: "tenant slug or id", Required: true, Destination: &tenantRef},
				&cli.BoolFlag{Name: "disabled", Usage: "import the rules switched off", Destination: &disabled},
			),
			Arguments: []cli.Argument{&cli.StringArg{Name: "dir", UsageText: "DIR"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				dir := cmd.StringArg("dir")
				if dir == "" {
					return fmt.Errorf("name the directory of Sigma rules: vigil rules import --tenant acme DIR")
				}
				db, err := openMigrated(ctx, cfg)
				if err != nil {
					return err
				}
				defer db.Close()
				sys := caller.With(ctx, caller.System("cli"))
				t, err := db.Ent.Tenant.Query().Where(tenant.Or(tenant.Slug(tenantRef), tenant.ID(pulid.ID(tenantRef)))).Only(sys)
				if err != nil {
					return fmt.Errorf("--tenant %q: no such tenant", tenantRef)
				}
				w := cmd.Root().Writer
				ctx = caller.With(ctx, caller.ForTenant("cli", t.ID))
				st, err := detect.ImportSigmaDir(ctx, db.Ent, t.ID, dir, !disabled, func(r detect.ImportResult) {
					switch {
					case r.Err != nil:
						fmt.Fprintf(w, "FAIL  %s: %v\n", r.Path, r.Err)
					case r.Created:
						fmt.Fprintf(w, "new   %s: %s\n", r.Path, r.Title)
					default:
						fmt.Fprintf(w, "upd   %s: %s\n", r.Path, r.Title)
					}
				})
				if err != nil {
					return err
				}
				loaded := st.Created + st.Updated
				pct := 0.0
				if st.Files > 0 {
					pct = 100 * float64(loaded) / float64(st.Files)
				}
				fmt.Fprintf(w, "%d of %d rules loaded (%.1f%%): %d new, %d updated, %d failed\n", loaded, st.Files, pct, st.Created, st.Updated, st.Failed)
				if loaded == 0 && st.Files > 0 {
					return fmt.Errorf("no rule loaded")
				}
				return nil
			},
		}},
	}
}
