package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/jobs"
)

type recordArgs struct {
	Value string `json:"value"`
}

func (recordArgs) Kind() string { return "test.record" }

type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	seen chan string
}

func (w *recordWorker) Work(_ context.Context, job *river.Job[recordArgs]) error {
	w.seen <- job.Args.Value
	return nil
}

type testBundle struct {
	db      *database.DB
	client  *jobs.Client
	seen    chan string
	metrics *observe.Metrics
}

func setup(t *testing.T, db *database.DB, reg *jobs.Registry) *testBundle {
	t.Helper()
	b := &testBundle{db: db, seen: make(chan string, 16), metrics: observe.NewMetrics()}
	if reg == nil {
		reg = jobs.NewRegistry()
	}
	jobs.Register(reg, &recordWorker{seen: b.seen})
	c, err := jobs.NewClient(db, reg, jobs.Options{FetchPoll: 50 * time.Millisecond, Metrics: b.metrics})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = c.Stop(stopCtx)
	})
	b.client = c
	return b
}

func await(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("worked job %q, want %q", got, want)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("job %q was not worked within 15s", want)
	}
}

// A job enqueued in an ent transaction exists if and only if the
// transaction commits.
func TestInsertTxCommitRunsRollbackDiscards(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		ctx := caller.With(context.Background(), caller.System("test"))
		errRollback := errors.New("roll back")

		err := db.WithTx(ctx, func(tx *ent.Tx) error {
			if _, err := tx.Tenant.Create().SetName("Rolled").SetSlug("rolled").Save(ctx); err != nil {
				return err
			}
			if _, err := jobs.InsertTx(ctx, b.client, tx, recordArgs{Value: "rolled back"}, nil); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("rollback tx: %v", err)
		}

		err = db.WithTx(ctx, func(tx *ent.Tx) error {
			if _, err := tx.Tenant.Create().SetName("Kept").SetSlug("kept").Save(ctx); err != nil {
				return err
			}
			_, err := jobs.InsertTx(ctx, b.client, tx, recordArgs{Value: "committed"}, nil)
			return err
		})
		if err != nil {
			t.Fatalf("commit tx: %v", err)
		}
		await(t, b.seen, "committed")

		list, err := b.client.JobList(ctx, river.NewJobListParams().Kinds(recordArgs{}.Kind()).First(100))
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Jobs) != 1 {
			t.Fatalf("found %d jobs of kind %s, want exactly the committed one", len(list.Jobs), recordArgs{}.Kind())
		}
		if n, _ := db.Ent.Tenant.Query().Count(ctx); n != 1 {
			t.Fatalf("%d tenants, want 1 (the rolled-back one must not exist)", n)
		}
		select {
		case v := <-b.seen:
			t.Fatalf("unexpected job worked: %q", v)
		default:
		}
	})
}

func TestPeriodicJobRuns(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		reg := jobs.NewRegistry()
		var once sync.Once
		reg.Every(time.Hour, func() (river.JobArgs, *river.InsertOpts) {
			v := "later"
			once.Do(func() { v = "on start" })
			return recordArgs{Value: v}, nil
		}, true)
		b := setup(t, db, reg)
		await(t, b.seen, "on start")
	})
}
