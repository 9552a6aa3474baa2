// Package notify mails users about tasks assigned (ASSIGNED), delegated (DELEGATED) or
// about to expire (EXPIRING) to them or their roles. The rule of who gets which mail in
// which language is recipients.go; the texts are texts.go; this file is the machinery
// that keeps the SMTP server off the request path:
//
//   - Assigned is called after a transaction commits. It only puts the task ids on a
//     bounded queue (Config.Queue assignments) and returns; when the queue is full the
//     assignment is dropped, logged and counted (Stats.Dropped).
//   - One resolver takes the assignments in order, reads the tasks and expands roles to
//     their members (recipients.go), builds one message per recipient in its language
//     and hands them on in batches of Config.Batch messages. It blocks while every
//     sender is busy, so memory stays bounded and the queue, not the request, absorbs a
//     slow SMTP server.
//   - Config.Workers senders each send one batch per SMTP session (one connection for
//     up to Batch messages, each message addressed to one recipient). A message the
//     server refuses (5xx) is not sent again: it is logged and counted (Refused). A
//     session that fails (down, 4xx, hanging past Config.SessionTimeout) is tried again
//     for the messages not yet accepted, Config.Attempts times in all with a backoff
//     doubling from Config.Backoff; then they are logged and counted (Failed).
//
// Mails are sent by the server that committed the assignment (not by every server on
// the bus), at most once each, and are lost only as counted: dropped from a full queue,
// refused, failed after the attempts, or pending when the server stops.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/mail"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/settings"
)

// Config tunes the notifier; zero fields take the defaults noted.
type Config struct {
	Queue          int           // assignments waiting for the resolver (1024)
	Batch          int           // messages per SMTP session (50)
	Workers        int           // concurrent SMTP sessions (2)
	Attempts       int           // sessions tried per message before giving up (4)
	Backoff        time.Duration // wait before the second attempt, doubling after (30s)
	SessionTimeout time.Duration // longest SMTP session, connection included (1m)
}

func (c Config) withDefaults() Config {
	if c.Queue <= 0 {
		c.Queue = 1024
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Attempts <= 0 {
		c.Attempts = 4
	}
	if c.Backoff <= 0 {
		c.Backoff = 30 * time.Second
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = time.Minute
	}
	return c
}

// Sender sends a batch of messages in one session (package mail's Sender).
type Sender interface {
	SendAll(ctx context.Context, msgs []mail.Message) []error
}

// Stats counts what the notifier did since it started.
type Stats struct {
	Assignments int64 // assignments queued
	Dropped     int64 // assignments dropped: queue full, or pending when the server stopped
	Unresolved  int64 // assignments whose recipients could not be read (database error)
	Messages    int64 // messages built (one per recipient and task)
	Sent        int64 // messages the SMTP server accepted
	Refused     int64 // messages the SMTP server refused for good (5xx)
	Failed      int64 // messages given up after Config.Attempts sessions, or pending at stop
	Retries     int64 // messages tried again after a failed session
	Sessions    int64 // SMTP sessions opened
}

type counters struct {
	assignments, dropped, unresolved, messages, sent, refused, failed, retries, sessions atomic.Int64
}

// Notifier mails assignment notifications in the background.
type Notifier struct {
	client   *ent.Client
	policy   *policy.Policy
	settings *settings.Service
	sender   Sender // nil: nothing is mailed (no SMTP server configured)
	log      *slog.Logger
	cfg      Config
	jobs     chan job
	batches  chan []mail.Message
	stats    counters
	wg       sync.WaitGroup
}

type job struct {
	kind  string
	tasks []int
}

// New returns a notifier mailing through sender (nil: no SMTP server; assignments are
// ignored). Start runs it.
func New(client *ent.Client, p *policy.Policy, s *settings.Service, sender Sender, log *slog.Logger, cfg Config) *Notifier {
	cfg = cfg.withDefaults()
	return &Notifier{client: client, policy: p, settings: s, sender: sender, log: log, cfg: cfg,
		jobs: make(chan job, cfg.Queue), batches: make(chan []mail.Message)}
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	c := &n.stats
	return Stats{Assignments: c.assignments.Load(), Dropped: c.dropped.Load(), Unresolved: c.unresolved.Load(),
		Messages: c.messages.Load(), Sent: c.sent.Load(), Refused: c.refused.Load(), Failed: c.failed.Load(),
		Retries: c.retries.Load(), Sessions: c.sessions.Load()}
}

// Assigned queues the mails about tasks newly assigned, delegated or about to expire
// (kind: workflow.AssignedNew, AssignedDelegated, AssignedExpiring). Call it after the
// transaction committed; it never blocks and never touches the database or the SMTP
// server.
func (n *Notifier) Assigned(ctx context.Context, kind string, taskIDs []int) {
	if n.sender == nil || len(taskIDs) == 0 {
		return
	}
	select {
	case n.jobs <- job{kind: kind, tasks: append([]int(nil), taskIDs...)}:
		n.stats.assignments.Add(1)
	default:
		n.stats.dropped.Add(1)
		n.log.WarnContext(ctx, "assignment mail dropped: the notification queue is full", "kind", kind, "tasks", taskIDs, "queue", n.cfg.Queue)
	}
}

// Start runs the resolver and the senders until ctx ends; Wait waits for them.
func (n *Notifier) Start(ctx context.Context) {
	if n.sender == nil {
		return
	}
	n.wg.Add(1 + n.cfg.Workers)
	go func() {
		defer n.wg.Done()
		n.resolve(ctx)
	}()
	for range n.cfg.Workers {
		go func() {
			defer n.wg.Done()
			n.send(ctx)
		}()
	}
}

// Wait waits until the goroutines of Start ended (after its ctx ended).
func (n *Notifier) Wait() { n.wg.Wait() }

func (n *Notifier) resolve(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			n.drop(ctx)
			return
		case j := <-n.jobs:
			msgs, err := n.messages(ctx, j.kind, j.tasks)
			if err != nil {
				if ctx.Err() != nil {
					n.stats.dropped.Add(1)
					n.drop(ctx)
					return
				}
				n.stats.unresolved.Add(1)
				n.log.Error("assignment mail: read the recipients", "kind", j.kind, "tasks", j.tasks, "err", err)
				continue
			}
			n.stats.messages.Add(int64(len(msgs)))
			for len(msgs) > 0 {
				b := msgs[:min(n.cfg.Batch, len(msgs))]
				msgs = msgs[len(b):]
				select {
				case n.batches <- b:
				case <-ctx.Done():
					n.stats.failed.Add(int64(len(b) + len(msgs)))
					n.log.Warn("assignment mails not sent: the server stops", "messages", len(b)+len(msgs))
					n.drop(ctx)
					return
				}
			}
		}
	}
}

