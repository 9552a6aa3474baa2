package live

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// channel is the NOTIFY channel all Portico servers on a database share.
const channel = "portico_events"

// maxPayload keeps NOTIFY payloads under PostgreSQL's 8,000-byte limit.
const maxPayload = 7000

// Postgres is the bus over LISTEN/NOTIFY: every server on the database receives every
// event. A server's own events reach its subscribers in process, before the NOTIFY;
// their echo from the database is dropped.
type Postgres struct {
	*fanout
	origin   string    // this server's id, stamped on what it publishes
	notify   *sql.Stmt // pg_notify, prepared: one round trip per notification
	listener *pq.Listener
	log      *slog.Logger
	done     chan struct{}
	lag      atomic.Pointer[func(time.Duration)] // see ObserveLag
}

// ObserveLag has f told, for every event arriving (from any server, this one included),
// the time from its publication to its arrival here (servers' clocks must agree, as NTP keeps them, for
// this to mean anything; a negative lag from skew counts as 0).
func (p *Postgres) ObserveLag(f func(time.Duration)) { p.lag.Store(&f) }

// NewPostgres listens on dsn and publishes through db as the server origin.
func NewPostgres(dsn string, db *sql.DB, origin string, log *slog.Logger) (*Postgres, error) {
	notify, err := db.Prepare("SELECT pg_notify($1, $2)")
	if err != nil {
		return nil, fmt.Errorf("prepare notify: %w", err)
	}
	p := &Postgres{fanout: newFanout(), origin: origin, notify: notify, log: log, done: make(chan struct{})}
	p.listener = pq.NewListener(dsn, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("event listener", "event", ev, "err", err)
		}
	})
	if err := p.listener.Listen(channel); err != nil {
		p.listener.Close()
		notify.Close()
		return nil, fmt.Errorf("listen on %s: %w", channel, err)
	}
	go p.receive()
	return p, nil
}

// receive decodes notifications and hands them to the subscribers. lib/pq sends a nil
// notification after reconnecting: events may have been lost, so subscribers resync.
func (p *Postgres) receive() {
	defer close(p.done)
	for n := range p.listener.NotificationChannel() {
		if n == nil {
			p.deliver(Event{Kind: KindResync})
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Extra), &e); err != nil || !e.valid() {
			// Anyone connected to the database may NOTIFY on the channel.
			p.log.Warn("ignored a malformed event on the bus", "pid", n.BePid, "err", err)
			continue
		}
		if f := p.lag.Load(); f != nil && e.At > 0 {
			(*f)(max(0, time.Since(time.UnixMicro(e.At))))
		}
		if e.Origin == p.origin {
			continue // delivered in process when published (a forged one changed nothing)
		}
		p.deliver(e)
	}
}

// Publish delivers e to this server's subscribers, then sends it with NOTIFY to every
// server, split into several notifications when its ids would not fit one payload.
func (p *Postgres) Publish(ctx context.Context, e Event) error {
	e.Origin, e.At = p.origin, time.Now().UnixMicro()
	p.deliver(e)
	for _, part := range split(e) {
		b, err := json.Marshal(part)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		if _, err := p.notify.ExecContext(ctx, channel, string(b)); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// split cuts an event whose encoding exceeds maxPayload into smaller ones.
func split(e Event) []Event {
	if b, _ := json.Marshal(e); len(b) <= maxPayload {
		return []Event{e}
	}
	half := func(ids []int) ([]int, []int) { return ids[:len(ids)/2], ids[len(ids)/2:] }
	a, b := e, e
	switch {
	case len(e.Variables) > 1:
		a.Variables, b.Variables = e.Variables[:len(e.Variables)/2], e.Variables[len(e.Variables)/2:]
	case len(e.Tasks) > 1:
		a.Tasks, b.Tasks = half(e.Tasks)
		b.Cases, b.Assigned = nil, nil
	case len(e.Cases) > 1:
		a.Cases, b.Cases = half(e.Cases)
		b.Tasks, b.Assigned = nil, nil
	case len(e.Assigned) > 1:
		a.Assigned, b.Assigned = half(e.Assigned)
		b.Tasks, b.Cases = nil, nil
	default:
		return []Event{e} // one oversized item: let NOTIFY refuse it loudly
	}
	return append(split(a), split(b)...)
}

// Close stops listening and ends every subscription.
func (p *Postgres) Close() error {
	err := p.listener.Close()
	<-p.done
	p.closeAll()
	return errors.Join(err, p.notify.Close())
}
