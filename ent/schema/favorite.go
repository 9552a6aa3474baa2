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

// FavoriteProcess is a process a user keeps among its favorites, in its order.
type FavoriteProcess struct{ ent.Schema }

// Fields of the FavoriteProcess.
func (FavoriteProcess) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id"),
		field.Int("process_id"),
		field.Int("position").Default(0),
	}
}

// Edges of the FavoriteProcess.
func (FavoriteProcess) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required(),
		edge.To("process", Process.Type).Field("process_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the FavoriteProcess.
func (FavoriteProcess) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "process_id").Unique()}
}

// Annotations of the FavoriteProcess.
func (FavoriteProcess) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// NewsItem is a news entry of the news widget (NewsManagement): a title and content per
// language.
type NewsItem struct{ ent.Schema }

// Fields of the NewsItem.
func (NewsItem) Fields() []ent.Field {
	return []ent.Field{
		field.Int("author_id"),
		// translations holds [{language, title, content}].
		field.Text("translations"),
		field.String("icon").Default("").MaxLen(100),
	}
}

// Edges of the NewsItem.
func (NewsItem) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("author", User.Type).Field("author_id").Unique().Required(),
	}
}

// Mixin of the NewsItem.
func (NewsItem) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the NewsItem.
func (NewsItem) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
