package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Process is something a user can start: an express process (a definition the workflow
// engine runs) or an external link.
type Process struct{ ent.Schema }

// Fields of the Process.
func (Process) Fields() []ent.Field {
	return []ent.Field{
		// key is the stable identifier of the seed's model ("id", a UUID); unique when set.
		field.String("key").Optional().Unique().MaxLen(100),
		field.String("name").NotEmpty().MaxLen(500).
			Annotations(entgql.OrderField("NAME")),
		field.String("description").Default("").MaxLen(10000),
		field.String("category").Default("").MaxLen(200).
			Annotations(entgql.OrderField("CATEGORY")),
		field.String("icon").Default("").MaxLen(200),
		field.Enum("kind").Values("EXPRESS_PROCESS", "EXTERNAL_LINK", "IVY_PROCESS").
			Default("EXPRESS_PROCESS"),
		field.String("link").Default("").MaxLen(2000),
		// permissions are the role names and #user names that may start it; empty means Everybody.
		field.Strings("permissions").Optional(),
		field.Bool("ready_to_execute").Default(true),
		// hide_tasks_and_cases: the cases it starts and their tasks carry the seed's HIDE
		// property (BusinessCase.hidden, Task.hidden).
		field.Bool("hide_tasks_and_cases").Default(false).
			Annotations(entgql.Skip(entgql.SkipWhereInput|entgql.SkipOrderField)),
		// definition is the express process model of seed 001, kept as sent.
		field.JSON("definition", json.RawMessage{}).Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("owner_id").Optional().Nillable(),
	}
}

// Edges of the Process.
func (Process) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique(),
		edge.To("cases", BusinessCase.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("starters", ProcessStarter.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
	}
}

// Mixin of the Process.
func (Process) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }

// Annotations of the Process.
func (Process) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
