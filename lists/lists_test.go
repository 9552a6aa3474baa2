package lists_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	portico "github.com/portico-dev/portico"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// world is a server with random tasks and cases over the demo directory.
type world struct {
	srv     *servertest.Server
	sys     context.Context
	users   map[string]int
	roles   []int
	clients map[string]*servertest.Client
}

var (
	categories = []string{"Finance", "HR", "IT", ""}
	regions    = []string{"EU", "US", "APAC"}
	states     = []task.State{task.StateCREATED, task.StateSUSPENDED, task.StateRESUMED, task.StatePARKED,
		task.StateDELAYED, task.StateREADY_FOR_JOIN, task.StateDONE, task.StateDESTROYED, task.StateFAILED}
	priorities = []task.Priority{task.PriorityEXCEPTION, task.PriorityHIGH, task.PriorityNORMAL, task.PriorityLOW}
	names      = []string{"Review invoice", "approve Budget", "Sign contract", "check ORDER", "Prepare report"}
)

func newWorld(t *testing.T, dialect string, seed uint64) *world {
	srv := servertest.Start(t, dialect, portico.Config{Demo: true})
	w := &world{srv: srv, sys: policy.SystemContext(context.Background()), users: map[string]int{}, clients: map[string]*servertest.Client{}}
	c := srv.DB.Client
	for _, u := range c.User.Query().AllX(w.sys) {
		w.users[u.Name] = u.ID
	}
	for _, name := range []string{"admin", "demo", "alice", "bob", "carol"} {
		w.clients[name] = srv.Login(t, name, name)
	}
	roles := c.Role.Query().IDsX(w.sys)
	w.roles = roles
	var userIDs []int
	for _, id := range w.users {
		userIDs = append(userIDs, id)
	}
	slices.Sort(userIDs)
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(n int) int { return rng.IntN(n) }
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	var cases []*ent.BusinessCase
	for i := range 30 {
		q := c.BusinessCase.Create().SetName(fmt.Sprintf("%s %d", names[pick(len(names))], i)).
			SetCategory(categories[pick(len(categories))]).
			SetState([]businesscase.State{businesscase.StateCREATED, businesscase.StateRUNNING, businesscase.StateDONE, businesscase.StateDESTROYED}[pick(4)]).
			SetCreatedAt(base.Add(time.Duration(pick(3000)) * time.Minute)).
			SetHidden(pick(10) == 0)
		if pick(3) > 0 {
			q.SetCreatorID(userIDs[pick(len(userIDs))])
		}
		if pick(3) == 0 {
			q.SetOwnerID(userIDs[pick(len(userIDs))])
		}
		if pick(2) == 0 {
			q.SetDescription("about the " + names[pick(len(names))])
		}
		if pick(2) == 0 {
			q.SetCustomFields(map[string]any{"region": regions[pick(len(regions))], "n": fmt.Sprint(pick(4))})
		}
		cases = append(cases, q.SaveX(w.sys))
	}
	for i := range 240 {
		q := c.Task.Create().SetName(names[pick(len(names))]).SetCaseID(cases[pick(len(cases))].ID).
			SetCategory(categories[pick(len(categories))]).SetState(states[pick(len(states))]).
			SetPriority(priorities[pick(len(priorities))]).
			SetCreatedAt(base.Add(time.Duration(pick(3000)) * time.Minute)). // ties on purpose
			SetSystem(pick(15) == 0).SetHidden(pick(12) == 0)
		if pick(2) == 0 {
			q.SetExpiryTimestamp(base.Add(time.Duration(pick(200)) * time.Hour))
		}
		if pick(3) == 0 {
			q.SetWorkerID(userIDs[pick(len(userIDs))])
		}
		if pick(2) == 0 {
			q.SetCustomFields(map[string]any{"region": regions[pick(len(regions))], "n": fmt.Sprint(pick(4))})
		}
		if pick(4) == 0 {
			q.SetDescription(fmt.Sprintf("Task %d for the invoice", i))
		}
		tk := q.SaveX(w.sys)
		for k := range 1 + pick(2) {
			r := c.TaskResponsible.Create().SetTaskID(tk.ID).SetExpiry(k == 1 && pick(3) == 0)
			if pick(4) == 0 {
				r.SetUserID(userIDs[pick(len(userIDs))])
			} else {
				r.SetRoleID(roles[pick(len(roles))])
			}
			r.SaveX(w.sys)
		}
	}
	return w
}

