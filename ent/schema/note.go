package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Note is a comment on a task or a case. System notes are written by the server.
type Note struct{ ent.Schema }

// Fields of the Note.
func (Note) Fields() []ent.Field {
	return []ent.Field{
		field.Text("content").NotEmpty().MaxLen(100000),
		field.Bool("system").Default(false),
		field.Int("author_id").Optional().Nillable(),
		field.Int("task_id").Optional().Nillable(),
		field.Int("case_id").Optional().Nillable(),
	}
}

// Edges of the Note.
func (Note) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("author", User.Type).Field("author_id").Unique(),
		edge.From("task", Task.Type).Ref("notes").Field("task_id").Unique(),
		edge.From("case", BusinessCase.Type).Ref("notes").Field("case_id").Unique(),
	}
}

// Indexes of the Note.
func (Note) Indexes() []ent.Index {
	return []ent.Index{index.Fields("task_id"), index.Fields("case_id")}
}

// Mixin of the Note.
func (Note) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Note.
func (Note) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
