package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ProcessStarter lets one role or one user start a process (the process's
// processPermissions), so the process list filters in SQL.
type ProcessStarter struct{ ent.Schema }

// Fields of the ProcessStarter.
func (ProcessStarter) Fields() []ent.Field {
	return []ent.Field{
		field.Int("process_id"),
		field.Int("role_id").Optional().Nillable(),
		field.Int("user_id").Optional().Nillable(),
	}
}

// Edges of the ProcessStarter.
func (ProcessStarter) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("process", Process.Type).Ref("starters").Field("process_id").Unique().Required(),
		edge.To("role", Role.Type).Field("role_id").Unique().Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("user", User.Type).Field("user_id").Unique().Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the ProcessStarter.
func (ProcessStarter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("role_id", "process_id"), index.Fields("user_id", "process_id"), index.Fields("process_id")}
}

// Annotations of the ProcessStarter.
func (ProcessStarter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
