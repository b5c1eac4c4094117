package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/ent/tenant"
	"github.com/vigilhq/vigil/internal/account"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/password"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

func tenantCommand(cfg *config.Config) *cli.Command {
	var name, slug string
	return &cli.Command{
		Name:  "tenant",
		Usage: "administer tenants",
		Commands: []*cli.Command{{
			Name:      "create",
			Usage:     "create a tenant",
			UsageText: "vigil tenant create --name \"Acme Corp\" [--slug acme]",
			Flags: append(cfg.DatabaseFlags(),
				&cli.StringFlag{Name: "name", Usage: "display name", Required: true, Destination: &name},
				&cli.StringFlag{Name: "slug", Usage: "unique handle (default: derived from the name)", Destination: &slug},
			),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				db, err := openMigrated(ctx, cfg)
				if err != nil {
					return err
				}
				defer db.Close()
				ctx = caller.With(ctx, caller.System("cli"))
				t, err := tenancy.CreateTenant(ctx, db.Ent, name, slug)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.Root().Writer, "created tenant %s (slug %s)\n", t.ID, t.Slug)
				return nil
			},
		}},
	}
}

func userCommand(cfg *config.Config) *cli.Command {
	var (
		email, displayName, tenantRef, role string
		superadmin, passwordStdin           bool
	)
	return &cli.Command{
		Name:  "user",
		Usage: "administer user accounts",
		Commands: []*cli.Command{{
			Name:  "create",
			Usage: "create a user, optionally a platform super-admin or a member of a tenant",
			UsageText: "vigil user create --email you@example.com --superadmin\n" +
				"vigil user create --email ana@acme.example --tenant acme --role ANALYST --password-stdin < pw.txt",
			Description: "Without --password-stdin a random password is generated and printed once.",
			Flags: append(cfg.DatabaseFlags(),
				&cli.StringFlag{Name: "email", Usage: "sign-in address", Required: true, Destination: &email},
				&cli.StringFlag{Name: "name", Usage: "display name", Destination: &displayName},
				&cli.BoolFlag{Name: "superadmin", Usage: "platform operator across all tenants", Destination: &superadmin},
				&cli.StringFlag{Name: "tenant", Usage: "tenant slug or id to join", Destination: &tenantRef},
				&cli.StringFlag{Name: "role", Usage: "role in --tenant: OWNER, ADMIN, ANALYST, VIEWER, AUDITOR or PARTNER", Value: "OWNER", Destination: &role},
				&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of standard input", Destination: &passwordStdin},
			),
			Action: func(ctx context.Context, cmd *cli.Command) error {
				pw, generated := "", false
				if passwordStdin {
					line, err := bufio.NewReader(cmd.Root().Reader).ReadString('\n')
					if err != nil && err != io.EOF {
						return fmt.Errorf("read password from stdin: %w", err)
					}
					pw = strings.TrimRight(line, "\r\n")
				} else {
					pw, generated = account.GeneratePassword(), true
				}
				db, err := openMigrated(ctx, cfg)
				if err != nil {
					return err
				}
				defer db.Close()
				ctx = caller.With(ctx, caller.System("cli"))
				var (
					u *ent.User
					t *ent.Tenant
				)
				err = db.WithTx(ctx, func(tx *ent.Tx) error {
					c := tx.Client()
					if tenantRef != "" {
						t, err = c.Tenant.Query().Where(tenant.Or(tenant.Slug(tenantRef), tenant.ID(pulid.ID(tenantRef)))).Only(ctx)
						if err != nil {
							return fmt.Errorf("--tenant %q: no such tenant", tenantRef)
						}
					}
					u, err = account.CreateUser(ctx, c, account.NewUser{Email: email, DisplayName: displayName, Password: pw, Superadmin: superadmin}, password.Default)
					if err != nil {
						return err
					}
					if t != nil {
						_, err = tenancy.AddMember(ctx, c, t.ID, u.ID, membership.Role(strings.ToUpper(role)))
					}
					return err
				})
				if err != nil {
					return err
				}
				w := cmd.Root().Writer
				fmt.Fprintf(w, "created user %s (%s)", u.ID, u.Email)
				if superadmin {
					fmt.Fprint(w, ", platform super-admin")
				}
				if t != nil {
					fmt.Fprintf(w, ", %s of %s", strings.ToUpper(role), t.Slug)
				}
				fmt.Fprintln(w)
				if generated {
					fmt.Fprintf(w, "password (shown once; change it after signing in): %s\n", pw)
				}
				return nil
			},
		}},
	}
}
