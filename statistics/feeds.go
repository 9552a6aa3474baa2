package statistics

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/portico-dev/portico/outlet"
)

// Feeds pushes charts' numbers to subscribers when they change. Subscribers with one key
// (a viewer and a chart) share one computation per change, run with the context of one
// of them (so with that viewer's visibility).
type Feeds struct {
	log   *slog.Logger
	mu    sync.Mutex
	feeds map[string]*feed
}

type feed struct {
	compute func(context.Context) (*Data, error)
	subs    map[*feedSub]struct{}
	last    *Data
}

type feedSub struct {
	ctx context.Context
	sub *outlet.Sub[*Data] // owed only the newest numbers
}

// send hands d to the subscriber. d is the token: a feed's subscribers share one viewer
// and chart, so one rendering serves all of them.
func (s *feedSub) send(d *Data) { s.sub.Send(d, d) }

// settle lets a burst of changes (one request writes several rows) end before charts
// are recomputed.
const settle = 200 * time.Millisecond

// NewFeeds recomputes every feed after each signal on changes (committed work or policy
// changes, coalesced), until changes closes.
func NewFeeds(changes <-chan struct{}, log *slog.Logger) *Feeds {
	f := &Feeds{log: log, feeds: map[string]*feed{}}
	go func() {
		for range changes {
			time.Sleep(settle)
			f.refresh()
		}
	}()
	return f
}

// Subscribe sends the chart's current numbers, then its new numbers after each change
// that alters them, until ctx ends. compute must give equal results for equal keys.
func (f *Feeds) Subscribe(ctx context.Context, key string, compute func(context.Context) (*Data, error)) (<-chan *Data, error) {
	first, err := compute(ctx)
	if err != nil {
		return nil, err
	}
	s := &feedSub{ctx: ctx}
	f.mu.Lock() // before NewSub: its end hook, which takes f.mu, finds s registered
	defer f.mu.Unlock()
	fd, ok := f.feeds[key]
	if !ok {
		fd = &feed{compute: compute, subs: map[*feedSub]struct{}{}, last: first}
		f.feeds[key] = fd
	}
	s.sub = outlet.NewSub[*Data](ctx, true, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(fd.subs, s)
		if len(fd.subs) == 0 && f.feeds[key] == fd {
			delete(f.feeds, key)
		}
	})
	s.send(first)
	fd.subs[s] = struct{}{}
	return s.sub.C(), nil
}

// refresh recomputes each feed once and sends what changed.
func (f *Feeds) refresh() {
	f.mu.Lock()
	feeds := make(map[string]*feed, len(f.feeds))
	for k, fd := range f.feeds {
		feeds[k] = fd
	}
	f.mu.Unlock()
	for key, fd := range feeds {
		f.mu.Lock()
		var ctx context.Context
		for s := range fd.subs {
			if s.ctx.Err() == nil {
				ctx = s.ctx
				break
			}
		}
		f.mu.Unlock()
		if ctx == nil {
			continue
		}
		d, err := fd.compute(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("recompute chart", "feed", key, "err", err)
			}
			continue
		}
		f.mu.Lock()
		if !reflect.DeepEqual(d, fd.last) {
			fd.last = d
			for s := range fd.subs {
				s.send(d)
			}
		}
		f.mu.Unlock()
	}
}
