//go:build ignore

// entc.go runs ent's code generator with the entgql extension. Run it through
// `make generate` (ent first, then gqlgen), from the repository root.
package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("graph/ent.graphql"),
		entgql.WithConfigPath("gqlgen.yml"),
		entgql.WithWhereInputs(true),
		entgql.WithRelaySpec(true),
	)
	if err != nil {
		log.Fatalf("entgql extension: %v", err)
	}
	templates := append(entgql.AllTemplates,
		gen.MustParse(gen.NewTemplate("vigil").ParseGlob("ent/template/*.tmpl")),
	)
	err = entc.Generate("./schema", &gen.Config{
		Target:    "./ent",
		Package:   "github.com/vigilhq/vigil/ent",
		Templates: templates,
		Features: []gen.Feature{
			gen.FeaturePrivacy,
			gen.FeatureIntercept,
			gen.FeatureEntQL,
			gen.FeatureUpsert,
			gen.FeatureVersionedMigration,
			gen.FeatureExecQuery,
			gen.FeatureLock,
		},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("ent codegen: %v", err)
	}
}
