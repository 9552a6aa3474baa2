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

// Absence is a period a user is away; substitutes that act during absences only work
// the user's tasks inside such periods.
type Absence struct{ ent.Schema }

// Fields of the Absence.
func (Absence) Fields() []ent.Field {
	return []ent.Field{
		field.Time("from").Annotations(entgql.OrderField("FROM")),
		field.Time("until").Annotations(entgql.OrderField("UNTIL")),
		field.String("comment").Default("").MaxLen(2000),
		field.Int("user_id"),
	}
}

// Edges of the Absence.
func (Absence) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("absences").Field("user_id").Unique().Required(),
	}
}

// Indexes of the Absence.
func (Absence) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "from")}
}

// Mixin of the Absence.
func (Absence) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Absence.
func (Absence) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Substitute lets one user work another user's tasks: the personal ones (no role) or
// those of one of the user's roles, permanently or during the user's absences only.
type Substitute struct{ ent.Schema }

// Fields of the Substitute.
func (Substitute) Fields() []ent.Field {
	return []ent.Field{
		field.Bool("permanent").Default(false),
		field.Int("user_id"),
		field.Int("substitute_id"),
		field.Int("role_id").Optional().Nillable(),
	}
}

// Edges of the Substitute.
func (Substitute) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("substituted_by").Field("user_id").Unique().Required(),
		edge.From("substitute", User.Type).Ref("substitutes_for").Field("substitute_id").Unique().Required(),
		edge.To("role", Role.Type).Field("role_id").Unique().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Substitute: visibility looks up whom a user substitutes.
func (Substitute) Indexes() []ent.Index {
	return []ent.Index{index.Fields("substitute_id"), index.Fields("user_id")}
}

// Mixin of the Substitute.
func (Substitute) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Substitute.
func (Substitute) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
