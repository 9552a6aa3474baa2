package listindex

import (
	"math"
	"strings"
	"time"

	"github.com/portico-dev/portico/ent/schema"
)

// NoTime is a NULL time of a row.
const NoTime = math.MinInt64

// TimeOf returns a time as rows hold it (Unix microseconds, the databases' precision).
func TimeOf(t *time.Time) int64 {
	if t == nil {
		return NoTime
	}
	return t.UnixMicro()
}

// TaskRow is what the index keeps of a task: every field lists filter and sort by.
type TaskRow struct {
	ID                                int
	Name, Description, Category, Kind string
	nameFold, descFold                string
	State, Priority, ExpiryPriority   string // ExpiryPriority "" is NULL
	Position                          int
	System                            bool
	Created, Updated                  int64
	Expiry, Delay, Started, Ended     int64 // NoTime is NULL
	CaseID                            int
	WorkerID, CreatorID               int // 0 is NULL
	Custom                            Fields
	Responsibles                      []Responsible

	stateRank, priorityRank, expiryPriorityRank int64
}

// Fields are the top-level custom fields of a row, each as PostgreSQL's ->> gives it:
// strings as they are, numbers and booleans as their JSON text (JSON null: absent). A
// slice with shared names takes a fraction of a map's memory, and rows have few.
type Fields []Field

// Field is one custom field.
type Field struct{ Name, Value string }

// Get returns the value of the named field.
func (fs Fields) Get(name string) (string, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// Responsible is one responsible of a task: a user or a role; Expiry ones take the task
// when it expires and see nothing before.
type Responsible struct {
	UserID, RoleID int
	Expiry         bool
}

// fold fills the lower-case copies of the texts that case-insensitive filters read,
// sharing the text when it has no upper case.
func (r *TaskRow) fold() {
	r.nameFold, r.descFold = lower(r.Name), lower(r.Description)
	r.stateRank, r.priorityRank = taskStateRank[r.State], taskPriorityRank[r.Priority]
	r.expiryPriorityRank = taskPriorityRank[r.ExpiryPriority]
}

func lower(s string) string {
	if l := strings.ToLower(s); l != s {
		return l
	}
	return s
}

// CaseRow is what the index keeps of a case.
type CaseRow struct {
	ID                          int
	Name, Description, Category string
	nameFold, descFold          string
	State                       string
	Created, Updated, Ended     int64
	CreatorID, OwnerID          int
	Custom                      Fields

	stateRank int64
}

func (r *CaseRow) fold() {
	r.nameFold, r.descFold = lower(r.Name), lower(r.Description)
	r.stateRank = caseStateRank[r.State]
}

// Enums sort by their rank (ent/schema/rank.go, the one home of both orders): a task's
// priority by urgency (PRIORITY DESC: EXCEPTION first), states by their lifecycle.
var (
	taskStateRank    = ranks(schema.TaskStates, schema.TaskStateRank)
	taskPriorityRank = ranks(schema.Priorities, schema.PriorityRank)
	caseStateRank    = ranks(schema.CaseStates, schema.CaseStateRank)
)

func ranks(values []string, rank func(string) int16) map[string]int64 {
	m := make(map[string]int64, len(values))
	for _, v := range values {
		m[v] = int64(rank(v))
	}
	return m
}

func text(s string) Value { return Value{S: s} }

func number(n int) Value { return Value{I: int64(n)} }

func ref(id int) Value { return Value{I: int64(id), Null: id == 0} }

func when(t int64) Value { return Value{I: t, Null: t == NoTime} }

func flag(b bool) Value {
	if b {
		return Value{I: 1}
	}
	return Value{}
}

func enum(s string, rank int64) Value {
	if s == "" {
		return Value{Null: true}
	}
	return Value{S: s, I: rank}
}

// Columns of tasks and cases, named as their where inputs name them.
var (
	taskColumns = []*Column[TaskRow]{
		{Name: "id", Type: Number, Get: func(r *TaskRow) Value { return number(r.ID) }},
		{Name: "createdAt", Type: Time, Get: func(r *TaskRow) Value { return when(r.Created) }},
		{Name: "updatedAt", Type: Time, Get: func(r *TaskRow) Value { return when(r.Updated) }},
		{Name: "name", Type: Text, Get: func(r *TaskRow) Value { return text(r.Name) }, Fold: func(r *TaskRow) string { return r.nameFold }},
		{Name: "description", Type: Text, Get: func(r *TaskRow) Value { return text(r.Description) }, Fold: func(r *TaskRow) string { return r.descFold }},
		{Name: "category", Type: Text, Indexed: true, Get: func(r *TaskRow) Value { return text(r.Category) }},
		{Name: "state", Type: Enum, Indexed: true, Get: func(r *TaskRow) Value { return enum(r.State, r.stateRank) }},
		{Name: "priority", Type: Enum, Indexed: true, Get: func(r *TaskRow) Value { return enum(r.Priority, r.priorityRank) }},
		{Name: "kind", Type: Text, Get: func(r *TaskRow) Value { return text(r.Kind) }},
		{Name: "position", Type: Number, Get: func(r *TaskRow) Value { return number(r.Position) }},
		{Name: "system", Type: Bool, Indexed: true, Get: func(r *TaskRow) Value { return flag(r.System) }},
		{Name: "expiryTimestamp", Type: Time, Get: func(r *TaskRow) Value { return when(r.Expiry) }},
		{Name: "expiryPriority", Type: Enum, Get: func(r *TaskRow) Value { return enum(r.ExpiryPriority, r.expiryPriorityRank) }},
		{Name: "delayTimestamp", Type: Time, Get: func(r *TaskRow) Value { return when(r.Delay) }},
		{Name: "startedAt", Type: Time, Get: func(r *TaskRow) Value { return when(r.Started) }},
		{Name: "endedAt", Type: Time, Get: func(r *TaskRow) Value { return when(r.Ended) }},
		{Name: "caseID", Type: Number, Indexed: true, Get: func(r *TaskRow) Value { return number(r.CaseID) }},
		{Name: "workerID", Type: Number, Indexed: true, Get: func(r *TaskRow) Value { return ref(r.WorkerID) }},
		{Name: "creatorID", Type: Number, Get: func(r *TaskRow) Value { return ref(r.CreatorID) }},
	}
	caseColumns = []*Column[CaseRow]{
		{Name: "id", Type: Number, Get: func(r *CaseRow) Value { return number(r.ID) }},
		{Name: "createdAt", Type: Time, Get: func(r *CaseRow) Value { return when(r.Created) }},
		{Name: "updatedAt", Type: Time, Get: func(r *CaseRow) Value { return when(r.Updated) }},
		{Name: "name", Type: Text, Get: func(r *CaseRow) Value { return text(r.Name) }, Fold: func(r *CaseRow) string { return r.nameFold }},
		{Name: "description", Type: Text, Get: func(r *CaseRow) Value { return text(r.Description) }, Fold: func(r *CaseRow) string { return r.descFold }},
		{Name: "category", Type: Text, Indexed: true, Get: func(r *CaseRow) Value { return text(r.Category) }},
		{Name: "state", Type: Enum, Indexed: true, Get: func(r *CaseRow) Value { return enum(r.State, r.stateRank) }},
		{Name: "endedAt", Type: Time, Get: func(r *CaseRow) Value { return when(r.Ended) }},
		{Name: "creatorID", Type: Number, Indexed: true, Get: func(r *CaseRow) Value { return ref(r.CreatorID) }},
		{Name: "ownerID", Type: Number, Indexed: true, Get: func(r *CaseRow) Value { return ref(r.OwnerID) }},
	}
)
