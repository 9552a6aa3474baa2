package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WorkflowEvent records one state change or action on a task or case.
type WorkflowEvent struct{ ent.Schema }

// Fields of the WorkflowEvent.
func (WorkflowEvent) Fields() []ent.Field {
	return []ent.Field{
		// kind is the action, e.g. CREATED, STARTED, RESERVED, DELEGATED, EXPIRED.
		field.String("kind").NotEmpty().MaxLen(50),
		field.String("state_before").Default("").MaxLen(30),
		field.String("state_after").Default("").MaxLen(30),
		field.JSON("details", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.Int("user_id").Optional().Nillable(),
		field.Int("task_id").Optional().Nillable(),
		field.Int("case_id").Optional().Nillable(),
	}
}

// Edges of the WorkflowEvent.
func (WorkflowEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique(),
		edge.From("task", Task.Type).Ref("events").Field("task_id").Unique(),
		edge.From("case", BusinessCase.Type).Ref("events").Field("case_id").Unique(),
	}
}

// Indexes of the WorkflowEvent.
func (WorkflowEvent) Indexes() []ent.Index {
	// (user_id, kind): the cases a user worked on (a STARTED event) count as involved.
	return []ent.Index{index.Fields("task_id"), index.Fields("case_id"), index.Fields("user_id", "kind")}
}

// Mixin of the WorkflowEvent.
func (WorkflowEvent) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the WorkflowEvent.
func (WorkflowEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
