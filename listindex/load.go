package listindex

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/changefeed"
)

// Querier runs a read statement: the database's readers (on SQLite they see the last
// commit). The feed's read runs through it too (changefeed.ReadAlong).
type Querier = changefeed.Querier

// The statements that read rows into the index. Each takes the rows of some ids, or all
// of them; ids are always bound, never written into the text.
const (
	taskSelect = `SELECT id, name, description, category, kind, state, priority, expiry_priority, position, system, hidden,
created_at, updated_at, expiry_timestamp, delay_timestamp, started_at, ended_at, case_id, worker_id, creator_id,
custom_fields FROM tasks`
	responsibleSelect = `SELECT task_id, user_id, role_id, expiry FROM task_responsibles`
	caseSelect        = `SELECT id, name, description, category, state, created_at, updated_at, ended_at,
creator_id, owner_id, hidden, custom_fields FROM cases`
	// Who started a task of a case: involved in it from then on.
	starterSelect = `SELECT DISTINCT case_id, user_id FROM workflow_events WHERE kind = 'STARTED' AND user_id IS NOT NULL AND case_id IS NOT NULL`
)

// reader reads rows of the database for the index.
type reader struct {
	q       Querier
	dialect string
}

// chunk is how many ids one statement names on SQLite (its bound-variable limit is far
// above; PostgreSQL takes them all as one array).
const chunk = 500

