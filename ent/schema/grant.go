package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Grant allows or denies one permission to exactly one role or one user.
type Grant struct{ ent.Schema }

// Fields of the Grant.
func (Grant) Fields() []ent.Field {
	return []ent.Field{
		field.String("permission").NotEmpty().MaxLen(100),
		field.Enum("effect").Values("ALLOW", "DENY").Default("ALLOW"),
		field.Int("role_id").Optional().Nillable(),
		field.Int("user_id").Optional().Nillable(),
	}
}

// Edges of the Grant.
func (Grant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("role", Role.Type).Ref("grants").Field("role_id").Unique(),
		edge.From("user", User.Type).Ref("grants").Field("user_id").Unique(),
	}
}

// Indexes of the Grant: one grant per permission and subject.
func (Grant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("permission", "role_id").Unique(),
		index.Fields("permission", "user_id").Unique(),
		index.Fields("user_id"),
		index.Fields("role_id"),
	}
}

// Mixin of the Grant.
func (Grant) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Grant: not exposed as a GraphQL type; read through permission queries.
func (Grant) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
