package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/ingestrequest"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/internal/pulid"
)

// ScoreArgs names one stored batch of a tenant's events.
type ScoreArgs struct {
	TenantID pulid.ID `json:"tenant_id"`
	BatchID  pulid.ID `json:"batch_id"`
}

// Kind implements river.JobArgs.
func (ScoreArgs) Kind() string { return KindScore }

// InsertOpts: a batch is scored once; transient failures retry with River's
// backoff up to 10 attempts.
func (ScoreArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type scoreWorker struct {
	river.WorkerDefaults[ScoreArgs]
	engine  *detect.Engine
	metrics *observe.Metrics
}

// Work scores the batch in one transaction: detections, alerts and their
// stream entries commit together, or the job retries.
func (w *scoreWorker) Work(ctx context.Context, job *river.Job[ScoreArgs]) error {
	st, err := w.engine.ScoreBatch(ctx, job.Args.TenantID, job.Args.BatchID)
	if err != nil {
		return err
	}
	if w.metrics != nil {
		w.metrics.AlertsRaised.WithLabelValues("CREATED").Add(float64(st.Created))
		w.metrics.AlertsRaised.WithLabelValues("UPDATED").Add(float64(st.Updated))
	}
	return nil
}

// Timeout bounds one scoring run.
func (w *scoreWorker) Timeout(*river.Job[ScoreArgs]) time.Duration { return 5 * time.Minute }

// PruneDetectionArgs is the periodic clean-up of detection state.
type PruneDetectionArgs struct{}

// Kind implements river.JobArgs.
func (PruneDetectionArgs) Kind() string { return KindPruneDetection }

// InsertOpts keeps one pending prune at most.
func (PruneDetectionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 10 * time.Minute}}
}

type pruneDetectionWorker struct {
	river.WorkerDefaults[PruneDetectionArgs]
	db *database.DB
}

// Work deletes threshold hits past every window and idempotency records
// older than a day (a retry after that stores the request again).
func (w *pruneDetectionWorker) Work(ctx context.Context, _ *river.Job[PruneDetectionArgs]) error {
	ctx = caller.With(ctx, caller.System("prune-detection"))
	now := time.Now()
	if _, err := detect.PruneHits(ctx, w.db.Ent, now); err != nil {
		return fmt.Errorf("prune threshold hits: %w", err)
	}
	if _, err := w.db.Ent.IngestRequest.Delete().Where(ingestrequest.CreatedAtLT(now.Add(-24 * time.Hour))).Exec(ctx); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	return nil
}

// RegisterDetection adds the score worker and the detection clean-up.
func RegisterDetection(r *Registry, db *database.DB, engine *detect.Engine, metrics *observe.Metrics) {
	Register(r, &scoreWorker{engine: engine, metrics: metrics})
	Register(r, &pruneDetectionWorker{db: db})
	r.Every(10*time.Minute, func() (river.JobArgs, *river.InsertOpts) { return PruneDetectionArgs{}, nil }, false)
}

// EnqueueScore returns ingest's Enqueuer: the score job of a batch, inserted
// in the ingest transaction.
func EnqueueScore(c *Client) ingest.Enqueuer {
	return func(ctx context.Context, tx *ent.Tx, tenantID, batchID pulid.ID) error {
		_, err := InsertTx(ctx, c, tx, ScoreArgs{TenantID: tenantID, BatchID: batchID}, nil)
		return err
	}
}
