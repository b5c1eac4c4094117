package server

import (
	"bytes"
	"context"
	stdsql "database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	entevent "github.com/vigilhq/vigil/ent/event"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/event"
	"github.com/vigilhq/vigil/internal/eventmix"
	"github.com/vigilhq/vigil/internal/normalize"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/jobs"
)

// ingestBatch is the events of one POST /v1/events in the ingest benchmark.
const ingestBatch = 5000

// BenchmarkIngest measures events/s through POST /v1/events on PostgreSQL,
// one request at a time, NDJSON bodies of 5,000 internal/eventmix events
// (sshd and sudo syslog lines, ECS JSON, winlogbeat Security and Sysmon
// events; building a body is not timed), against its baseline: a raw pgx
// COPY of the same rows into events. pct_of_copy is the ratio. The events
// table is analysed after a warm-up batch, as autovacuum keeps it in a
// running system.
//
// score=engine is the server as it runs: the score job each request enqueues
// is worked by the detection engine concurrently, on the same two cores, so
// the figure is ingest under scoring load; scored_events/s also counts the
// time until the last batch was scored. score=noop works the same jobs with
// a worker that does nothing: ingest alone (River's enqueue and job handling
// included).
//
//	go test -run '^$' -bench Ingest -benchmem ./internal/server/
func BenchmarkIngest(b *testing.B) {
	var copyRate float64
	b.Run("path=copy", func(b *testing.B) { copyRate = benchCopy(b) })
	b.Run("path=http/score=noop", func(b *testing.B) { benchIngestHTTP(b, false, copyRate) })
	b.Run("path=http/score=engine", func(b *testing.B) { benchIngestHTTP(b, true, copyRate) })
}

// ingestBody is batch seq of the benchmark: eventmix events of the last
// minute, new to the server (their producer ids and addresses differ from
// every other batch's).
func ingestBody(seq int) []byte {
	return eventmix.NDJSON(seq*ingestBatch, ingestBatch, time.Now().Add(-time.Minute), "bench")
}

func benchIngestHTTP(b *testing.B, score bool, copyRate float64) {
	db := dbtest.Postgres(b)
	var reg *jobs.Registry
	if !score {
		reg = jobs.NewRegistry()
		jobs.RegisterPlatform(reg, db)
		jobs.Register(reg, &noopScoreWorker{})
	}
	w := benchSetup(b, db, setupOpts{reg: reg})
	w.postNDJSON(b, ingestBody(0), ingestBatch) // warm-up
	analyzeEvents(b, db.SQL)
	events := 0
	seq := 0
	for b.Loop() {
		b.StopTimer()
		seq++
		body := ingestBody(seq)
		b.StartTimer()
		w.postNDJSON(b, body, ingestBatch)
		events += ingestBatch
	}
	elapsed := b.Elapsed()
	rate := float64(events) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	if copyRate > 0 {
		b.ReportMetric(100*rate/copyRate, "pct_of_copy")
	}
	if score {
		drained := time.Now()
		waitUntil(b, 5*time.Minute, "the score jobs to finish", func() bool { return pendingScoreJobs(b, db) == 0 })
		b.ReportMetric(float64(events)/(elapsed+time.Since(drained)).Seconds(), "scored_events/s")
	}
}

// analyzeEvents gives the planner the statistics of the events table that
// autovacuum keeps in a running system but has not gathered yet in a fresh
// test database (without them ingest's lookup of producer ids reads every
// event of the tenant).
func analyzeEvents(b *testing.B, db *stdsql.DB) {
	if _, err := db.ExecContext(context.Background(), "ANALYZE "+entevent.Table); err != nil {
		b.Fatalf("analyze events: %v", err)
	}
}

// noopScoreWorker takes score jobs off the queue without scoring.
type noopScoreWorker struct {
	river.WorkerDefaults[jobs.ScoreArgs]
}

func (*noopScoreWorker) Work(context.Context, *river.Job[jobs.ScoreArgs]) error { return nil }

func pendingScoreJobs(b *testing.B, db *database.DB) int {
	var n int
	err := db.SQL.QueryRowContext(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')`,
		jobs.KindScore).Scan(&n)
	if err != nil {
		b.Fatalf("count score jobs: %v", err)
	}
	return n
}

// benchCopy is the baseline: each batch's rows as ingest would write them
// (normalised and encoded beforehand, not timed), written with pgx's
// CopyFrom on one connection, one COPY per batch, each its own transaction.
func benchCopy(b *testing.B) float64 {
	url := dbtest.PostgresURL(b)
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: url, MaxConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	tenant, err := db.Ent.Tenant.Create().SetName("Bench").SetSlug("bench").Save(caller.With(ctx, caller.System("bench")))
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(context.Background()) })

	copyBatch := func(seq int) int {
		rows := copyRows(b, tenant.ID, ingestBody(seq))
		b.StartTimer()
		n, err := conn.CopyFrom(ctx, pgx.Identifier{entevent.Table}, ingestColumns, pgx.CopyFromRows(rows))
		if err != nil {
			b.Fatalf("copy: %v", err)
		}
		return int(n)
	}
	copyBatch(0) // warm-up
	analyzeEvents(b, db.SQL)
	events := 0
	seq := 0
	for b.Loop() {
		b.StopTimer()
		seq++
		events += copyBatch(seq)
	}
	rate := float64(events) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	return rate
}

// ingestColumns are the columns ingest's COPY writes, in its order.
var ingestColumns = []string{
	entevent.FieldID, entevent.FieldTenantID, entevent.FieldExternalID, entevent.FieldBatchID,
	entevent.FieldTimestamp, entevent.FieldReceivedAt, entevent.FieldCategory, entevent.FieldAction,
	entevent.FieldOutcome, entevent.FieldSourceIP, entevent.FieldUserName, entevent.FieldHostName,
	entevent.FieldFields, entevent.FieldOriginal,
}

// copyRows are body's events as ingest's COPY writes them for tenantID,
// with fresh event and batch ids.
func copyRows(b *testing.B, tenantID pulid.ID, body []byte) [][]any {
	received := time.Now().UTC()
	batch := string(pulid.New("bat"))
	var out [][]any
	for line := range bytes.Lines(body) {
		raw, err := normalize.DecodeLine(bytes.TrimSpace(line), normalize.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ev, err := normalize.Normalize(raw, received, normalize.Limits{})
		if err != nil {
			b.Fatalf("%s: %v", line, err)
		}
		fields, err := json.Marshal(ev.Fields)
		if err != nil {
			b.Fatal(err)
		}
		original, err := json.Marshal(ev.Original)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, []any{
			string(pulid.New("evt")), string(tenantID), nullable(ev.ID), batch,
			ev.Timestamp, received, nullable(eventCategory(ev)), nullable(ev.String("event.action")),
			nullable(ev.String("event.outcome")), nullable(ev.String("source.ip")), nullable(ev.String("user.name")), nullable(ev.String("host.name")),
			json.RawMessage(fields), json.RawMessage(original),
		})
	}
	return out
}

// eventCategory is event.category as ingest stores it: a list joined by commas.
func eventCategory(ev event.Event) string {
	v, _ := ev.Get("event.category")
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
