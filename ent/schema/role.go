package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Role is a node of the role tree rooted at Everybody. A child specializes its parent;
// member-role links make the members of a linked role members of the holding role.
type Role struct{ ent.Schema }

// Fields of the Role.
func (Role) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("display_name").Default("").MaxLen(500).
			Annotations(entgql.OrderField("DISPLAY_NAME")),
		// parent_id is empty only for Everybody, the root.
		field.Int("parent_id").Optional().Nillable(),
	}
}

// Edges of the Role.
func (Role) Edges() []ent.Edge {
	return []ent.Edge{
		// Deleting a role deletes its subtree.
		edge.To("children", Role.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)).
			From("parent").Field("parent_id").Unique(),
		// members are the roles linked under this one: their users are this role's users too.
		edge.To("members", Role.Type).
			From("member_of").
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.From("users", User.Type).Ref("roles").
			Annotations(entgql.RelayConnection()),
		edge.To("grants", Grant.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
	}
}

// Mixin of the Role.
func (Role) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Role.
func (Role) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
