// Package jobs owns Vigil's background work on River: the one
// river.Client[*sql.Tx] that shares ent's *sql.DB, the registry of workers and
// periodic schedules, and the helper that enqueues a job inside the same
// transaction as an ent write. Job kinds live in kinds.go and are never
// renamed. Workers call internal/<domain> packages; business logic lives there.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/observe"
)

// Client is Vigil's River client type.
type Client = river.Client[*sql.Tx]

// Registry collects the workers and periodic jobs of every domain before the
// client starts. It is filled in main (or a test), never globally.
type Registry struct {
	workers  *river.Workers
	periodic []*river.PeriodicJob
	kinds    []string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers()}
}

// Register adds the worker for one job kind.
func Register[T river.JobArgs](r *Registry, w river.Worker[T]) {
	river.AddWorker(r.workers, w)
	var args T
	r.kinds = append(r.kinds, args.Kind())
}

// Every schedules a job at a fixed interval. construct builds each run's args.
// The leader replica enqueues it; any replica may work it.
func (r *Registry) Every(interval time.Duration, construct func() (river.JobArgs, *river.InsertOpts), runOnStart bool) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(
		river.PeriodicInterval(interval), construct, &river.PeriodicJobOpts{RunOnStart: runOnStart}))
}

// Schedule adds a periodic job with any River schedule (e.g. a cron parser's).
func (r *Registry) Schedule(s river.PeriodicSchedule, construct func() (river.JobArgs, *river.InsertOpts), runOnStart bool) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(s, construct, &river.PeriodicJobOpts{RunOnStart: runOnStart}))
}

// Options tune the client.
type Options struct {
	Logger   *slog.Logger
	Metrics  *observe.Metrics  // nil: no job metrics
	Reporter *observe.Reporter // nil: no Sentry
	// MaxWorkers per replica for the default queue. Zero picks a default
	// (4 on SQLite, whose one connection serialises work anyway; 20 on PostgreSQL).
	MaxWorkers int
	// FetchPoll is how often workers poll when no notification arrives
	// (SQLite has no LISTEN/NOTIFY). Zero keeps River's default.
	FetchPoll time.Duration
	// InsertOnly builds a client that can enqueue but works nothing (CLI).
	InsertOnly bool
}

// NewClient builds the River client on db: riversqlite on SQLite,
// database/sql with a pgx LISTEN/NOTIFY listener on PostgreSQL.
func NewClient(db *database.DB, reg *Registry, opts Options) (*Client, error) {
	var drv riverdriver.Driver[*sql.Tx]
	maxWorkers := opts.MaxWorkers
	if db.Dialect == dialect.Postgres {
		drv = riverdatabasesql.NewWithPgxListener(db.SQL, db.Pool)
		if maxWorkers == 0 {
			maxWorkers = 20
		}
	} else {
		drv = riversqlite.New(db.SQL)
		if maxWorkers == 0 {
			maxWorkers = 4
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		Logger:       opts.Logger,
		ErrorHandler: &errorHandler{log: opts.Logger, reporter: opts.Reporter, metrics: opts.Metrics},
		Middleware:   []rivertype.Middleware{&metricsMiddleware{metrics: opts.Metrics}},
	}
	if reg == nil {
		reg = NewRegistry()
	}
	if !opts.InsertOnly {
		cfg.Workers = reg.workers
		cfg.PeriodicJobs = reg.periodic
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}}
		if opts.FetchPoll > 0 {
			cfg.FetchPollInterval = opts.FetchPoll
			cfg.FetchCooldown = min(opts.FetchPoll, 100*time.Millisecond)
		}
	}
	if opts.Metrics != nil {
		// Export every kind's series from the start, so dashboards and alerts
		// see zeros rather than nothing.
		for _, k := range reg.kinds {
			for _, outcome := range []string{"ok", "error", "panic"} {
				opts.Metrics.Jobs.WithLabelValues(k, outcome)
			}
			opts.Metrics.JobDuration.WithLabelValues(k)
			opts.Metrics.JobPanics.WithLabelValues(k)
		}
	}
	c, err := river.NewClient(drv, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return c, nil
}

// InsertTx enqueues args inside tx, the transaction of an ent write: the job
// exists if and only if the transaction commits.
func InsertTx(ctx context.Context, c *Client, tx *ent.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	stx, err := tx.SQLTx()
	if err != nil {
		return nil, err
	}
	res, err := c.InsertTx(ctx, stx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

type errorHandler struct {
	log      *slog.Logger
	reporter *observe.Reporter
	metrics  *observe.Metrics
}

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.ErrorContext(ctx, "job failed", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "error", err)
	if job.Attempt >= job.MaxAttempts {
		h.reporter.Error(ctx, err, map[string]string{"job_kind": job.Kind})
	}
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.log.ErrorContext(ctx, "job panicked", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "panic", fmt.Sprint(v), "trace", trace)
	if h.metrics != nil {
		h.metrics.JobPanics.WithLabelValues(job.Kind).Inc()
		h.metrics.Jobs.WithLabelValues(job.Kind, "panic").Inc()
	}
	h.reporter.Panic(ctx, v, map[string]string{"job_kind": job.Kind})
	return nil
}

type metricsMiddleware struct {
	river.WorkerMiddlewareDefaults
	metrics *observe.Metrics
}

func (m *metricsMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if m.metrics == nil {
		return doInner(ctx)
	}
	start := time.Now()
	// Deferred so a panicking job is timed too; the error handler counts it.
	defer func() { m.metrics.JobDuration.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds()) }()
	err := doInner(ctx)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.metrics.Jobs.WithLabelValues(job.Kind, outcome).Inc()
	return err
}