// viewerCtx is the context of a viewer's request, for the plain ent queries.
func (w *world) viewerCtx(name string) context.Context {
	return auth.NewContext(context.Background(), &auth.Viewer{UserID: w.users[name], Name: name})
}

type conn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Node struct{ ID string }
	}
}

// walk pages through a list forward in pages of size, checking each total.
func walk(t *testing.T, c *servertest.Client, field, where, orderBy string, size int) (ids []int, total int) {
	t.Helper()
	var after *string
	for range 1000 {
		var out map[string]conn
		c.MustDo(t, fmt.Sprintf(`query($w: %s, $o: %s, $a: Cursor) { list: %s(first: %d, after: $a, where: $w, orderBy: $o) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } } }`,
			map[string]string{"tasks": "TaskWhereInput", "cases": "CaseWhereInput"}[field],
			map[string]string{"tasks": "[TaskOrder!]", "cases": "[CaseOrder!]"}[field], field, size),
			map[string]any{"w": rawJSON(where), "o": rawJSON(orderBy), "a": after}, &out)
		page := out["list"]
		if after == nil {
			total = page.TotalCount
		} else if page.TotalCount != total {
			t.Fatalf("total changed between pages: %d then %d", total, page.TotalCount)
		}
		for _, e := range page.Edges {
			id, _ := strconv.Atoi(e.Node.ID)
			ids = append(ids, id)
		}
		if page.PageInfo.HasPreviousPage != (after != nil) {
			t.Fatalf("hasPreviousPage %t on a page after %v", page.PageInfo.HasPreviousPage, after)
		}
		if !page.PageInfo.HasNextPage {
			return ids, total
		}
		if len(page.Edges) != size {
			t.Fatalf("a page of %d with a next page", len(page.Edges))
		}
		after = page.PageInfo.EndCursor
	}
	t.Fatal("more than 1000 pages")
	return nil, 0
}

func rawJSON(s string) any {
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// Ranks as the lists sort them: priority by urgency, states by the lifecycle.
var (
	priorityRank = map[task.Priority]int{task.PriorityLOW: 0, task.PriorityNORMAL: 1, task.PriorityHIGH: 2, task.PriorityEXCEPTION: 3}
	stateRank    = map[task.State]int{task.StateCREATED: 0, task.StateDELAYED: 1, task.StateSUSPENDED: 2, task.StatePARKED: 3,
		task.StateRESUMED: 4, task.StateREADY_FOR_JOIN: 5, task.StateDONE: 6, task.StateFAILED: 7, task.StateDESTROYED: 8}
	caseStateRank = map[businesscase.State]int{businesscase.StateCREATED: 0, businesscase.StateRUNNING: 1,
		businesscase.StateDONE: 2, businesscase.StateDESTROYED: 3}
)

type orderTerm struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
}

