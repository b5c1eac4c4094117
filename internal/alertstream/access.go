package alertstream

import (
	"context"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
)

// accessTypes are the entities whose changes can take a subscriber's rights
// away: a session ends, a membership's role changes or goes, a key is revoked.
var accessTypes = map[string]bool{"Session": true, "Membership": true, "APIKey": true}

// AccessHook returns an ent hook that, after a successful change of a
// session, membership or API key, makes every subscriber re-check its rights:
// on PostgreSQL through NOTIFY in the same transaction (so all replicas hear
// it at commit), and in this process through local.
func AccessHook(dialectName string, local func()) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil || !accessTypes[m.Type()] {
				return v, err
			}
			if dialectName == dialect.Postgres {
				if c, ok := m.(interface{ Client() *ent.Client }); ok {
					if _, err := c.Client().ExecContext(ctx, "SELECT pg_notify($1, '')", ChannelAccess); err != nil {
						return nil, err
					}
				}
			}
			if local != nil {
				local()
			}
			return v, nil
		})
	}
}
