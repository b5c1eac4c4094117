package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/keyring"
)

func keysCommand(cfg *config.Config) *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "manage the keys in the data directory",
		Commands: []*cli.Command{{
			Name:  "rotate-signing",
			Usage: "make a new access-token signing key; the old one keeps verifying",
			Description: "Restart the servers afterwards to sign with the new key. Tokens signed with the old key\n" +
				"stay valid until they expire (15 minutes); then its retired file may be deleted.",
			Flags: cfg.DatabaseFlags(),
			Action: func(_ context.Context, cmd *cli.Command) error {
				newID, oldID, err := keyring.RotateSigning(cfg.DataDir)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.Root().Writer, "signing key %s is active; %s is retired (verifies only)\n", newID, oldID)
				return nil
			},
		}},
	}
}