// each runs base (with " WHERE col IN ids" when ids is not nil) and calls scan for each
// row.
func (rd reader) each(ctx context.Context, base, col string, ids []int, scan func(*sql.Rows) error) error {
	run := func(query string, args ...any) error {
		rows, err := rd.q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if ids == nil {
		return run(base)
	}
	join := " WHERE "
	if strings.Contains(base, " WHERE ") {
		join = " AND "
	}
	if rd.dialect == dialect.Postgres {
		arr := make([]int64, len(ids))
		for i, id := range ids {
			arr[i] = int64(id)
		}
		return run(base+join+col+" = ANY($1)", pq.Array(arr))
	}
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		if err := run(base+join+col+" IN (?"+strings.Repeat(",?", n-1)+")", args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// tasks reads the tasks of ids (all when nil) with their responsibles.
func (rd reader) tasks(ctx context.Context, ids []int) (map[int]*taskData, error) {
	out := map[int]*taskData{}
	resp := map[int][]Responsible{}
	// Two statements at once: a sync waits for both, and every query waits for a sync.
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rd.taskRows(ctx, ids, out) })
	g.Go(func() error { return rd.responsibles(ctx, ids, resp) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for id, rs := range resp {
		if t := out[id]; t != nil {
			t.Responsibles = rs
		}
	}
	return out, nil
}

func (rd reader) taskRows(ctx context.Context, ids []int, out map[int]*taskData) error {
	err := rd.each(ctx, taskSelect, "id", ids, func(rows *sql.Rows) error {
		var (
			r                             taskData
			expiryPriority                sql.NullString
			created, updated              sql.NullTime
			expiry, delay, started, ended sql.NullTime
			worker, creator               sql.NullInt64
			custom                        []byte
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.Category, &r.Kind, &r.State, &r.Priority, &expiryPriority,
			&r.Position, &r.System, &r.Hidden, &created, &updated, &expiry, &delay, &started, &ended, &r.CaseID, &worker, &creator, &custom); err != nil {
			return err
		}
		r.ExpiryPriority = expiryPriority.String
		r.Created, r.Updated = micros(created), micros(updated)
		r.Expiry, r.Delay, r.Started, r.Ended = micros(expiry), micros(delay), micros(started), micros(ended)
		r.WorkerID, r.CreatorID = int(worker.Int64), int(creator.Int64)
		var err error
		if r.Custom, err = rd.customFields(custom); err != nil {
			return fmt.Errorf("custom fields of task %d: %w", r.ID, err)
		}
		out[r.ID] = &r
		return nil
	})
	if err != nil {
		return fmt.Errorf("read tasks: %w", err)
	}
	return nil
}

func (rd reader) responsibles(ctx context.Context, ids []int, out map[int][]Responsible) error {
	err := rd.each(ctx, responsibleSelect, "task_id", ids, func(rows *sql.Rows) error {
		var (
			taskID     int
			user, role sql.NullInt64
			expiry     bool
		)
		if err := rows.Scan(&taskID, &user, &role, &expiry); err != nil {
			return err
		}
		out[taskID] = append(out[taskID], Responsible{UserID: int(user.Int64), RoleID: int(role.Int64), Expiry: expiry})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read task responsibles: %w", err)
	}
	return nil
}

// cases reads the cases of ids (all when nil).
func (rd reader) cases(ctx context.Context, ids []int) (map[int]*caseData, error) {
	out := map[int]*caseData{}
	err := rd.each(ctx, caseSelect, "id", ids, func(rows *sql.Rows) error {
		var (
			r                       caseData
			created, updated, ended sql.NullTime
			creator, owner          sql.NullInt64
			custom                  []byte
		)
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &r.Category, &r.State, &created, &updated, &ended,
			&creator, &owner, &r.Hidden, &custom); err != nil {
			return err
		}
		r.Created, r.Updated, r.Ended = micros(created), micros(updated), micros(ended)
		r.CreatorID, r.OwnerID = int(creator.Int64), int(owner.Int64)
		var err error
		if r.Custom, err = rd.customFields(custom); err != nil {
			return fmt.Errorf("custom fields of case %d: %w", r.ID, err)
		}
		out[r.ID] = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	return out, nil
}

// starters reads who started a task of the cases of ids (all when nil).
func (rd reader) starters(ctx context.Context, ids []int) (map[int][]int, error) {
	out := map[int][]int{}
	err := rd.each(ctx, starterSelect, "case_id", ids, func(rows *sql.Rows) error {
		var caseID, user int
		if err := rows.Scan(&caseID, &user); err != nil {
			return err
		}
		out[caseID] = append(out[caseID], user)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read case starters: %w", err)
	}
	return out, nil
}

func micros(t sql.NullTime) int64 {
	if !t.Valid {
		return NoTime
	}
	return t.Time.UnixMicro()
}

// customFields turns a JSON object into the text of each field as PostgreSQL's ->>
// gives it.
func (reader) customFields(raw []byte) (Fields, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(Fields, 0, len(m))
	for k, v := range m {
		v = bytes.TrimSpace(v)
		switch {
		case bytes.Equal(v, []byte("null")):
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			out = append(out, Field{k, s})
		default:
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil {
				return nil, err
			}
			out = append(out, Field{k, b.String()})
		}
	}
	return out, nil
}

// The expressions a PostgreSQL sync reads along with the feed (changefeed.ReadAlong),
// over its CTE changes: the changed tasks with their responsibles, the changed cases and
// who started their tasks, each as one JSON array (NULL for none). Times come as Unix
// microseconds, as rows hold them. The ids are gathered into an array first, so each
// table is read by its index whatever the planner guesses of the feed.
var changedAlong = []string{
	`(SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'description', t.description, 'category', t.category,
		'kind', t.kind, 'state', t.state, 'priority', t.priority, 'expiry_priority', t.expiry_priority, 'position', t.position,
		'system', t.system, 'hidden', t.hidden, 'created', ` + us("t.created_at") + `, 'updated', ` + us("t.updated_at") + `,
		'expiry', ` + us("t.expiry_timestamp") + `, 'delay', ` + us("t.delay_timestamp") + `, 'started', ` + us("t.started_at") + `,
		'ended', ` + us("t.ended_at") + `, 'case_id', t.case_id, 'worker_id', t.worker_id, 'creator_id', t.creator_id,
		'custom_fields', t.custom_fields,
		'responsibles', (SELECT json_agg(json_build_object('user_id', r.user_id, 'role_id', r.role_id, 'expiry', r.expiry))
			FROM task_responsibles AS r WHERE r.task_id = t.id)))
	FROM tasks AS t WHERE t.id = ANY(ARRAY(SELECT DISTINCT task_id FROM changes WHERE task_id IS NOT NULL)))`,
	`(SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'description', c.description, 'category', c.category,
		'state', c.state, 'created', ` + us("c.created_at") + `, 'updated', ` + us("c.updated_at") + `, 'ended', ` + us("c.ended_at") + `,
		'creator_id', c.creator_id, 'owner_id', c.owner_id, 'hidden', c.hidden, 'custom_fields', c.custom_fields))
	FROM cases AS c WHERE c.id = ANY(ARRAY(SELECT DISTINCT case_id FROM changes WHERE case_id IS NOT NULL)))`,
	`(SELECT json_agg(json_build_array(s.case_id, s.user_id)) FROM (` + starterSelect + `
		AND case_id = ANY(ARRAY(SELECT DISTINCT case_id FROM changes WHERE case_id IS NOT NULL))) AS s)`,
}

// us is a time column as Unix microseconds (extract gives a numeric: exact).
func us(col string) string { return "(extract(epoch FROM " + col + ") * 1000000)::bigint" }

// The JSON changedAlong encodes rows in.
type (
	taskJSON struct {
		ID                                int
		Name, Description, Category, Kind string
		State, Priority                   string
		ExpiryPriority                    *string `json:"expiry_priority"`
		Position                          int
		System, Hidden                    bool
		Created, Updated                  int64
		Expiry, Delay, Started, Ended     *int64
		CaseID                            int             `json:"case_id"`
		WorkerID                          *int            `json:"worker_id"`
		CreatorID                         *int            `json:"creator_id"`
		Custom                            json.RawMessage `json:"custom_fields"`
		Responsibles                      []struct {
			UserID *int `json:"user_id"`
			RoleID *int `json:"role_id"`
			Expiry bool
		}
	}
	caseJSON struct {
		ID                          int
		Name, Description, Category string
		State                       string
		Created, Updated            int64
		Ended                       *int64
		CreatorID                   *int `json:"creator_id"`
		OwnerID                     *int `json:"owner_id"`
		Hidden                      bool
		Custom                      json.RawMessage `json:"custom_fields"`
	}
)

// changedRows decodes what changedAlong read (each nil when it found no rows).
func (rd reader) changedRows(tasksJSON, casesJSON, startersJSON []byte) (map[int]*taskData, map[int]*caseData, map[int][]int, error) {
	tasks, cases, starters := map[int]*taskData{}, map[int]*caseData{}, map[int][]int{}
	var ts []taskJSON
	var cs []caseJSON
	var ss [][2]int
	for _, d := range []struct {
		raw []byte
		v   any
	}{{tasksJSON, &ts}, {casesJSON, &cs}, {startersJSON, &ss}} {
		if len(d.raw) > 0 {
			if err := json.Unmarshal(d.raw, d.v); err != nil {
				return nil, nil, nil, fmt.Errorf("decode changed rows: %w", err)
			}
		}
	}
	for _, j := range ts {
		t := &taskData{ID: j.ID, Name: j.Name, Description: j.Description, Category: j.Category, Kind: j.Kind,
			State: j.State, Priority: j.Priority, ExpiryPriority: deref(j.ExpiryPriority), Position: j.Position,
			System: j.System, Hidden: j.Hidden, Created: j.Created, Updated: j.Updated,
			Expiry: microsOr(j.Expiry), Delay: microsOr(j.Delay), Started: microsOr(j.Started), Ended: microsOr(j.Ended),
			CaseID: j.CaseID, WorkerID: deref(j.WorkerID), CreatorID: deref(j.CreatorID)}
		var err error
		if t.Custom, err = rd.customFields(j.Custom); err != nil {
			return nil, nil, nil, fmt.Errorf("custom fields of task %d: %w", t.ID, err)
		}
		for _, r := range j.Responsibles {
			t.Responsibles = append(t.Responsibles, Responsible{UserID: deref(r.UserID), RoleID: deref(r.RoleID), Expiry: r.Expiry})
		}
		tasks[t.ID] = t
	}
	for _, j := range cs {
		c := &caseData{ID: j.ID, Name: j.Name, Description: j.Description, Category: j.Category, State: j.State,
			Created: j.Created, Updated: j.Updated, Ended: microsOr(j.Ended), CreatorID: deref(j.CreatorID),
			OwnerID: deref(j.OwnerID), Hidden: j.Hidden}
		var err error
		if c.Custom, err = rd.customFields(j.Custom); err != nil {
			return nil, nil, nil, fmt.Errorf("custom fields of case %d: %w", c.ID, err)
		}
		cases[c.ID] = c
	}
	for _, s := range ss {
		starters[s[0]] = append(starters[s[0]], s[1])
	}
	return tasks, cases, starters, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func microsOr(p *int64) int64 {
	if p == nil {
		return NoTime
	}
	return *p
}
