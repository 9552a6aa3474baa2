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

// CaseStates in lifecycle order. The declaration order is the sort order (rank.go):
// STATE ASC lists CREATED first.
var CaseStates = []string{"CREATED", "RUNNING", "DONE", "DESTROYED"}

// BusinessCase (GraphQL: Case) is one run of a process: it holds the tasks, notes and events of that run.
type BusinessCase struct{ ent.Schema }

// Fields of the BusinessCase.
func (BusinessCase) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Default("").MaxLen(500).
			Annotations(entgql.OrderField("NAME")),
		field.String("description").Default("").MaxLen(10000),
		field.String("category").Default("").MaxLen(200).
			Annotations(entgql.OrderField("CATEGORY")),
		field.Enum("state").Values(CaseStates...).Default("CREATED"),
		// state_rank is the sort key of STATE (rank.go), set from state by
		// workflow.InstallHooks on every write.
		field.Int16("state_rank").Default(0).
			Annotations(entgql.OrderField("STATE"), entgql.Skip(entgql.SkipType|entgql.SkipWhereInput)),
		field.Time("ended_at").Optional().Nillable().
			Annotations(entgql.OrderField("ENDED_AT")),
		// hidden is the seed's HIDE property (see Task.hidden). portal_created: the case
		// runs an express process, the portal's own; PortalDeleteAllFinishedHiddenCases
		// false limits the cleanup of finished hidden cases to these.
		field.Bool("hidden").Default(false).
			Annotations(entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.Bool("portal_created").Default(false).
			Annotations(entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.JSON("custom_fields", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.Int("process_id").Optional().Nillable(),
		field.Int("creator_id").Optional().Nillable(),
		field.Int("owner_id").Optional().Nillable(),
	}
}

// Edges of the BusinessCase.
func (BusinessCase) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("process", Process.Type).Ref("cases").Field("process_id").Unique(),
		edge.To("creator", User.Type).Field("creator_id").Unique(),
		edge.To("owner", User.Type).Field("owner_id").Unique(),
		edge.To("tasks", Task.Type).Annotations(entgql.RelayConnection()),
		edge.To("notes", Note.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("events", WorkflowEvent.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the BusinessCase, for the case list and visibility of involved cases.
func (BusinessCase) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("created_at"),
		index.Fields("state", "created_at"),
		index.Fields("creator_id"),
		index.Fields("owner_id"),
		// The few hidden rows, which visibility leaves out while
		// PortalHiddenTaskCaseExcluded is on (policy.hiddenIDs).
		index.Fields("hidden"),
	}
}

// Mixin of the BusinessCase.
func (BusinessCase) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the BusinessCase: named Case in GraphQL and "cases" in SQL ("case" is a Go keyword).
func (BusinessCase) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("cases"),
		entgql.Type("Case"),
		entgql.RelayConnection(),
		entgql.QueryField(),
		entgql.MultiOrder(),
	}
}
