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

// Document is a file attached to a case. Its content is stored in the database, in the
// same transaction as the row (no file left behind by a failed upload).
type Document struct{ ent.Schema }

// Fields of the Document.
func (Document) Fields() []ent.Field {
	return []ent.Field{
		field.Int("case_id"),
		field.Int("uploader_id"),
		// name is sanitized: a base name without paths or control characters.
		field.String("name").NotEmpty().MaxLen(200),
		field.String("content_type").MaxLen(200),
		field.Int64("size"),
		field.String("sha256").MaxLen(64),
		field.Bytes("content").Sensitive(),
	}
}

// Edges of the Document.
func (Document) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("case", BusinessCase.Type).Field("case_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("uploader", User.Type).Field("uploader_id").Unique().Required(),
	}
}

// Indexes of the Document.
func (Document) Indexes() []ent.Index { return []ent.Index{index.Fields("case_id")} }

// Mixin of the Document.
func (Document) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Document: exposed through package documents.
func (Document) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
