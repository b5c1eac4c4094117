package observe

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are Vigil's Prometheus collectors, on a registry of their own so
// that several servers can live in one process (tests).
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests *prometheus.CounterVec   // route, method, code
	HTTPDuration *prometheus.HistogramVec // route, method
	HTTPInFlight prometheus.Gauge

	GraphQLOperations *prometheus.CounterVec   // operation, type, outcome
	GraphQLDuration   *prometheus.HistogramVec // operation, type
	GraphQLRejected   *prometheus.CounterVec   // reason

	Jobs        *prometheus.CounterVec   // kind, outcome
	JobDuration *prometheus.HistogramVec // kind
	JobPanics   *prometheus.CounterVec   // kind

	EventsIngested prometheus.Counter
	EventsRejected prometheus.Counter
	AlertsRaised   *prometheus.CounterVec // kind (CREATED, UPDATED)
	Subscribers    prometheus.GaugeFunc   // set by SetSubscribers
	SubscriberEnds *prometheus.CounterVec // reason
	subscribers    func() int
}

// NewMetrics creates and registers every collector, with Go runtime and
// process metrics.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vigil", Subsystem: "http", Name: "request_duration_seconds",
			Help: "HTTP request latency by route and method.", Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		HTTPInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "vigil", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		GraphQLOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "graphql", Name: "operations_total",
			Help: "GraphQL operations by operation name, type and outcome (ok, error).",
		}, []string{"operation", "type", "outcome"}),
		GraphQLDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vigil", Subsystem: "graphql", Name: "operation_duration_seconds",
			Help: "GraphQL operation latency by operation name and type.", Buckets: prometheus.DefBuckets,
		}, []string{"operation", "type"}),
		GraphQLRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "graphql", Name: "rejected_total",
			Help: "GraphQL requests rejected before execution, by reason.",
		}, []string{"reason"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "jobs", Name: "worked_total",
			Help: "River jobs worked, by kind and outcome (ok, error, panic).",
		}, []string{"kind", "outcome"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vigil", Subsystem: "jobs", Name: "duration_seconds",
			Help: "River job run time by kind.", Buckets: prometheus.DefBuckets,
		}, []string{"kind"}),
		JobPanics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "jobs", Name: "panics_total",
			Help: "River jobs that panicked, by kind.",
		}, []string{"kind"}),
		EventsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "ingest", Name: "events_accepted_total",
			Help: "Events stored by ingest.",
		}),
		EventsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "ingest", Name: "events_rejected_total",
			Help: "Events refused by ingest (invalid lines).",
		}),
		AlertsRaised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "alerts", Name: "detections_total",
			Help: "Detections by what they did to an alert: CREATED a new one or UPDATED an open one.",
		}, []string{"kind"}),
		SubscriberEnds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "subscriptions", Name: "ended_total",
			Help: "alertEvents subscriptions ended, by reason (client, slow_consumer, access_revoked, shutdown, error).",
		}, []string{"reason"}),
	}
	m.Subscribers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "vigil", Subsystem: "subscriptions", Name: "open",
		Help: "alertEvents subscriptions open in this process.",
	}, func() float64 {
		if m.subscribers == nil {
			return 0
		}
		return float64(m.subscribers())
	})
	r.MustRegister(
		m.EventsIngested, m.EventsRejected, m.AlertsRaised, m.Subscribers, m.SubscriberEnds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.HTTPInFlight,
		m.GraphQLOperations, m.GraphQLDuration, m.GraphQLRejected,
		m.Jobs, m.JobDuration, m.JobPanics,
	)
	return m
}

// SetSubscribers tells the open-subscriptions gauge how to count them.
func (m *Metrics) SetSubscribers(count func() int) { m.subscribers = count }

// RegisterDB exports the connection pool statistics of db.
func (m *Metrics) RegisterDB(db *sql.DB, name string) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}
