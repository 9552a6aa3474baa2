package listindex

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/changefeed"
)

// source is the database an index follows, and where it stands in its change feed.
type source struct {
	rd   reader
	feed *changefeed.Feed
	log  *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	pos      changefeed.Position
	running  bool
	started  uint64        // syncs begun
	finished uint64        // syncs ended
	err      error         // of the last one
	spent    time.Duration // in syncs, all together
	failed   uint64        // syncs that failed
}

// SyncStats counts the syncs that read the feed: how many ran, how long they took
// together and how many failed.
type SyncStats struct {
	Syncs, Failed uint64
	Duration      time.Duration
}

// SyncStats returns the counters; zero for an index that follows no database.
func (ix *Index) SyncStats() SyncStats {
	src := ix.source
	if src == nil {
		return SyncStats{}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return SyncStats{Syncs: src.finished, Failed: src.failed, Duration: src.spent}
}

// Open reads every task and case of the database into a new index that then follows
// the database's changes (Sync, Follow).
func Open(ctx context.Context, q Querier, dialectName string, feed *changefeed.Feed, log *slog.Logger) (*Index, error) {
	ix := New()
	src := &source{rd: reader{q: q, dialect: dialectName}, feed: feed, log: log}
	src.cond = sync.NewCond(&src.mu)
	ix.source = src
	start := time.Now()
	if err := ix.reload(ctx); err != nil {
		return nil, err
	}
	ix.mu.RLock()
	log.Info("list index loaded", "tasks", ix.tasks.live.GetCardinality(), "cases", ix.cases.live.GetCardinality(),
		"took", time.Since(start).Round(time.Millisecond))
	ix.mu.RUnlock()
	return ix, nil
}

// reload reads everything anew and replaces the index's contents. The feed's position
// is taken first, so what commits during the read is applied by the next sync.
func (ix *Index) reload(ctx context.Context) error {
	src := ix.source
	pos, err := src.feed.Mark(ctx)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	tasks, err := src.rd.tasks(ctx, nil)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	cases, err := src.rd.cases(ctx, nil)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	starters, err := src.rd.starters(ctx, nil)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	fresh := newIndex(ix.lookups)
	fresh.starters = starters
	for _, c := range cases {
		fresh.putCase(c)
	}
	for _, t := range tasks {
		fresh.putTask(t)
	}
	ix.mu.Lock()
	ix.tasks, ix.cases = fresh.tasks, fresh.cases
	ix.byRole, ix.byUser = fresh.byRole, fresh.byUser
	ix.system, ix.hidden, ix.hiddenCases, ix.taskCase = fresh.system, fresh.hidden, fresh.hiddenCases, fresh.taskCase
	ix.byCreator, ix.byOwner, ix.byStarter, ix.starters = fresh.byCreator, fresh.byOwner, fresh.byStarter, fresh.starters
	ix.mu.Unlock()
	src.pos = pos
	return nil
}

// syncTimeout bounds one sync, which runs for every caller waiting on it.
const syncTimeout = 30 * time.Second

// Sync applies every change committed before it was called. Callers arriving together
// share one read of the feed: each waits for a sync that began after it arrived.
func (ix *Index) Sync(ctx context.Context) error {
	return ix.SyncSince(ctx, ix.Mark())
}

// Mark names this moment in the index's syncs: a sync that begins after it has every
// change committed before it. A writer takes one right after its commit, and whoever
// needs the write applied later waits with SyncSince for a sync the writer may have
// begun already, instead of beginning another.
func (ix *Index) Mark() uint64 {
	if ix == nil || ix.source == nil {
		return 0
	}
	src := ix.source
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.started
}

// SyncSince applies every change committed before mark was taken: it returns once a
// sync that began after mark has ended, running one if none has begun.
func (ix *Index) SyncSince(ctx context.Context, mark uint64) error {
	src := ix.source
	if src == nil {
		return nil
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	target := mark + 1
	for src.finished < target {
		if src.running {
			src.cond.Wait()
			continue
		}
		src.running = true
		src.started++
		n := src.started
		src.mu.Unlock()
		began := time.Now()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
		err := ix.step(sctx)
		cancel()
		src.mu.Lock()
		src.running, src.finished, src.err = false, n, err
		src.spent += time.Since(began)
		if err != nil {
			src.failed++
		}
		src.cond.Broadcast()
	}
	return src.err
}

// step reads the feed once and applies what it names.
func (ix *Index) step(ctx context.Context) error {
	src := ix.source
	b, err := src.read(ctx)
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	if b.reload {
		src.log.Info("list index: reloading everything (bulk change or feed pruned)")
		return ix.reload(ctx)
	}
	if len(b.taskIDs) > 0 || len(b.caseIDs) > 0 {
		ix.mu.Lock()
		for _, id := range b.caseIDs {
			ix.setStarters(id, b.starters[id])
			if c := b.cases[id]; c != nil {
				ix.putCase(c)
			} else {
				ix.removeCase(id)
			}
		}
		for _, id := range b.taskIDs {
			if t := b.tasks[id]; t != nil {
				ix.putTask(t)
			} else {
				ix.removeTask(id)
			}
		}
		ix.tasks.compact()
		ix.cases.compact()
		ix.mu.Unlock()
	}
	src.pos = b.next
	return nil
}

// batch is what one sync read: the feed's changes from the index's position, and the
// changed rows as they are now (a row missing is one deleted).
type batch struct {
	next             changefeed.Position
	reload           bool
	taskIDs, caseIDs []int
	tasks            map[int]*taskData
	cases            map[int]*caseData
	starters         map[int][]int
}

// read reads the feed and the rows it names. On PostgreSQL both come in one statement:
// a sync is one round trip, and every list request and live event waits for a sync.
// SQLite, in process, reads the feed, then the rows.
func (src *source) read(ctx context.Context) (batch, error) {
	if src.rd.dialect == dialect.Postgres {
		return src.readAlong(ctx)
	}
	return src.readAfter(ctx)
}

// readAlong reads the changed rows in the feed's statement (changefeed.ReadAlong).
func (src *source) readAlong(ctx context.Context) (batch, error) {
	var b batch
	var tasks, cases, starters []byte
	changes, next, reload, err := src.feed.ReadAlong(ctx, src.rd.q, src.pos, changedAlong, &tasks, &cases, &starters)
	if err != nil || reload {
		return batch{next: next, reload: reload}, err
	}
	b.next = next
	b.taskIDs, b.caseIDs = changedIDs(changes)
	b.tasks, b.cases, b.starters, err = src.rd.changedRows(tasks, cases, starters)
	return b, err
}

// readAfter reads the feed, then the rows it names.
func (src *source) readAfter(ctx context.Context) (batch, error) {
	var b batch
	changes, next, reload, err := src.feed.Read(ctx, src.pos)
	if err != nil || reload {
		return batch{next: next, reload: reload}, err
	}
	b.next = next
	b.taskIDs, b.caseIDs = changedIDs(changes)
	// The changed rows are read at once, not one statement after another: every query
	// waiting on this sync waits for the slowest only.
	g, gctx := errgroup.WithContext(ctx)
	if len(b.taskIDs) > 0 {
		g.Go(func() (err error) { b.tasks, err = src.rd.tasks(gctx, b.taskIDs); return err })
	}
	if len(b.caseIDs) > 0 {
		g.Go(func() (err error) { b.cases, err = src.rd.cases(gctx, b.caseIDs); return err })
		g.Go(func() (err error) { b.starters, err = src.rd.starters(gctx, b.caseIDs); return err })
	}
	err = g.Wait() // before b is read: the reads fill it
	return b, err
}

// changedIDs returns the tasks and the cases changes name, each once.
func changedIDs(changes []changefeed.Change) (taskIDs, caseIDs []int) {
	taskSeen, caseSeen := map[int]bool{}, map[int]bool{}
	for _, c := range changes {
		if c.TaskID != 0 && !taskSeen[c.TaskID] {
			taskSeen[c.TaskID] = true
			taskIDs = append(taskIDs, c.TaskID)
		}
		if c.CaseID != 0 && !caseSeen[c.CaseID] {
			caseSeen[c.CaseID] = true
			caseIDs = append(caseIDs, c.CaseID)
		}
	}
	return taskIDs, caseIDs
}

// Follow syncs every interval until ctx ends, so the index stays close to the database
// between queries (each query still syncs first), and prunes the feed of what every
// server has long read.
func (ix *Index) Follow(ctx context.Context, interval time.Duration) {
	src := ix.source
	if src == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := ix.Sync(ctx); err != nil && ctx.Err() == nil {
			src.log.Warn("list index sync failed", "err", err)
		}
		if time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if err := src.feed.Prune(ctx, keepChanges); err != nil && ctx.Err() == nil {
				src.log.Warn("list index: pruning the change feed failed", "err", err)
			}
		}
	}
}

// Changes are kept an hour: a server that has not read the feed for that long (it
// syncs every second while running) reloads everything.
const (
	keepChanges = time.Hour
	pruneEvery  = 5 * time.Minute
)
