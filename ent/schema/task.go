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

// Priorities of tasks, most urgent first. The declaration order is the sort order
// (rank.go): PRIORITY DESC lists EXCEPTION first.
var Priorities = []string{"EXCEPTION", "HIGH", "NORMAL", "LOW"}

// TaskStates in lifecycle order. The declaration order is the sort order (rank.go):
// STATE ASC lists CREATED first. The values are stored as text, so reordering them
// needs no data migration, only one that recomputes state_rank.
var TaskStates = []string{"CREATED", "DELAYED", "SUSPENDED", "PARKED", "RESUMED",
	"READY_FOR_JOIN", "DONE", "FAILED", "DESTROYED"}

// Task is a unit of human work in a case, assigned to responsibles (users and roles).
type Task struct{ ent.Schema }

// Fields of the Task. Which action each state allows lives in policy/states.go.
func (Task) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Default("").MaxLen(500).
			Annotations(entgql.OrderField("NAME")),
		field.String("description").Default("").MaxLen(10000),
		field.String("category").Default("").MaxLen(200).
			Annotations(entgql.OrderField("CATEGORY")),
		field.Enum("state").Values(TaskStates...).Default("SUSPENDED"),
		field.Enum("priority").Values(Priorities...).Default("NORMAL"),
		// state_rank and priority_rank are the sort keys of STATE and PRIORITY (rank.go),
		// set from state and priority by workflow.InstallHooks on every write.
		field.Int16("state_rank").Default(0).
			Annotations(entgql.OrderField("STATE"), entgql.Skip(entgql.SkipType|entgql.SkipWhereInput)),
		field.Int16("priority_rank").Default(0).
			Annotations(entgql.OrderField("PRIORITY"), entgql.Skip(entgql.SkipType|entgql.SkipWhereInput)),
		// kind is the express task type: USER_TASK, USER_TASK_WITH_EMAIL, APPROVAL, EMAIL.
		field.String("kind").Default("USER_TASK").MaxLen(50),
		// position is the task's step in its process definition (taskPosition).
		field.Int("position").Default(0),
		field.Bool("system").Default(false),
		// hidden is the seed's HIDE property: while PortalHiddenTaskCaseExcluded is true the
		// task is in no list, count, search, chart, export or live feed (policy/visibility.go).
		field.Bool("hidden").Default(false).
			Annotations(entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.Time("expiry_timestamp").Optional().Nillable().
			Annotations(entgql.OrderField("EXPIRY_TIMESTAMP")),
		field.Enum("expiry_priority").Values(Priorities...).Optional().Nillable(),
		// expiry_warned: its responsibles were told it is about to expire (reset when the
		// expiry timestamp changes).
		field.Bool("expiry_warned").Default(false).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("delay_timestamp").Optional().Nillable().
			Annotations(entgql.OrderField("DELAY_TIMESTAMP")),
		field.Time("started_at").Optional().Nillable(),
		field.Time("ended_at").Optional().Nillable().
			Annotations(entgql.OrderField("ENDED_AT")),
		field.JSON("custom_fields", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		// data is the form data the task was completed with.
		field.JSON("data", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		field.Int("case_id"),
		field.Int("worker_id").Optional().Nillable(),
		field.Int("creator_id").Optional().Nillable(),
	}
}

// Edges of the Task.
func (Task) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("case", BusinessCase.Type).Ref("tasks").Field("case_id").Unique().Required(),
		edge.To("worker", User.Type).Field("worker_id").Unique(),
		edge.To("creator", User.Type).Field("creator_id").Unique(),
		edge.To("responsibles", TaskResponsible.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("notes", Note.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("events", WorkflowEvent.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the Task, for SQL orders (nested task lists), timers, case pages and charts.
func (Task) Indexes() []ent.Index {
	return []ent.Index{
		// (created_at, id): nested task lists in creation order walk this index.
		index.Fields("created_at", "id"),
		index.Fields("state", "created_at"),
		index.Fields("case_id"),
		index.Fields("worker_id"),
		index.Fields("expiry_timestamp"),
		index.Fields("delay_timestamp"),
		// Charts by priority count it from this index alone (index-only scans).
		index.Fields("priority"),
		// Charts by end time (all tasks, or the DONE ones of CASES_BY_FINISHED_TASK) read
		// their days from this index alone instead of the whole table: at a million
		// tasks 75 ms against 185 ms, and 23 ms for the DONE ones.
		index.Fields("state", "ended_at"),
		// Charts by creator count it from this index alone (at a million tasks 84 ms
		// against 520 ms); deleting a user (ON DELETE SET NULL) finds its tasks by it.
		index.Fields("creator_id"),
		// The few hidden rows, which visibility leaves out while
		// PortalHiddenTaskCaseExcluded is on (policy.hiddenIDs).
		index.Fields("hidden"),
	}
}

// Mixin of the Task.
func (Task) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Task.
func (Task) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
		entgql.MultiOrder(),
	}
}
