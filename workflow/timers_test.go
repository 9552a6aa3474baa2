package workflow_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// newTask creates a task in a fresh case under the system context.
func newTask(t *testing.T, c *ent.Client, state task.State, set func(*ent.TaskCreate)) *ent.Task {
	t.Helper()
	ctx := policy.SystemContext(context.Background())
	cs := c.BusinessCase.Create().SetName("timer case").SetState(businesscase.StateRUNNING).SaveX(ctx)
	q := c.Task.Create().SetName("timer task").SetCaseID(cs.ID).SetState(state)
	if set != nil {
		set(q)
	}
	return q.SaveX(ctx)
}

func TestTimers(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		c := srv.DB.Client
		ctx := policy.SystemContext(context.Background())
		past, future := time.Now().UTC().Add(-time.Minute), time.Now().UTC().Add(time.Hour)
		team := c.Role.Query().Where(role.Name("Team A")).OnlyX(ctx)
		dev := c.Role.Query().Where(role.Name("Development")).OnlyX(ctx)

		lost := newTask(t, c, task.StateSUSPENDED, func(q *ent.TaskCreate) { q.SetExpiryTimestamp(past) })
		moved := newTask(t, c, task.StatePARKED, func(q *ent.TaskCreate) {
			q.SetExpiryTimestamp(past).SetExpiryPriority(task.ExpiryPriorityEXCEPTION)
		})
		c.TaskResponsible.Create().SetTaskID(moved.ID).SetRoleID(team.ID).ExecX(ctx)
		c.TaskResponsible.Create().SetTaskID(moved.ID).SetRoleID(dev.ID).SetExpiry(true).ExecX(ctx)
		notYet := newTask(t, c, task.StateSUSPENDED, func(q *ent.TaskCreate) { q.SetExpiryTimestamp(future) })
		done := newTask(t, c, task.StateDONE, func(q *ent.TaskCreate) { q.SetExpiryTimestamp(past) })
		delayed := newTask(t, c, task.StateDELAYED, func(q *ent.TaskCreate) { q.SetDelayTimestamp(past) })
		stillDelayed := newTask(t, c, task.StateDELAYED, func(q *ent.TaskCreate) { q.SetDelayTimestamp(future) })

		n, err := srv.Work.FireDue(context.Background())
		if err != nil || n != 3 {
			t.Fatalf("FireDue = %d, %v; want 3 due timers", n, err)
		}
		tests := []struct {
			name  string
			id    int
			state task.State
		}{
			{"expired without expiry responsibles is destroyed", lost.ID, task.StateDESTROYED},
			{"expired with expiry responsibles moves, open again", moved.ID, task.StateSUSPENDED},
			{"not yet due", notYet.ID, task.StateSUSPENDED},
			{"finished tasks do not expire", done.ID, task.StateDONE},
			{"due delay ends", delayed.ID, task.StateSUSPENDED},
			{"delay not yet due", stillDelayed.ID, task.StateDELAYED},
		}
		for _, tt := range tests {
			if got := c.Task.GetX(ctx, tt.id); got.State != tt.state {
				t.Errorf("%s: state %s, want %s", tt.name, got.State, tt.state)
			}
		}
		m := c.Task.GetX(ctx, moved.ID)
		if m.Priority != task.PriorityEXCEPTION || m.ExpiryTimestamp != nil || m.WorkerID != nil {
			t.Errorf("moved task: priority %s expiry %v worker %v", m.Priority, m.ExpiryTimestamp, m.WorkerID)
		}
		rs := c.TaskResponsible.Query().Where(taskresponsible.TaskID(moved.ID)).AllX(ctx)
		if len(rs) != 1 || rs[0].RoleID == nil || *rs[0].RoleID != dev.ID || rs[0].Expiry {
			t.Errorf("moved task responsibles: %+v, want only Development", rs)
		}
		if !c.Note.Query().Where(note.TaskID(moved.ID), note.System(true)).ExistX(ctx) {
			t.Error("no system note on the expired task")
		}
		if n, _ := srv.Work.FireDue(context.Background()); n != 0 {
			t.Errorf("second round fired %d timers again", n)
		}
	})
}

// TestTimersFireOnceAcrossServers runs the timers of three servers on one PostgreSQL
// database at the same moment: every due task expires exactly once.
func TestTimersFireOnceAcrossServers(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	servers := []*servertest.Server{servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})}
	for range 2 {
		servers = append(servers, servertest.Start(t, "postgres", portico.Config{DatabaseURL: url}))
	}
	c := servers[0].DB.Client
	const due = 600
	past := time.Now().UTC().Add(-time.Minute)
	for range due {
		newTask(t, c, task.StateSUSPENDED, func(q *ent.TaskCreate) { q.SetExpiryTimestamp(past) })
	}
	var wg sync.WaitGroup
	counts := make([]int, len(servers))
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Work.FireDue(context.Background())
			if err != nil {
				t.Errorf("server %d: %v", i, err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := counts[0] + counts[1] + counts[2]
	events := c.WorkflowEvent.Query().Where(workflowevent.Kind("EXPIRED")).CountX(policy.SystemContext(context.Background()))
	if total != due || events != due {
		t.Fatalf("fired %v (sum %d) with %d EXPIRED events; want each of %d tasks exactly once", counts, total, events, due)
	}
}