// sortedBy is the order a list must come in: the terms (NULLs last), then the id in the
// last term's direction; key returns a field's value of a row (nil for NULL).
func sortedBy[R any](rows []R, id func(R) int, key func(R, string) any, terms []orderTerm) []int {
	slices.SortFunc(rows, func(a, b R) int {
		desc := false
		for _, o := range terms {
			desc = o.Direction == "DESC"
			x, y := key(a, o.Field), key(b, o.Field)
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return 1
			case y == nil:
				return -1
			}
			var c int
			switch x := x.(type) {
			case string:
				c = cmp.Compare(x, y.(string))
			case int:
				c = cmp.Compare(x, y.(int))
			case time.Time:
				c = x.Compare(y.(time.Time))
			}
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		c := cmp.Compare(id(a), id(b))
		if desc {
			c = -c
		}
		return c
	})
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

func taskKey(t *ent.Task, field string) any {
	switch field {
	case "CREATED_AT":
		return t.CreatedAt.Truncate(time.Microsecond)
	case "UPDATED_AT":
		return t.UpdatedAt.Truncate(time.Microsecond)
	case "NAME":
		return t.Name
	case "CATEGORY":
		return t.Category
	case "STATE":
		return stateRank[t.State]
	case "PRIORITY":
		return priorityRank[t.Priority]
	case "EXPIRY_TIMESTAMP":
		if t.ExpiryTimestamp == nil {
			return nil
		}
		return t.ExpiryTimestamp.Truncate(time.Microsecond)
	case "ENDED_AT":
		if t.EndedAt == nil {
			return nil
		}
		return t.EndedAt.Truncate(time.Microsecond)
	}
	panic(field)
}

func caseKey(c *ent.BusinessCase, field string) any {
	switch field {
	case "CREATED_AT":
		return c.CreatedAt.Truncate(time.Microsecond)
	case "NAME":
		return c.Name
	case "CATEGORY":
		return c.Category
	case "STATE":
		return caseStateRank[c.State]
	}
	panic(field)
}

func terms(orderBy string) []orderTerm {
	if orderBy == "" {
		return nil
	}
	var one orderTerm
	if json.Unmarshal([]byte(orderBy), &one) == nil {
		return []orderTerm{one}
	}
	var list []orderTerm
	if err := json.Unmarshal([]byte(orderBy), &list); err != nil {
		panic(err)
	}
	return list
}

var taskShapes = []struct{ where, orderBy string }{
	{"", ""},
	{"", `{"field":"CREATED_AT","direction":"DESC"}`},
	{`{"businessState":["OPEN"]}`, `{"field":"PRIORITY","direction":"DESC"}`},
	{"", `{"field":"EXPIRY_TIMESTAMP","direction":"ASC"}`},
	{"", `{"field":"EXPIRY_TIMESTAMP","direction":"DESC"}`},
	{`{"category":"Finance"}`, `{"field":"NAME","direction":"ASC"}`},
	{`{"text":"invoice"}`, `{"field":"STATE","direction":"ASC"}`},
	{`{"customFields":[{"name":"region","equals":"EU"}]}`, `{"field":"CATEGORY","direction":"DESC"}`},
	{`{"not":{"customFields":[{"name":"region","equals":"EU"}]}}`, ""},
	{`{"or":[{"priority":"HIGH"},{"stateIn":["PARKED","DONE"]}],"nameContainsFold":"IN"}`, `{"field":"UPDATED_AT","direction":"DESC"}`},
	{`{"hasCaseWith":[{"category":"HR"}],"expiryTimestampNotNil":true}`, ""},
	{`{"not":{"expiryTimestampGT":"2000-01-01T00:00:00Z"}}`, ""},
	{`{"hasWorkerWith":[{"nameIn":["alice","bob","demo"]}]}`, `{"field":"ENDED_AT","direction":"ASC"}`},
	{`{"priorityNotIn":["LOW"],"categoryNEQ":"IT","hasWorker":false}`, `{"field":"PRIORITY","direction":"ASC"}`},
	{`{"businessState":["OPEN"]}`, `[{"field":"PRIORITY","direction":"DESC"},{"field":"EXPIRY_TIMESTAMP","direction":"ASC"}]`},
	{`{"not":{"hasWorkerWith":[{"nameIn":["alice","bob"]}]}}`, ""}, // NULL workers: neither
	{`{"categoryIn":["HR","IT"]}`, `[{"field":"STATE","direction":"ASC"},{"field":"NAME","direction":"DESC"},{"field":"CREATED_AT","direction":"ASC"}]`},
}

var caseShapes = []struct{ where, orderBy string }{
	{"", ""},
	{"", `{"field":"CREATED_AT","direction":"DESC"}`},
	{`{"businessState":["OPEN"]}`, `{"field":"NAME","direction":"ASC"}`},
	{`{"category":"HR"}`, `{"field":"STATE","direction":"DESC"}`},
	{`{"text":"budget"}`, `{"field":"CATEGORY","direction":"ASC"}`},
	{`{"hasCreator":true,"not":{"stateIn":["DONE"]}}`, ""},
	{`{"hasTasksWith":[{"priority":"EXCEPTION"}]}`, `{"field":"CREATED_AT","direction":"ASC"}`},
	{"", `[{"field":"CATEGORY","direction":"ASC"},{"field":"CREATED_AT","direction":"DESC"}]`},
	{`{"not":{"hasTasksWith":[{"priority":"EXCEPTION"}]},"or":[{"hasOwnerWith":[{"name":"carol"}]},{"category":"IT"}]}`, ""},
	{`{"customFields":[{"name":"region","equals":"EU"}]}`, `{"field":"NAME","direction":"ASC"}`},
	{`{"or":[{"customFields":[{"name":"region","equals":"US"},{"name":"n","equals":"2"}]},{"category":"IT"}]}`, ""},
}

// TestListsMatchThePlainQuery holds the lists read from the index to the plain filtered
// ent query (the SQL visibility rule and the where input's own predicates): the same
// rows and total for every viewer and shape, in the order the terms say, each row once
// over the pages; and again after writes, which the very next request counts.
func TestListsMatchThePlainQuery(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		w := newWorld(t, dialect, 1)
		check := func(t *testing.T) {
			for viewer, c := range w.clients {
				shapes := append(slices.Clip(taskShapes), struct{ where, orderBy string }{
					fmt.Sprintf(`{"or":[{"responsibleUserIds":["%d"]},{"responsibleRoleIds":["%d","%d"]}]}`, w.users["demo"], w.roles[0], w.roles[1]), ""})
				for _, sh := range shapes {
					got, total := walk(t, c, "tasks", sh.where, sh.orderBy, 7)
					wi, _, err := filter.DecodeTaskList(sh.where, "")
					if err != nil {
						t.Fatal(err)
					}
					q, err := wi.Filter(w.srv.DB.Client.Task.Query())
					if err != nil {
						t.Fatal(err)
					}
					rows, err := q.All(w.viewerCtx(viewer))
					if err != nil {
						t.Fatal(err)
					}
					want := sortedBy(rows, func(t *ent.Task) int { return t.ID }, taskKey, terms(sh.orderBy))
					if total != len(want) || !slices.Equal(got, want) {
						t.Errorf("%s, tasks where %s order %s: total %d, %v;\nthe plain query: %d, %v", viewer, sh.where, sh.orderBy, total, got, len(want), want)
					}
				}
				for _, sh := range caseShapes {
					got, total := walk(t, c, "cases", sh.where, sh.orderBy, 5)
					wi, _, err := filter.DecodeCaseList(sh.where, "")
					if err != nil {
						t.Fatal(err)
					}
					q, err := wi.Filter(w.srv.DB.Client.BusinessCase.Query())
					if err != nil {
						t.Fatal(err)
					}
					rows, err := q.All(w.viewerCtx(viewer))
					if err != nil {
						t.Fatal(err)
					}
					want := sortedBy(rows, func(c *ent.BusinessCase) int { return c.ID }, caseKey, terms(sh.orderBy))
					if total != len(want) || !slices.Equal(got, want) {
						t.Errorf("%s, cases where %s order %s: total %d, %v;\nthe plain query: %d, %v", viewer, sh.where, sh.orderBy, total, got, len(want), want)
					}
				}
			}
		}
		t.Run("as seeded", check)
		// Writes of every kind the index follows, straight to the database: the next
		// request must see them.
		c := w.srv.DB.Client
		some := c.Task.Query().Limit(40).AllX(w.sys)
		for i, tk := range some {
			switch i % 5 {
			case 0:
				c.Task.UpdateOne(tk).SetState(task.StateDELAYED).ExecX(w.sys)
			case 1:
				c.Task.UpdateOne(tk).SetPriority(task.PriorityEXCEPTION).SetName("Urgent invoice").ExecX(w.sys)
			case 2:
				c.Task.DeleteOne(tk).ExecX(w.sys)
			case 3:
				c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(w.users["demo"]).SaveX(w.sys)
			case 4:
				c.Task.UpdateOne(tk).SetWorkerID(w.users["bob"]).ClearExpiryTimestamp().ExecX(w.sys)
			}
		}
		c.BusinessCase.Update().Where(businesscase.CategoryEQ("HR")).SetOwnerID(w.users["carol"]).ExecX(w.sys)
		c.User.Update().Where(user.Name("nobody")).ExecX(w.sys)
		c.Task.Update().Where(task.IDIn(some[5].ID, some[6].ID)).SetHidden(true).ExecX(w.sys)
		c.BusinessCase.Update().Where(businesscase.CategoryEQ("Finance")).SetHidden(true).ExecX(w.sys)
		t.Run("after writes", check)
		// PortalHiddenTaskCaseExcluded false: the hidden ones are seen like any other.
		w.srv.Policy.SetHiddenExcluded(false)
		t.Run("hidden shown", check)
	})
}

