package portico_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	portico "github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

type orderPage struct {
	Tasks struct {
		Edges []struct {
			Node struct {
				ID       string
				Name     string
				State    string
				Priority string
			}
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   string
		}
	}
}

// TestTaskListOrders: PRIORITY sorts by urgency and STATE by the lifecycle (the enums'
// declaration order, ent/schema/rank.go), in the tasks query and in a case's nested
// tasks; orderBy takes a list, which sorts by each field in turn, and paging through it
// with after: endCursor visits every row once.
func TestTaskListOrders(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		cs := c.BusinessCase.Create().SetName("ordering").SaveX(ctx)
		base := time.Now().UTC().Truncate(time.Second)
		prios := []task.Priority{task.PriorityLOW, task.PriorityNORMAL, task.PriorityEXCEPTION, task.PriorityHIGH}
		states := []task.State{task.StateDONE, task.StateSUSPENDED, task.StateCREATED, task.StateDESTROYED,
			task.StateDELAYED, task.StateRESUMED, task.StateFAILED, task.StatePARKED, task.StateREADY_FOR_JOIN}
		urgency := map[task.Priority]int{task.PriorityEXCEPTION: 0, task.PriorityHIGH: 1, task.PriorityNORMAL: 2, task.PriorityLOW: 3}
		var builders []*ent.TaskCreate
		for i := range 12 {
			p := prios[i%len(prios)]
			builders = append(builders, c.Task.Create().SetName(fmt.Sprintf("t%02d", i)).SetCaseID(cs.ID).
				SetPriority(p).SetState(states[i%len(states)]).
				// Ties in priority and expiry, broken by the creation time.
				SetExpiryTimestamp(base.Add(time.Duration(i%3)*time.Hour)).
				SetCreatedAt(base.Add(-time.Duration(i)*time.Minute)))
		}
		tasks := c.Task.CreateBulk(builders...).SaveX(ctx)
		// A bulk update that sets the priority sets its rank too.
		c.Task.Update().Where(task.ID(tasks[0].ID)).SetPriority(task.PriorityHIGH).ExecX(ctx)
		tasks[0].Priority = task.PriorityHIGH
		admin := srv.Login(t, "admin", "admin")
		caseID := strconv.Itoa(cs.ID)

		list := func(orderBy any, first int, after *string) orderPage {
			var out orderPage
			vars := map[string]any{"c": caseID, "o": orderBy, "f": first}
			if after != nil {
				vars["a"] = *after
			}
			admin.MustDo(t, `query($c: ID!, $o: [TaskOrder!], $f: Int, $a: Cursor) {
				tasks(first: $f, after: $a, orderBy: $o, where: {caseID: $c}) {
					edges { node { id name state priority } } pageInfo { hasNextPage endCursor } } }`, vars, &out)
			return out
		}
		names := func(p orderPage) []string {
			var s []string
			for _, e := range p.Tasks.Edges {
				s = append(s, e.Node.Name)
			}
			return s
		}
		distinct := func(p orderPage, f func(string, string) string) []string {
			var s []string
			for _, e := range p.Tasks.Edges {
				if v := f(e.Node.State, e.Node.Priority); len(s) == 0 || s[len(s)-1] != v {
					s = append(s, v)
				}
			}
			return s
		}
		byPriority := func(_, p string) string { return p }
		byState := func(s, _ string) string { return s }

		// A single object is a list of one (GraphQL's input coercion).
		got := distinct(list(map[string]any{"field": "PRIORITY", "direction": "DESC"}, 50, nil), byPriority)
		if want := []string{"EXCEPTION", "HIGH", "NORMAL", "LOW"}; !slices.Equal(got, want) {
			t.Errorf("PRIORITY DESC: %v, want %v", got, want)
		}
		got = distinct(list([]any{map[string]any{"field": "STATE"}}, 50, nil), byState)
		if want := []string{"CREATED", "DELAYED", "SUSPENDED", "PARKED", "RESUMED", "READY_FOR_JOIN", "DONE", "FAILED", "DESTROYED"}; !slices.Equal(got, want) {
			t.Errorf("STATE ASC: %v, want %v", got, want)
		}

		// [PRIORITY DESC, EXPIRY_TIMESTAMP ASC, CREATED_AT DESC], computed here.
		want := slices.Clone(tasks)
		slices.SortStableFunc(want, func(a, b *ent.Task) int {
			if d := urgency[a.Priority] - urgency[b.Priority]; d != 0 {
				return d
			}
			if d := a.ExpiryTimestamp.Compare(*b.ExpiryTimestamp); d != 0 {
				return d
			}
			return b.CreatedAt.Compare(a.CreatedAt)
		})
		var wantNames []string
		for _, w := range want {
			wantNames = append(wantNames, w.Name)
		}
		multi := []any{
			map[string]any{"field": "PRIORITY", "direction": "DESC"},
			map[string]any{"field": "EXPIRY_TIMESTAMP", "direction": "ASC"},
			map[string]any{"field": "CREATED_AT", "direction": "DESC"},
		}
		if got := names(list(multi, 50, nil)); !slices.Equal(got, wantNames) {
			t.Errorf("multi-field order: %v, want %v", got, wantNames)
		}
		var paged []string
		var after *string
		for range len(wantNames) {
			p := list(multi, 2, after)
			paged = append(paged, names(p)...)
			if !p.Tasks.PageInfo.HasNextPage {
				break
			}
			end := p.Tasks.PageInfo.EndCursor
			after = &end
		}
		if !slices.Equal(paged, wantNames) {
			t.Errorf("pages of 2: %v, want %v", paged, wantNames)
		}

		// A case's nested tasks sort by rank too (ent's SQL ordering, not the task list's).
		var nested struct {
			Node struct {
				Tasks struct {
					Edges []struct{ Node struct{ Priority string } }
				}
			}
		}
		admin.MustDo(t, `query($c: ID!) { node(id: $c) { ... on Case {
			tasks(first: 50, orderBy: [{field: PRIORITY, direction: ASC}, {field: NAME}]) { edges { node { priority } } } } } }`,
			map[string]any{"c": caseID}, &nested)
		var nestedGot []string
		for _, e := range nested.Node.Tasks.Edges {
			if p := e.Node.Priority; len(nestedGot) == 0 || nestedGot[len(nestedGot)-1] != p {
				nestedGot = append(nestedGot, p)
			}
		}
		if want := []string{"LOW", "NORMAL", "HIGH", "EXCEPTION"}; !slices.Equal(nestedGot, want) {
			t.Errorf("case { tasks(orderBy: PRIORITY ASC) }: %v, want %v", nestedGot, want)
		}
	})
}
