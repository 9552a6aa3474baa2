// Package cleanup is the daily job that removes the personal data of obsolete users
// (disabled ones): their private dashboards, dashboard order, favorite processes and
// private saved filters; and
// the finished (DONE or DESTROYED) hidden cases with their tasks, notes and history: all
// of them when PortalDeleteAllFinishedHiddenCases is true, else only those the portal
// made (cases of express processes, BusinessCase.portal_created). It
// runs on the cron expression of PortalStartTimeCleanObsoletedUserData (Quartz style,
// seconds first), rescheduled when the variable changes; with several servers on one
// PostgreSQL database an advisory lock lets one of them do each run.
package cleanup

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/robfig/cron/v3"

	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/dashboard"
	"github.com/portico-dev/portico/ent/dashboardposition"
	"github.com/portico-dev/portico/ent/document"
	"github.com/portico-dev/portico/ent/favoriteprocess"
	"github.com/portico-dev/portico/ent/note"
	"github.com/portico-dev/portico/ent/savedfilter"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/ent/workflowevent"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/settings"
)

// lockKey is the advisory lock of a run (any fixed number unique to this job).
const lockKey = 7262736

// Result counts what a run removed.
type Result struct {
	Dashboards, Positions, Favorites int
	SavedFilters                     int  // private saved filters
	HiddenCases                      int  // finished hidden cases removed
	Skipped                          bool // another server holds the lock
}

// Job runs the cleanup.
type Job struct {
	client   *ent.Client
	dialect  string
	settings *settings.Service
	log      *slog.Logger

	mu      sync.Mutex
	nextRun time.Time
}

// New returns the job.
func New(client *ent.Client, dialectName string, s *settings.Service, log *slog.Logger) *Job {
	return &Job{client: client, dialect: dialectName, settings: s, log: log}
}

// Run removes the obsolete users' data in one transaction; a dry run only counts it.
func (j *Job) Run(ctx context.Context, dryRun bool) (Result, error) {
	var res Result
	ctx = policy.SystemContext(ctx)
	err := database.InTx(ctx, j.client, func(ctx context.Context, tx *ent.Tx) error {
		if j.dialect == dialect.Postgres {
			rows, err := tx.QueryContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", lockKey)
			if err != nil {
				return fmt.Errorf("cleanup lock: %w", err)
			}
			var got bool
			if rows.Next() {
				err = rows.Scan(&got)
			}
			rows.Close()
			if err != nil {
				return err
			}
			if !got {
				res.Skipped = true
				return nil
			}
		}
		hidden, err := j.finishedHiddenCases(ctx, tx.Client())
		if err != nil {
			return err
		}
		res.HiddenCases = len(hidden)
		disabled := user.Disabled(true)
		positions := dashboardposition.HasUserWith(disabled)
		dashboards := dashboard.And(dashboard.Public(false), dashboard.HasOwnerWith(disabled))
		favorites := favoriteprocess.HasUserWith(disabled)
		filters := savedfilter.And(savedfilter.Public(false), savedfilter.HasOwnerWith(disabled))
		if dryRun {
			// Count only: the request may run inside a transaction of its own, which a
			// rollback here cannot undo.
			if res.Positions, err = tx.DashboardPosition.Query().Where(positions).Count(ctx); err != nil {
				return err
			}
			if res.Dashboards, err = tx.Dashboard.Query().Where(dashboards).Count(ctx); err != nil {
				return err
			}
			if res.Favorites, err = tx.FavoriteProcess.Query().Where(favorites).Count(ctx); err != nil {
				return err
			}
			res.SavedFilters, err = tx.SavedFilter.Query().Where(filters).Count(ctx)
			return err
		}
		if res.Positions, err = tx.DashboardPosition.Delete().Where(positions).Exec(ctx); err != nil {
			return fmt.Errorf("remove dashboard order: %w", err)
		}
		if res.Dashboards, err = tx.Dashboard.Delete().Where(dashboards).Exec(ctx); err != nil {
			return fmt.Errorf("remove private dashboards: %w", err)
		}
		if res.Favorites, err = tx.FavoriteProcess.Delete().Where(favorites).Exec(ctx); err != nil {
			return fmt.Errorf("remove favorites: %w", err)
		}
		if res.SavedFilters, err = tx.SavedFilter.Delete().Where(filters).Exec(ctx); err != nil {
			return fmt.Errorf("remove private saved filters: %w", err)
		}
		return removeCases(ctx, tx.Client(), hidden)
	})
	return res, err
}

