package detect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/eventmix"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/pulid"
)

// scoreBatch is the events of one batch in BenchmarkScoreBatch.
const scoreBatch = 1000

// BenchmarkScoreBatch measures Engine.ScoreBatch end to end, as the score
// job runs it, on PostgreSQL and SQLite: load the batch, match the tenant's
// compiled rules, store threshold hits, raise or update alerts and append
// them to the stream, in one transaction. Each iteration scores a fresh
// batch of 1,000 internal/eventmix events stored by internal/ingest (not
// timed). rules=default is the default pack a tenant starts with,
// rules=default+sigma adds every rule of the shared SigmaHQ set
// (ImportSigmaDir), and rules=none is a tenant without rules, the baseline;
// pct_of_none compares with it. Rules compile on a tenant's first batch
// after a change: first_batch_ms is that batch, not part of the loop.
//
//	go test -run '^$' -bench ScoreBatch -benchmem ./internal/detect/
func BenchmarkScoreBatch(b *testing.B) {
	dir, ok := sharedSigmaRules(b)
	if !ok {
		return
	}
	for _, dbName := range []string{"postgres", "sqlite"} {
		b.Run("db="+dbName, func(b *testing.B) {
			var db *database.DB
			if dbName == "postgres" {
				db = dbtest.Postgres(b)
			} else {
				db = dbtest.SQLite(b)
			}
			var none float64
			b.Run("rules=none", func(b *testing.B) { none = benchScoreBatch(b, db, false, "", 0) })
			b.Run("rules=default", func(b *testing.B) { benchScoreBatch(b, db, true, "", none) })
			b.Run("rules=default+sigma", func(b *testing.B) { benchScoreBatch(b, db, true, dir, none) })
		})
	}
}

// benchScoreBatch scores batches of a new tenant that has the default pack
// when defaults is set, and the Sigma rules under sigmaDir when it is not
// empty, and returns events/s.
func benchScoreBatch(b *testing.B, db *database.DB, defaults bool, sigmaDir string, none float64) float64 {
	ctx := context.Background()
	sys := caller.With(ctx, caller.System("bench"))
	slug := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	tenant, err := db.Ent.Tenant.Create().SetName(slug).SetSlug(slug).Save(sys)
	if err != nil {
		b.Fatal(err)
	}
	tctx := caller.With(ctx, caller.ForTenant("bench", tenant.ID))
	if defaults {
		if err := SeedDefaults(tctx, db.Ent, tenant.ID); err != nil {
			b.Fatal(err)
		}
	}
	imported := 0
	if sigmaDir != "" {
		st, err := ImportSigmaDir(tctx, db.Ent, tenant.ID, sigmaDir, true, nil)
		if err != nil {
			b.Fatal(err)
		}
		imported = st.Created
	}
	engine := NewEngine(db, alerting.New(db, alertstream.New(db.Dialect, nil)), nil, nil)
	store := ingest.New(db, nil, ingest.Options{})
	seq := 0
	batch := func() pulid.ID {
		seq++
		body := eventmix.NDJSON(seq*scoreBatch, scoreBatch, time.Now().Add(-time.Minute), "bench")
		res, err := store.Ingest(tctx, ingest.Request{Body: body})
		if err != nil || res.Accepted != scoreBatch {
			b.Fatalf("store a batch: %v %+v", err, res)
		}
		return res.BatchID
	}

	first := batch()
	start := time.Now()
	if _, err := engine.ScoreBatch(ctx, tenant.ID, first); err != nil {
		b.Fatal(err)
	}
	firstBatch := time.Since(start)

	events, alerts := 0, 0
	for b.Loop() {
		b.StopTimer()
		id := batch()
		b.StartTimer()
		st, err := engine.ScoreBatch(ctx, tenant.ID, id)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
		alerts += st.Created + st.Updated
	}
	rate := float64(events) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(firstBatch.Milliseconds()), "first_batch_ms")
	if imported > 0 {
		b.ReportMetric(float64(imported), "sigma_rules")
	}
	b.ReportMetric(float64(alerts)/float64(events)*scoreBatch, "alerts/batch")
	if none > 0 {
		b.ReportMetric(100*rate/none, "pct_of_none")
	}
	return rate
}
