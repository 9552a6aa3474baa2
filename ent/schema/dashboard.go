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

// Dashboard is a user's private dashboard or a public one. document holds it in the JSON
// model of domain.md (titles, icon, description, permissions, widgets); package
// dashboards validates it. owner_id, public and permissions are columns for the
// visibility query.
type Dashboard struct{ ent.Schema }

// Fields of the Dashboard.
func (Dashboard) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id"),
		field.Bool("public").Default(false),
		field.Int("version").Default(1),
		// permissions copies the document's: role names and #user names that may see a
		// public dashboard (none: everybody), so the visibility filter runs in SQL.
		field.Strings("permissions").Optional(),
		field.Text("document"),
	}
}

// Edges of the Dashboard.
func (Dashboard) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required(),
		edge.To("positions", DashboardPosition.Type).Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Dashboard.
func (Dashboard) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id"), index.Fields("public")}
}

// Mixin of the Dashboard.
func (Dashboard) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Dashboard: exposed through package dashboards.
func (Dashboard) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// DashboardPosition is where a user puts a dashboard in its own order.
type DashboardPosition struct{ ent.Schema }

// Fields of the DashboardPosition.
func (DashboardPosition) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id"),
		field.Int("dashboard_id"),
		field.Int("position"),
	}
}

// Edges of the DashboardPosition.
func (DashboardPosition) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("dashboard", Dashboard.Type).Ref("positions").Field("dashboard_id").Unique().Required(),
		edge.To("user", User.Type).Field("user_id").Unique().Required(),
	}
}

// Indexes of the DashboardPosition.
func (DashboardPosition) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "dashboard_id").Unique()}
}

// Annotations of the DashboardPosition.
func (DashboardPosition) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
