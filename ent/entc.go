//go:build ignore

// entc.go generates the ent client and the ent GraphQL schema (graph/ent.graphqls).
// It runs first from generate.go, before gqlgen.
package main

import (
	"fmt"
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("./gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("./graph/ent.graphqls"),
		entgql.WithWhereInputs(true),
		entgql.WithSchemaHook(savedFilterArgs),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./ent/schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeatureIntercept,
			gen.FeatureVersionedMigration,
			gen.FeatureGlobalID,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureUpsert,
			gen.FeatureExecQuery,
		},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}

// savedFilterArgs adds the savedFilter argument to the task and case list queries
// (Query.tasks, Query.cases): a saved filter (package savedfilters) whose where joins
// the where argument with AND.
func savedFilterArgs(_ *gen.Graph, s *ast.Schema) error {
	q := s.Types["Query"]
	if q == nil {
		return fmt.Errorf("no Query type")
	}
	for _, name := range []string{"tasks", "cases"} {
		f := q.Fields.ForName(name)
		if f == nil {
			return fmt.Errorf("no Query.%s", name)
		}
		f.Arguments = append(f.Arguments, &ast.ArgumentDefinition{
			Name: "savedFilter",
			Description: "A saved filter of this list (savedFilters: the viewer's own or a public one), joined to where with AND. " +
				"Another user's private filter, or a deleted one, is NOT_FOUND; one of the other list, or one that no longer fits the filter, BAD_USER_INPUT naming it.",
			Type: ast.NamedType("ID", nil),
		})
	}
	return nil
}
