package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// ServerSecret holds keys the servers sharing a database must agree on, such as the token
// signing key. Never exposed over GraphQL.
type ServerSecret struct{ ent.Schema }

// Fields of the ServerSecret.
func (ServerSecret) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Unique().NotEmpty(),
		field.Bytes("value").Sensitive(),
	}
}

// Annotations of the ServerSecret.
func (ServerSecret) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