// drop counts and logs the assignments still queued when the server stops.
func (n *Notifier) drop(context.Context) {
	left := 0
	for {
		select {
		case <-n.jobs:
			left++
		default:
			if left > 0 {
				n.stats.dropped.Add(int64(left))
				n.log.Warn("assignment mails not sent: the server stops", "assignments", left)
			}
			return
		}
	}
}

func (n *Notifier) send(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-n.batches:
			n.deliver(ctx, b)
		}
	}
}

// deliver sends one batch: up to Config.Attempts sessions for the messages not yet
// accepted or refused, with a doubling backoff between them.
func (n *Notifier) deliver(ctx context.Context, pending []mail.Message) {
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, n.cfg.SessionTimeout)
		n.stats.sessions.Add(1)
		errs := n.sender.SendAll(sctx, pending)
		cancel()
		var again []mail.Message
		var last error
		for i, err := range errs {
			switch {
			case err == nil:
				n.stats.sent.Add(1)
			case mail.Permanent(err):
				n.stats.refused.Add(1)
				n.log.Error("assignment mail refused by the SMTP server; not sent", "to", pending[i].To,
					"kind", pending[i].Headers[headerKind], "task", pending[i].Headers[headerTask], "err", err)
			default:
				again, last = append(again, pending[i]), err
			}
		}
		if len(again) == 0 {
			return
		}
		if attempt >= n.cfg.Attempts || ctx.Err() != nil {
			n.stats.failed.Add(int64(len(again)))
			why := fmt.Sprintf("gave up after %d attempts", attempt)
			if ctx.Err() != nil {
				why = "the server stops"
			}
			n.log.Error("assignment mails not sent: "+why, "messages", len(again), "to", recipients(again), "err", last)
			return
		}
		n.stats.retries.Add(int64(len(again)))
		n.log.Warn("assignment mails: SMTP session failed; trying again", "messages", len(again), "attempt", attempt,
			"in", wait, "err", last)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.stats.failed.Add(int64(len(again)))
			n.log.Error("assignment mails not sent: the server stops", "messages", len(again), "to", recipients(again), "err", last)
			return
		case <-t.C:
		}
		pending, wait = again, 2*wait
	}
}

// recipients names the first few recipients of msgs, for the log.
func recipients(msgs []mail.Message) []string {
	const most = 10
	out := make([]string, 0, min(len(msgs), most+1))
	for _, m := range msgs[:min(len(msgs), most)] {
		out = append(out, m.To)
	}
	if len(msgs) > most {
		out = append(out, fmt.Sprintf("and %d more", len(msgs)-most))
	}
	return out
}
