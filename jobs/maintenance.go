package jobs

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river"

	"github.com/vigilhq/vigil/internal/database"
)

// MaintenanceArgs is the platform's hourly housekeeping job.
type MaintenanceArgs struct{}

// Kind implements river.JobArgs.
func (MaintenanceArgs) Kind() string { return KindMaintenance }

// InsertOpts makes one pending maintenance job at most, however many replicas
// or restarts enqueue it.
func (MaintenanceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

type maintenanceWorker struct {
	river.WorkerDefaults[MaintenanceArgs]
	db *database.DB
}

// Work refreshes SQLite's query planner statistics and truncates its WAL
// (PostgreSQL's autovacuum does the equivalent on its own).
func (w *maintenanceWorker) Work(ctx context.Context, _ *river.Job[MaintenanceArgs]) error {
	if w.db.Dialect != dialect.SQLite {
		return nil
	}
	for _, stmt := range []string{"PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := w.db.SQL.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// RegisterPlatform adds the platform's own workers and schedules.
func RegisterPlatform(r *Registry, db *database.DB) {
	Register(r, &maintenanceWorker{db: db})
	r.Every(time.Hour, func() (river.JobArgs, *river.InsertOpts) { return MaintenanceArgs{}, nil }, false)
}
