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

// PasswordReset is a "forgot my password" token mailed to a user: single use, expiring,
// and stored as the SHA-256 of the token only (a copy of the database resets nobody's
// password). Never exposed over GraphQL; package directory writes and reads it.
type PasswordReset struct{ ent.Schema }

// Fields of the PasswordReset.
func (PasswordReset) Fields() []ent.Field {
	return []ent.Field{
		// token_hash is the hex SHA-256 of the mailed token.
		field.String("token_hash").Unique().NotEmpty().MaxLen(64).Sensitive(),
		field.Int("user_id").Immutable(),
		// sent_to is the address the token was mailed to (lower case), for the
		// per-mailbox throttle.
		field.String("sent_to").Default("").MaxLen(500),
		field.Time("created_at").Immutable().Default(now),
		field.Time("expires_at"),
		// used_at is set when the token is consumed (a reset, or the user's password
		// changed otherwise); a used token never works again.
		field.Time("used_at").Optional().Nillable(),
	}
}

// Edges of the PasswordReset.
func (PasswordReset) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Unique().Required().Immutable().Field("user_id").
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the PasswordReset.
func (PasswordReset) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("user_id", "created_at"),
		index.Fields("sent_to", "created_at"),
	}
}

// Annotations of the PasswordReset.
func (PasswordReset) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
