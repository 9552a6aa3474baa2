package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// User is a person who logs in. It has its roles and, implicitly, all their ancestors.
type User struct{ ent.Schema }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("full_name").Default("").MaxLen(500).
			Annotations(entgql.OrderField("FULL_NAME")),
		// email and properties are not ent GraphQL fields or filters: graph/directory.graphqls
		// declares them, resolved under policy.UserDetailsVisible (a filter on them would
		// read them one letter at a time).
		field.String("email").Default("").MaxLen(500).
			Annotations(entgql.Skip(entgql.SkipType, entgql.SkipWhereInput)),
		// language is a locale such as "en" or "de"; empty means the application default.
		field.String("language").Default("").MaxLen(35),
		field.String("password_hash").Sensitive().Default("").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.JSON("properties", map[string]string{}).Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("disabled").Default(false),
		// token_version is carried by every token issued to the user; raising it (a
		// password change, disabling, logout, revokeSessions) ends all of them at once.
		field.Int("token_version").Default(0).NonNegative().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// notification_channels says, per channel (email, web), whether the user wants
		// notifications there (NotificationChannelsSetting); unset channels are on.
		field.JSON("notification_channels", map[string]bool{}).Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("roles", Role.Type),
		edge.To("absences", Absence.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("substituted_by", Substitute.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("substitutes_for", Substitute.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("grants", Grant.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
	}
}

// Mixin of the User.
func (User) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