// TestAudienceMatchesThePlainQuery: the audience of a live event (policy's SeesTask and
// SeesCase over the index's reach of one row) is exactly who the SQL predicates let see
// the row, for every demo viewer and every task and case, before and after writes.
func TestAudienceMatchesThePlainQuery(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		w := newWorld(t, dialect, 2)
		ix, c := w.srv.Index, w.srv.DB.Client
		check := func(t *testing.T) {
			if err := ix.Sync(w.sys); err != nil {
				t.Fatal(err)
			}
			allTasks, allCases := c.Task.Query().IDsX(w.sys), c.BusinessCase.Query().IDsX(w.sys)
			for viewer := range w.clients {
				ctx := w.viewerCtx(viewer)
				s, err := w.srv.Policy.Subject(w.users[viewer])
				if err != nil {
					t.Fatal(err)
				}
				v := auth.FromContext(ctx)
				visible := c.Task.Query().IDsX(ctx)
				for _, id := range allTasks {
					r, ok := ix.TaskReach(id)
					if !ok {
						t.Fatalf("task %d not in the index", id)
					}
					if got, want := s.SeesTask(v, r), slices.Contains(visible, id); got != want {
						t.Errorf("%s, task %d: SeesTask %v, the plain query %v (reach %+v)", viewer, id, got, want, r)
					}
				}
				visible = c.BusinessCase.Query().IDsX(ctx)
				for _, id := range allCases {
					r, ok := ix.CaseReach(id)
					if !ok {
						t.Fatalf("case %d not in the index", id)
					}
					if got, want := s.SeesCase(v, r), slices.Contains(visible, id); got != want {
						t.Errorf("%s, case %d: SeesCase %v, the plain query %v", viewer, id, got, want)
					}
				}
			}
		}
		t.Run("as seeded", check)
		some := c.Task.Query().Limit(40).AllX(w.sys)
		for i, tk := range some {
			switch i % 4 {
			case 0:
				c.Task.UpdateOne(tk).SetState(task.StateDELAYED).ExecX(w.sys)
			case 1:
				c.TaskResponsible.Create().SetTaskID(tk.ID).SetUserID(w.users["alice"]).SaveX(w.sys)
			case 2:
				c.Task.UpdateOne(tk).SetWorkerID(w.users["bob"]).ExecX(w.sys)
			case 3:
				c.Task.UpdateOne(tk).SetSystem(!tk.System).SetHidden(!tk.Hidden).ExecX(w.sys)
			}
		}
		c.BusinessCase.Update().Where(businesscase.CategoryEQ("HR")).SetOwnerID(w.users["carol"]).SetHidden(true).ExecX(w.sys)
		t.Run("after writes", check)
		w.srv.Policy.SetHiddenExcluded(false)
		t.Run("hidden shown", check)
	})
}
