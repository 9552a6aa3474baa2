package portico_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

type chartOut struct {
	Labels []string
	Values []float64
	Total  float64
}

func (c chartOut) value(label string) float64 {
	if i := slices.Index(c.Labels, label); i >= 0 {
		return c.Values[i]
	}
	return -1
}

func chart(t *testing.T, c *servertest.Client, input string) chartOut {
	t.Helper()
	var out struct{ StatisticChart chartOut }
	c.MustDo(t, `{ statisticChart(input: `+input+`) { labels values total } }`, nil, &out)
	return out.StatisticChart
}

func TestStatisticCharts(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		db := srv.DB.Client
		now := time.Now().UTC()
		dev := db.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		// Besides the three demo tasks (HIGH, NORMAL, LOW, all expiring in the future):
		// two more for Development, one expired, one without expiry, and a case that
		// took exactly one hour.
		cs := db.BusinessCase.Create().SetName("stats").SetCategory("Finance").SetState(businesscase.StateDONE).
			SetCreatedAt(now.Add(-2 * time.Hour)).SetEndedAt(now.Add(-time.Hour)).SaveX(ctx)
		for _, tk := range []struct {
			prio   task.Priority
			expiry *time.Time
		}{{task.PriorityHIGH, ptr(now.Add(-time.Hour))}, {task.PriorityEXCEPTION, nil}} {
			created := db.Task.Create().SetName("stats task").SetCaseID(cs.ID).SetPriority(tk.prio).
				SetState(task.StateSUSPENDED).SetNillableExpiryTimestamp(tk.expiry).SaveX(ctx)
			db.TaskResponsible.Create().SetTaskID(created.ID).SetRoleID(dev).ExecX(ctx)
		}
		admin, carol := srv.Login(t, "admin", "admin"), srv.Login(t, "carol", "carol")

		byPrio := chart(t, admin, `{target: TASKS, groupBy: PRIORITY}`)
		if byPrio.value("HIGH") != 2 || byPrio.value("EXCEPTION") != 1 || byPrio.value("LOW") != 1 || byPrio.Total != 5 {
			t.Errorf("admin's tasks by priority: %+v", byPrio)
		}
		// Each bar agrees with the task list's count for the same filter, for a viewer
		// who sees only some tasks.
		carolChart := chart(t, carol, `{target: TASKS, groupBy: PRIORITY}`)
		var list struct{ Tasks struct{ TotalCount int } }
		carol.MustDo(t, `{ tasks { totalCount } }`, nil, &list)
		if int(carolChart.Total) != list.Tasks.TotalCount || list.Tasks.TotalCount == 5 {
			t.Errorf("carol's chart total %v, its task list %d (admin sees 5)", carolChart.Total, list.Tasks.TotalCount)
		}
		for i, l := range carolChart.Labels {
			carol.MustDo(t, fmt.Sprintf(`{ tasks(where: {priority: %s}) { totalCount } }`, l), nil, &list)
			if int(carolChart.Values[i]) != list.Tasks.TotalCount {
				t.Errorf("carol's %s bar %v, list %d", l, carolChart.Values[i], list.Tasks.TotalCount)
			}
		}

		if c := chart(t, admin, `{target: TASKS, groupBy: EXPIRY}`); c.value("EXPIRED") != 1 || c.value("NONE") != 1 || c.Total != 5 ||
			slices.Index(c.Labels, "EXPIRED") > slices.Index(c.Labels, "NONE") {
			t.Errorf("tasks by expiry: %+v", c)
		}
		if c := chart(t, admin, `{target: TASKS, groupBy: BUSINESS_STATE}`); c.value("OPEN") != 5 {
			t.Errorf("tasks by business state: %+v", c)
		}
		if c := chart(t, admin, `{target: TASKS, groupBy: RESPONSIBLE}`); c.value("Development") != 3 {
			t.Errorf("tasks by responsible: %+v", c)
		}
		today := now.Format("2006-01-02")
		if c := chart(t, admin, `{target: TASKS, groupBy: CREATED_AT, interval: DAY}`); c.value(today) != 5 {
			t.Errorf("tasks by creation day: %+v (today %s)", c, today)
		}
		if c := chart(t, admin, `{target: CASES, groupBy: CATEGORY, aggregation: AVG, field: BUSINESS_RUNTIME}`); c.value("Finance") < 3599 || c.value("Finance") > 3601 {
			t.Errorf("average case runtime: %+v", c)
		}
		if c := chart(t, admin, `{target: TASKS, groupBy: PRIORITY, taskWhere: {businessState: [OPEN], priority: HIGH}}`); c.Total != 2 {
			t.Errorf("a chart narrowed by the list filter: %+v", c)
		}
		if c := chart(t, admin, `{type: "TASK_BY_PRIORITY", filter: {selectedRoles: ["Development"]}}`); c.Total != 3 {
			t.Errorf("seed chart with a role filter: %+v", c)
		}

		for _, bad := range []struct{ input, says string }{
			{`{target: TASKS, groupBy: OWNER}`, "cannot be grouped by"},
			{`{target: TASKS, groupBy: CREATED_AT}`, "needs an interval"},
			{`{target: CASES, groupBy: STATE, aggregation: AVG}`, "BUSINESS_RUNTIME"},
			{`{type: "PIE"}`, "TASK_BY_PRIORITY"},
			{`{groupBy: STATE}`, "target"},
			{`{type: "TASK_BY_PRIORITY", filter: {selectedTaskPriorities: ["URGENT"]}}`, "URGENT"},
		} {
			wantErr(t, admin.Do(t, `{ statisticChart(input: `+bad.input+`) { total } }`, nil), "BAD_USER_INPUT", bad.says)
		}

		var std struct {
			StatisticCharts []struct {
				ID, Name, Type string
				Data           chartOut
			}
		}
		admin.MustDo(t, `{ statisticCharts { id name type data { labels values total } } }`, nil, &std)
		if len(std.StatisticCharts) != 5 || std.StatisticCharts[0].Name != "Tasks by priority" || std.StatisticCharts[0].Data.Total != 5 {
			t.Errorf("standard charts: %+v", std.StatisticCharts)
		}
	})
}

func TestStatisticUpdated(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		sub := subscribe(t, srv, admin.Token, `subscription { statisticUpdated(chartId: "task-by-priority") { labels values total } }`)
		first := sub.next().Payload.Data.StatisticUpdated
		if first == nil || first.value("LOW") != 1 || first.value("HIGH") != 1 {
			t.Fatalf("first numbers: %+v", first)
		}
		var out struct {
			Tasks struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		admin.MustDo(t, `{ tasks(where: {priority: LOW}) { edges { node { id } } } }`, nil, &out)
		admin.MustDo(t, `mutation($id: ID!) { updateTask(input: {id: $id, priority: HIGH}) { task { id } } }`,
			map[string]any{"id": out.Tasks.Edges[0].Node.ID}, nil)
		next := sub.next().Payload.Data.StatisticUpdated
		if next == nil || next.value("LOW") != -1 || next.value("HIGH") != 2 || next.Total != 3 {
			t.Fatalf("numbers after the change: %+v", next)
		}
	})
}

func ptr[T any](v T) *T { return &v }
