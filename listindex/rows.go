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

// taskData is a task as read from the database, before the index stores it as a
// TaskRow.
type taskData struct {
	ID                                int
	Name, Description, Category, Kind string
	State, Priority, ExpiryPriority   string // ExpiryPriority "" is NULL
	Position                          int
	System, Hidden                    bool
	Created, Updated                  int64
	Expiry, Delay, Started, Ended     int64 // NoTime is NULL
	CaseID                            int
	WorkerID, CreatorID               int // 0 is NULL
	Custom                            Fields
	Responsibles                      []Responsible
}

// TaskRow is what the index keeps of a task: every field lists filter and sort by, with
// its texts in the tasks' store (see store).
type TaskRow struct {
	ID, Position, CaseID          int
	WorkerID, CreatorID           int // 0 is NULL
	Created, Updated              int64
	Expiry, Delay, Started, Ended int64 // NoTime is NULL
	System, Hidden                bool

	own                                             text // all of the row's texts
	name, desc, nameFold, descFold, custom, resp    text
	category, kind, state, priority, expiryPriority word // expiryPriority 0 is NULL
	stateRank, priorityRank, expiryPriorityRank     int16
}

// Fields are the top-level custom fields of a row, each as PostgreSQL's ->> gives it:
// strings as they are, numbers and booleans as their JSON text (JSON null: absent).
type Fields []Field

// Field is one custom field.
type Field struct{ Name, Value string }

// Responsible is one responsible of a task: a user or a role; Expiry ones take the task
// when it expires and see nothing before.
type Responsible struct {
	UserID, RoleID int
	Expiry         bool
}

// caseData is a case as read from the database.
type caseData struct {
	ID                          int
	Name, Description, Category string
	State                       string
	Created, Updated, Ended     int64
	CreatorID, OwnerID          int
	Hidden                      bool
	Custom                      Fields
}

// CaseRow is what the index keeps of a case.
type CaseRow struct {
	ID                      int
	CreatorID, OwnerID      int
	Created, Updated, Ended int64
	Hidden                  bool

	own                                    text
	name, desc, nameFold, descFold, custom text
	category, state                        word
	stateRank                              int16
}

// texts lays out the texts one row owns in one stretch of bytes: the name and the
// description, their lower-case copies when they differ (case-insensitive filters read
// them), the custom fields and the responsibles.
type texts struct {
	b                                            []byte
	name, desc, nameFold, descFold, custom, resp [2]int // from, length in b
}

func layout(st *store, name, desc string, custom Fields, resp []Responsible) texts {
	var x texts
	add := func(at *[2]int, f func()) {
		from := len(x.b)
		f()
		*at = [2]int{from, len(x.b) - from}
	}
	add(&x.name, func() { x.b = append(x.b, name...) })
	add(&x.desc, func() { x.b = append(x.b, desc...) })
	x.nameFold, x.descFold = x.name, x.desc
	if nf := strings.ToLower(name); nf != name {
		add(&x.nameFold, func() { x.b = append(x.b, nf...) })
	}
	if df := strings.ToLower(desc); df != desc {
		add(&x.descFold, func() { x.b = append(x.b, df...) })
	}
	add(&x.custom, func() {
		for _, f := range custom {
			x.b = appendField(x.b, st.word(f.Name), f.Value)
		}
	})
	add(&x.resp, func() {
		for _, r := range resp {
			x.b = appendResponsible(x.b, r)
		}
	})
	return x
}

// row stores a task's data in the store.
func (d *taskData) row(st *store) TaskRow {
	x := layout(st, d.Name, d.Description, d.Custom, d.Responsibles)
	own := st.own(x.b)
	r := TaskRow{ID: d.ID, Position: d.Position, CaseID: d.CaseID, WorkerID: d.WorkerID, CreatorID: d.CreatorID,
		Created: d.Created, Updated: d.Updated, Expiry: d.Expiry, Delay: d.Delay, Started: d.Started, Ended: d.Ended,
		System: d.System, Hidden: d.Hidden, own: own,
		name: part(own, x.name[0], x.name[1]), desc: part(own, x.desc[0], x.desc[1]),
		nameFold: part(own, x.nameFold[0], x.nameFold[1]), descFold: part(own, x.descFold[0], x.descFold[1]),
		custom: part(own, x.custom[0], x.custom[1]), resp: part(own, x.resp[0], x.resp[1]),
		category: st.word(d.Category), kind: st.word(d.Kind), state: st.word(d.State), priority: st.word(d.Priority),
		expiryPriority: st.word(d.ExpiryPriority),
		stateRank:      taskStateRank[d.State], priorityRank: taskPriorityRank[d.Priority], expiryPriorityRank: taskPriorityRank[d.ExpiryPriority],
	}
	return r
}

// row stores a case's data in the store.
func (d *caseData) row(st *store) CaseRow {
	x := layout(st, d.Name, d.Description, d.Custom, nil)
	own := st.own(x.b)
	return CaseRow{ID: d.ID, CreatorID: d.CreatorID, OwnerID: d.OwnerID, Created: d.Created, Updated: d.Updated, Ended: d.Ended,
		Hidden: d.Hidden,
		own:    own, name: part(own, x.name[0], x.name[1]), desc: part(own, x.desc[0], x.desc[1]),
		nameFold: part(own, x.nameFold[0], x.nameFold[1]), descFold: part(own, x.descFold[0], x.descFold[1]),
		custom:   part(own, x.custom[0], x.custom[1]),
		category: st.word(d.Category), state: st.word(d.State), stateRank: caseStateRank[d.State]}
}

