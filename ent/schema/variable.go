package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Variable is a portal setting (seed 001's global variables): a name and its value,
// plain text or JSON in the seed's data models. Only variables set away from their
// default have a row; package settings knows the names, defaults and models.
type Variable struct{ ent.Schema }

// Fields of the Variable.
func (Variable) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty().MaxLen(200),
		field.Text("value"),
	}
}

// Mixin of the Variable.
func (Variable) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Variable: exposed through package settings, not as an ent node.
func (Variable) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