// finishedHiddenCases returns the ids of the finished hidden cases the run removes.
func (j *Job) finishedHiddenCases(ctx context.Context, c *ent.Client) ([]int, error) {
	all, err := j.settings.Value(ctx, settings.CleanupAllHidden)
	if err != nil {
		return nil, err
	}
	q := c.BusinessCase.Query().Where(businesscase.Hidden(true),
		businesscase.StateIn(businesscase.StateDONE, businesscase.StateDESTROYED))
	if all != "true" {
		q.Where(businesscase.PortalCreated(true))
	}
	ids, err := q.IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("find finished hidden cases: %w", err)
	}
	return ids, nil
}

// removeCases deletes cases with their tasks (responsibles go with them), notes,
// history and documents.
func removeCases(ctx context.Context, c *ent.Client, ids []int) error {
	for chunk := range slices.Chunk(ids, 500) {
		tasks := task.CaseIDIn(chunk...)
		if _, err := c.Note.Delete().Where(note.Or(note.CaseIDIn(chunk...), note.HasTaskWith(tasks))).Exec(ctx); err != nil {
			return fmt.Errorf("remove notes of hidden cases: %w", err)
		}
		if _, err := c.WorkflowEvent.Delete().Where(workflowevent.Or(workflowevent.CaseIDIn(chunk...), workflowevent.HasTaskWith(tasks))).Exec(ctx); err != nil {
			return fmt.Errorf("remove history of hidden cases: %w", err)
		}
		if _, err := c.Document.Delete().Where(document.CaseIDIn(chunk...)).Exec(ctx); err != nil {
			return fmt.Errorf("remove documents of hidden cases: %w", err)
		}
		if _, err := c.Task.Delete().Where(tasks).Exec(ctx); err != nil {
			return fmt.Errorf("remove tasks of hidden cases: %w", err)
		}
		if _, err := c.BusinessCase.Delete().Where(businesscase.IDIn(chunk...)).Exec(ctx); err != nil {
			return fmt.Errorf("remove hidden cases: %w", err)
		}
	}
	return nil
}

// NextRun is when the schedule runs the job next (zero before Schedule).
func (j *Job) NextRun() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.nextRun
}

// Schedule runs the job on the variable's cron expression until ctx ends, rescheduling
// when variables change.
func (j *Job) Schedule(ctx context.Context) {
	changes := j.settings.Watch(ctx)
	for {
		expr, err := j.settings.Value(ctx, settings.CleanupCron)
		if err != nil {
			j.log.Error("cleanup schedule", "err", err)
			expr = "0 0 6 * * ?"
		}
		sched, err := settings.ParseCron(expr)
		if err != nil {
			j.log.Error("cleanup schedule: bad cron expression; using the default", "expr", expr, "err", err)
			sched, _ = settings.ParseCron("0 0 6 * * ?")
		}
		c := cron.New(cron.WithLocation(time.UTC))
		c.Schedule(sched, cron.FuncJob(func() {
			res, err := j.Run(ctx, false)
			if err != nil {
				j.log.Error("cleanup run", "err", err)
				return
			}
			j.log.Info("cleanup run", "dashboards", res.Dashboards, "positions", res.Positions, "favorites", res.Favorites, "savedFilters", res.SavedFilters,
				"hiddenCases", res.HiddenCases, "skipped", res.Skipped)
		}))
		c.Start()
		j.mu.Lock()
		j.nextRun = sched.Next(time.Now().UTC())
		j.mu.Unlock()
		select {
		case <-ctx.Done():
			<-c.Stop().Done()
			return
		case <-changes:
			<-c.Stop().Done()
		}
	}
}