// move points a row's texts at at, where compact copied its bytes.
func (r *TaskRow) move(at text) {
	for _, t := range []*text{&r.name, &r.desc, &r.nameFold, &r.descFold, &r.custom, &r.resp} {
		*t = moved(*t, r.own, at)
	}
	r.own = at
}

func (r *CaseRow) move(at text) {
	for _, t := range []*text{&r.name, &r.desc, &r.nameFold, &r.descFold, &r.custom} {
		*t = moved(*t, r.own, at)
	}
	r.own = at
}

// Enums sort by their rank (ent/schema/rank.go, the one home of both orders): a task's
// priority by urgency (PRIORITY DESC: EXCEPTION first), states by their lifecycle.
var (
	taskStateRank    = ranks(schema.TaskStates, schema.TaskStateRank)
	taskPriorityRank = ranks(schema.Priorities, schema.PriorityRank)
	caseStateRank    = ranks(schema.CaseStates, schema.CaseStateRank)
)

func ranks(values []string, rank func(string) int16) map[string]int16 {
	m := make(map[string]int16, len(values))
	for _, v := range values {
		m[v] = rank(v)
	}
	return m
}

func number(n int) Value { return Value{I: int64(n)} }

func ref(id int) Value { return Value{I: int64(id), Null: id == 0} }

func when(t int64) Value { return Value{I: t, Null: t == NoTime} }

func flag(b bool) Value {
	if b {
		return Value{I: 1}
	}
	return Value{}
}

func enum(st *store, w word, rank int16) Value {
	if w == 0 {
		return Value{Null: true}
	}
	return Value{S: st.words[w], I: int64(rank)}
}

func str(st *store, t text) Value { return Value{S: st.str(t)} }

func wordText(st *store, w word) Value { return Value{S: st.words[w]} }

// Columns of tasks and cases, named as their where inputs name them.
var (
	taskColumns = []*Column[TaskRow]{
		{Name: "id", Type: Number, Get: func(r *TaskRow, _ *store) Value { return number(r.ID) }},
		{Name: "createdAt", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Created) }},
		{Name: "updatedAt", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Updated) }},
		{Name: "name", Type: Text, Get: func(r *TaskRow, st *store) Value { return str(st, r.name) }, Fold: func(r *TaskRow, st *store) string { return st.str(r.nameFold) }},
		{Name: "description", Type: Text, Get: func(r *TaskRow, st *store) Value { return str(st, r.desc) }, Fold: func(r *TaskRow, st *store) string { return st.str(r.descFold) }},
		{Name: "category", Type: Text, Indexed: true, Get: func(r *TaskRow, st *store) Value { return wordText(st, r.category) }},
		{Name: "state", Type: Enum, Indexed: true, Get: func(r *TaskRow, st *store) Value { return enum(st, r.state, r.stateRank) }},
		{Name: "priority", Type: Enum, Indexed: true, Get: func(r *TaskRow, st *store) Value { return enum(st, r.priority, r.priorityRank) }},
		{Name: "kind", Type: Text, Get: func(r *TaskRow, st *store) Value { return wordText(st, r.kind) }},
		{Name: "position", Type: Number, Get: func(r *TaskRow, _ *store) Value { return number(r.Position) }},
		{Name: "system", Type: Bool, Indexed: true, Get: func(r *TaskRow, _ *store) Value { return flag(r.System) }},
		{Name: "expiryTimestamp", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Expiry) }},
		{Name: "expiryPriority", Type: Enum, Get: func(r *TaskRow, st *store) Value { return enum(st, r.expiryPriority, r.expiryPriorityRank) }},
		{Name: "delayTimestamp", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Delay) }},
		{Name: "startedAt", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Started) }},
		{Name: "endedAt", Type: Time, Get: func(r *TaskRow, _ *store) Value { return when(r.Ended) }},
		{Name: "caseID", Type: Number, Indexed: true, Get: func(r *TaskRow, _ *store) Value { return number(r.CaseID) }},
		{Name: "workerID", Type: Number, Indexed: true, Get: func(r *TaskRow, _ *store) Value { return ref(r.WorkerID) }},
		{Name: "creatorID", Type: Number, Get: func(r *TaskRow, _ *store) Value { return ref(r.CreatorID) }},
	}
	caseColumns = []*Column[CaseRow]{
		{Name: "id", Type: Number, Get: func(r *CaseRow, _ *store) Value { return number(r.ID) }},
		{Name: "createdAt", Type: Time, Get: func(r *CaseRow, _ *store) Value { return when(r.Created) }},
		{Name: "updatedAt", Type: Time, Get: func(r *CaseRow, _ *store) Value { return when(r.Updated) }},
		{Name: "name", Type: Text, Get: func(r *CaseRow, st *store) Value { return str(st, r.name) }, Fold: func(r *CaseRow, st *store) string { return st.str(r.nameFold) }},
		{Name: "description", Type: Text, Get: func(r *CaseRow, st *store) Value { return str(st, r.desc) }, Fold: func(r *CaseRow, st *store) string { return st.str(r.descFold) }},
		{Name: "category", Type: Text, Indexed: true, Get: func(r *CaseRow, st *store) Value { return wordText(st, r.category) }},
		{Name: "state", Type: Enum, Indexed: true, Get: func(r *CaseRow, st *store) Value { return enum(st, r.state, r.stateRank) }},
		{Name: "endedAt", Type: Time, Get: func(r *CaseRow, _ *store) Value { return when(r.Ended) }},
		{Name: "creatorID", Type: Number, Indexed: true, Get: func(r *CaseRow, _ *store) Value { return ref(r.CreatorID) }},
		{Name: "ownerID", Type: Number, Indexed: true, Get: func(r *CaseRow, _ *store) Value { return ref(r.OwnerID) }},
	}
)
