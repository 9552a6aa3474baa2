// Package metrics holds the server's Prometheus collectors: HTTP requests by route,
// GraphQL operations by name, type and outcome with their latency, and collectors that
// read the counters other packages keep (database pools, websockets, timers, logins,
// the list index, assignment mails) when scraped. Each Server has its own registry, so
// several servers in one process (tests) do not collide.
package metrics

import (
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's registry and the collectors it observes into directly.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	reqDuration *prometheus.HistogramVec
	operations  *prometheus.CounterVec
	opDuration  *prometheus.HistogramVec
	busLag      prometheus.Histogram
	names       names
}

// New returns metrics on a registry of their own, with the Go runtime's and the
// process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_http_requests_total",
			Help: "HTTP requests by route (the matched pattern, \"unmatched\" for none), method and status.",
		}, []string{"route", "method", "status"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route (a websocket: until the upgrade).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_graphql_operations_total",
			Help: "GraphQL operations by operation name (\"anonymous\" unnamed, \"other\" past the first " + strconv.Itoa(MaxOperationNames) + " names), type (query, mutation, subscription; \"unknown\" when refused before parsing) and outcome code (OK or the first error's extensions.code).",
		}, []string{"operation", "type", "code"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_graphql_operation_duration_seconds",
			Help:    "Time from a query's or mutation's start to its response, by operation name and type.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "type"}),
		busLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "portico_bus_lag_seconds",
			Help:    "Time from a bus event's publication (PostgreSQL NOTIFY, by any server, this one included) to its arrival here, by the two servers' clocks.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		names: names{seen: map[string]struct{}{}},
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.reqDuration, m.operations, m.opDuration, m.busLag)
	return m
}

// ObserveBusLag records the lag of one bus event.
func (m *Metrics) ObserveBusLag(d time.Duration) { m.busLag.Observe(d.Seconds()) }

// Handler serves the registry in Prometheus's text format (/metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the server's registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts an answered HTTP request; route is the pattern that matched
// it, never the raw path ("" for none).
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method { // a client may send any token as the method
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.reqDuration.WithLabelValues(route).Observe(d.Seconds())
}

// WatchPools reports database pool statistics (sql.DB.Stats: go_sql_* with a db_name
// label) for each named pool.
func (m *Metrics) WatchPools(pools map[string]*sql.DB) error {
	for name, db := range pools {
		if err := m.reg.Register(collectors.NewDBStatsCollector(db, name)); err != nil {
			return fmt.Errorf("register pool %s metrics: %w", name, err)
		}
	}
	return nil
}

// MaxOperationNames bounds the distinct operation names counted; later names count as
// "other", so clients inventing names cannot grow the series without bound.
const MaxOperationNames = 200

// names keeps the operation names seen, up to MaxOperationNames.
type names struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// label returns the label of an operation name.
func (n *names) label(name string) string {
	if name == "" {
		return "anonymous"
	}
	if len(name) > 100 { // names are parsed GraphQL names; long ones are not kept
		return "other"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.seen[name]; ok {
		return name
	}
	if len(n.seen) >= MaxOperationNames {
		return "other"
	}
	n.seen[name] = struct{}{}
	return name
}
