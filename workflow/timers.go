package workflow

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/taskresponsible"
	"github.com/portico-dev/portico/policy"
)

// openStates are the states in which a task can still expire.
var openStates = []task.State{task.StateCREATED, task.StateSUSPENDED, task.StateRESUMED, task.StatePARKED, task.StateDELAYED}

// timerBatch bounds the tasks one timer transaction handles.
const timerBatch = 200

// WarnBefore is how long before its expiry a task's responsibles are notified.
const WarnBefore = time.Hour

// RunTimers fires due expiry and delay timers at start and then every interval, until
// ctx ends. Timers live in the tasks table, so a restart loses none: whatever fell due
// while the server was down fires on the first round.
func (e *Engine) RunTimers(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := e.FireDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Error("timers failed", "err", err)
		} else if n > 0 {
			e.log.Info("timers fired", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// TimerStats counts the timer rounds (FireDue calls) and the timers they fired.
type TimerStats struct {
	Runs, Fired, Failed int64 // Failed: rounds that ended with an error
}

type timerCounts struct{ runs, fired, failed atomic.Int64 }

// TimerStats returns the counters.
func (e *Engine) TimerStats() TimerStats {
	return TimerStats{Runs: e.timers.runs.Load(), Fired: e.timers.fired.Load(), Failed: e.timers.failed.Load()}
}

// FireDue handles every task whose expiry or delay is due now and returns how many.
// Each batch is one transaction; on PostgreSQL the rows are locked with SKIP LOCKED, so
// when several servers share the database exactly one acts on a given timer.
func (e *Engine) FireDue(ctx context.Context) (total int, err error) {
	ctx = policy.SystemContext(ctx)
	e.timers.runs.Add(1)
	defer func() {
		e.timers.fired.Add(int64(total))
		if err != nil {
			e.timers.failed.Add(1)
		}
	}()
	for {
		n, err := e.fireBatch(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n < timerBatch {
			break
		}
	}
	for {
		n, err := e.warnBatch(ctx)
		if err != nil || n < timerBatch {
			return total, err
		}
	}
}

// warnBatch marks open tasks expiring within WarnBefore as warned and reports them as
// EXPIRING (once per expiry timestamp), with the same SKIP LOCKED claim as fireBatch.
func (e *Engine) warnBatch(ctx context.Context) (int, error) {
	n := 0
	err := e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		now := e.now()
		q := c.Task.Query().Where(task.ExpiryWarned(false), task.StateIn(openStates...),
			task.ExpiryTimestampGT(now), task.ExpiryTimestampLTE(now.Add(WarnBefore))).
			Order(task.ByID()).Limit(timerBatch)
		if e.dialect == dialect.Postgres {
			q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		soon, err := q.IDs(ctx)
		if err != nil || len(soon) == 0 {
			return nil, nil, err
		}
		if err := c.Task.Update().Where(task.IDIn(soon...)).SetExpiryWarned(true).Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("mark tasks warned: %w", err)
		}
		for _, id := range soon {
			e.afterAssign(ctx, AssignedExpiring, id)
		}
		n = len(soon)
		return nil, nil, nil
	})
	return n, err
}

func (e *Engine) fireBatch(ctx context.Context) (int, error) {
	n := 0
	err := e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		now := e.now()
		q := c.Task.Query().Where(task.Or(
			task.And(task.ExpiryTimestampLTE(now), task.StateIn(openStates...)),
			task.And(task.StateEQ(task.StateDELAYED), task.DelayTimestampLTE(now)),
		)).Order(task.ByID()).Limit(timerBatch)
		if e.dialect == dialect.Postgres {
			q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
		}
		due, err := q.All(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("find due timers: %w", err)
		}
		var tids, cids []int
		for _, t := range due {
			if t.State == task.StateDELAYED && t.DelayTimestamp != nil && !t.DelayTimestamp.After(now) {
				err = e.endDelay(ctx, c, t)
			} else {
				err = e.expire(ctx, c, t)
			}
			if err != nil {
				return nil, nil, err
			}
			tids, cids = append(tids, t.ID), append(cids, t.CaseID)
		}
		n = len(due)
		return tids, cids, nil
	})
	return n, err
}

// endDelay makes a delayed task SUSPENDED: it shows up for its responsibles.
func (e *Engine) endDelay(ctx context.Context, c *ent.Client, t *ent.Task) error {
	if err := c.Task.UpdateOneID(t.ID).SetState(task.StateSUSPENDED).ClearDelayTimestamp().Exec(ctx); err != nil {
		return fmt.Errorf("end delay of task %d: %w", t.ID, err)
	}
	return event(ctx, c, 0, t, "DELAY_ENDED", t.State, task.StateSUSPENDED, nil)
}

// expire moves a task to its expiry responsibles with its expiry priority, or destroys
// it when it has none.
func (e *Engine) expire(ctx context.Context, c *ent.Client, t *ent.Task) error {
	exp, err := c.TaskResponsible.Query().Where(taskresponsible.TaskID(t.ID), taskresponsible.Expiry(true)).
		WithUser().WithRole().All(ctx)
	if err != nil {
		return fmt.Errorf("expiry responsibles of task %d: %w", t.ID, err)
	}
	upd := c.Task.UpdateOneID(t.ID).ClearExpiryTimestamp()
	if len(exp) == 0 {
		if err := upd.SetState(task.StateDESTROYED).SetEndedAt(e.now()).Exec(ctx); err != nil {
			return fmt.Errorf("destroy expired task %d: %w", t.ID, err)
		}
		if err := event(ctx, c, 0, t, "EXPIRED", t.State, task.StateDESTROYED, nil); err != nil {
			return err
		}
		return systemNote(ctx, c, t, "Task expired with no expiry responsible and was destroyed.")
	}
	if _, err := c.TaskResponsible.Delete().Where(taskresponsible.TaskID(t.ID), taskresponsible.Expiry(false)).Exec(ctx); err != nil {
		return fmt.Errorf("clear responsibles of task %d: %w", t.ID, err)
	}
	names := make([]string, 0, len(exp))
	for _, r := range exp {
		if r.Edges.User != nil {
			names = append(names, "#"+r.Edges.User.Name)
		} else if r.Edges.Role != nil {
			names = append(names, r.Edges.Role.Name)
		}
	}
	if _, err := c.TaskResponsible.Update().Where(taskresponsible.TaskID(t.ID), taskresponsible.Expiry(true)).SetExpiry(false).Save(ctx); err != nil {
		return fmt.Errorf("move task %d to expiry responsibles: %w", t.ID, err)
	}
	next := t.State
	if t.State == task.StatePARKED || t.State == task.StateRESUMED {
		next = task.StateSUSPENDED // the old worker loses it with the move
		upd.SetState(next).ClearWorkerID()
	}
	if t.ExpiryPriority != nil {
		upd.SetPriority(task.Priority(*t.ExpiryPriority))
	}
	if err := upd.Exec(ctx); err != nil {
		return fmt.Errorf("expire task %d: %w", t.ID, err)
	}
	if err := event(ctx, c, 0, t, "EXPIRED", t.State, next, map[string]any{"to": names}); err != nil {
		return err
	}
	e.afterAssign(ctx, AssignedNew, t.ID)
	return systemNote(ctx, c, t, "Task expired and moved to %s.", strings.Join(names, ", "))
}
