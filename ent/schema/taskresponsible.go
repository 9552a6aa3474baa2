package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// TaskResponsible assigns a task to one user or one role. Expiry rows name who gets the
// task when it expires.
type TaskResponsible struct{ ent.Schema }

// Fields of the TaskResponsible.
func (TaskResponsible) Fields() []ent.Field {
	return []ent.Field{
		field.Bool("expiry").Default(false),
		// delayed and system copy the task's state DELAYED and its system flag (kept in
		// step by workflow.InstallHooks), so the SQL visibility predicate (TaskVisible)
		// reads only this table's indexes.
		field.Bool("delayed").Default(false),
		field.Bool("system").Default(false),
		// task_created_at copies the task's creation time (set by workflow.InstallHooks).
		// It served the task list's per-role index walk, which the list index (listindex)
		// replaced; it stays a key of the visible_* indexes below until a migration drops it.
		field.Time("task_created_at").Default(time.Now).Immutable(),
		field.Int("task_id"),
		field.Int("user_id").Optional().Nillable(),
		field.Int("role_id").Optional().Nillable(),
	}
}

// Edges of the TaskResponsible.
func (TaskResponsible) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("task", Task.Type).Ref("responsibles").Field("task_id").Unique().Required(),
		edge.To("user", User.Type).Field("user_id").Unique(),
		edge.To("role", Role.Type).Field("role_id").Unique(),
	}
}

// Indexes of the TaskResponsible: visibility looks up tasks by role and by user.
func (TaskResponsible) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("role_id", "task_id"),
		index.Fields("user_id", "task_id"),
		index.Fields("task_id"),
		// What a responsible sees of ordinary tasks: index-only lookups by role and user
		// for the SQL visibility predicate.
		index.Fields("role_id", "task_created_at", "task_id").StorageKey("taskresponsible_visible_role").
			Annotations(entsql.IndexWhere("(NOT expiry) AND (NOT delayed) AND (NOT system)")),
		index.Fields("user_id", "task_created_at", "task_id").StorageKey("taskresponsible_visible_user").
			Annotations(entsql.IndexWhere("(NOT expiry) AND (NOT delayed) AND (NOT system)")),
	}
}

// Annotations of the TaskResponsible: exposed as Task.responsibles (users and roles).
func (TaskResponsible) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
