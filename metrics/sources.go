package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/graph/wstransport"
	"github.com/portico-dev/portico/listindex"
	"github.com/portico-dev/portico/notify"
	"github.com/portico-dev/portico/workflow"
)

// Sources are the counters other packages keep, read when the registry is scraped;
// nil ones are not reported.
type Sources struct {
	Logins  func() auth.ThrottleStats // failed logins and throttle refusals
	Sockets func() wstransport.Stats  // websockets, subscriptions, events
	Timers  func() workflow.TimerStats
	Index   func() listindex.SyncStats
	Mails   func() notify.Stats // assignment mails
	// Caches are the lookups of each cache, by its name (the cache label).
	Caches map[string]func() cachestats.Counts
}

// Watch reports the sources.
func (m *Metrics) Watch(src Sources) error {
	if err := m.reg.Register(sourceCollector{src}); err != nil {
		return fmt.Errorf("register source metrics: %w", err)
	}
	return nil
}

func desc(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

var (
	loginFailures   = desc("portico_login_failures_total", "Failed logins and failed checks of a current password.")
	loginThrottled  = desc("portico_login_throttled_total", "Logins and password checks refused by the login throttle.")
	wsConnections   = desc("portico_websocket_connections", "Initialised websocket connections open.")
	wsSubscriptions = desc("portico_websocket_operations", "Operations (mostly subscriptions) running on websockets.")
	eventsDelivered = desc("portico_subscription_events_delivered_total", "Subscription events written to websocket clients.")
	eventsDropped   = desc("portico_subscription_events_dropped_total", "Subscription events shed from the queue of a slow websocket client.")
	eventsLost      = desc("portico_subscription_events_lost_total", "Subscriptions ended with EVENTS_LOST (events shed or not taken, or a gap on the bus).")
	timerRuns       = desc("portico_timer_runs_total", "Rounds of the workflow timers (expiry, delay, expiry warning).")
	timerFailures   = desc("portico_timer_run_failures_total", "Rounds of the workflow timers that failed.")
	timersFired     = desc("portico_timers_fired_total", "Expiry and delay timers fired.")
	indexSyncs      = desc("portico_list_index_sync_duration_seconds", "Syncs of the list index with the database's change feed and their time.")
	indexFailures   = desc("portico_list_index_sync_failures_total", "Syncs of the list index that failed.")
	mailAssignments = desc("portico_mail_assignments_total", "Assignments queued for assignment mails.")
	mailDropped     = desc("portico_mail_assignments_dropped_total", "Assignments dropped: queue full, or pending at stop.")
	mailUnresolved  = desc("portico_mail_assignments_unresolved_total", "Assignments whose recipients could not be read.")
	mailMessages    = desc("portico_mail_messages_total", "Assignment mail messages built (one per recipient and task).")
	mailSent        = desc("portico_mail_messages_sent_total", "Assignment mail messages the SMTP server accepted.")
	mailRefused     = desc("portico_mail_messages_refused_total", "Assignment mail messages the SMTP server refused for good.")
	mailFailed      = desc("portico_mail_messages_failed_total", "Assignment mail messages given up.")
	mailRetries     = desc("portico_mail_messages_retried_total", "Assignment mail messages tried again after a failed session.")
	mailSessions    = desc("portico_mail_smtp_sessions_total", "SMTP sessions opened for assignment mails.")
	cacheLookups    = prometheus.NewDesc("portico_cache_lookups_total",
		"Lookups of a cache: result hit found what it asked for, miss had to make it.", []string{"cache", "result"}, nil)
)

// sourceCollector reads Sources when scraped.
type sourceCollector struct{ src Sources }

func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{loginFailures, loginThrottled, wsConnections, wsSubscriptions, eventsDelivered,
		eventsDropped, eventsLost, timerRuns, timerFailures, timersFired, indexSyncs, indexFailures, mailAssignments,
		mailDropped, mailUnresolved, mailMessages, mailSent, mailRefused, mailFailed, mailRetries, mailSessions, cacheLookups} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	if c.src.Logins != nil {
		s := c.src.Logins()
		counter(loginFailures, s.Failures)
		counter(loginThrottled, s.Refused)
	}
	if c.src.Sockets != nil {
		s := c.src.Sockets()
		gauge(wsConnections, s.Connections)
		gauge(wsSubscriptions, s.Subscriptions)
		counter(eventsDelivered, s.Delivered)
		counter(eventsDropped, s.Dropped)
		counter(eventsLost, s.Lost)
	}
	if c.src.Timers != nil {
		s := c.src.Timers()
		counter(timerRuns, s.Runs)
		counter(timerFailures, s.Failed)
		counter(timersFired, s.Fired)
	}
	if c.src.Index != nil {
		s := c.src.Index()
		ch <- prometheus.MustNewConstSummary(indexSyncs, s.Syncs, s.Duration.Seconds(), nil)
		counter(indexFailures, int64(s.Failed))
	}
	if c.src.Mails != nil {
		s := c.src.Mails()
		counter(mailAssignments, s.Assignments)
		counter(mailDropped, s.Dropped)
		counter(mailUnresolved, s.Unresolved)
		counter(mailMessages, s.Messages)
		counter(mailSent, s.Sent)
		counter(mailRefused, s.Refused)
		counter(mailFailed, s.Failed)
		counter(mailRetries, s.Retries)
		counter(mailSessions, s.Sessions)
	}
	for name, counts := range c.src.Caches {
		n := counts()
		ch <- prometheus.MustNewConstMetric(cacheLookups, prometheus.CounterValue, float64(n.Hits), name, "hit")
		ch <- prometheus.MustNewConstMetric(cacheLookups, prometheus.CounterValue, float64(n.Misses), name, "miss")
	}
}
