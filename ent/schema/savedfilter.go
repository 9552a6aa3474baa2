package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SavedFilter is a user's saved task or case filter (issue 15, item 5): private to its
// owner, or public (CreatePublicFilter). where_input holds a TaskWhereInput or
// CaseWhereInput as JSON, names its name per language as JSON; package savedfilters
// validates both through package filter.
type SavedFilter struct{ ent.Schema }

// Fields of the SavedFilter.
func (SavedFilter) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id"),
		field.Enum("kind").Values("TASK", "CASE"),
		field.Bool("public").Default(false),
		// names holds [{language, name}].
		field.Text("names"),
		// where_input holds the list's where input as the client wrote it, as JSON.
		field.Text("where_input"),
	}
}

// Edges of the SavedFilter.
func (SavedFilter) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required(),
	}
}

// Indexes of the SavedFilter.
func (SavedFilter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id"), index.Fields("public")}
}

// Mixin of the SavedFilter.
func (SavedFilter) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the SavedFilter: exposed through package savedfilters.
func (SavedFilter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
