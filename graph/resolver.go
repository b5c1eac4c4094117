// Package graph holds Vigil's GraphQL API: the hand-written schema
// (*.graphqls), the schema entgql generates from ent (ent.graphql), thin
// resolvers, and the one place where errors become GraphQL error codes.
// gqlgen's execution code is generated into graph/generated.
package graph

import (
	"context"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/graph/generated"
	"github.com/vigilhq/vigil/graph/model"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/ingest"
)

// Resolver is the root resolver; it carries what resolvers need.
type Resolver struct {
	Client *ent.Client
	Info   model.ServerInfo
	Auth   *auth.Service
	Authz  Authorizer

	Ingest *ingest.Service
	Rules  *detect.Rules
	Alerts *alerting.Service
	Hub    *alertstream.Hub
	// OnSubscriptionEnd is told why a subscription ended (nil: the client
	// left), so the transport can close with a fitting code.
	OnSubscriptionEnd func(ctx context.Context, err error)
}

// NewSchema returns the executable schema for r.
func NewSchema(r *Resolver) generated.Config {
	return generated.Config{Resolvers: r}
}
