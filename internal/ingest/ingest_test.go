package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigilhq/vigil/ent"
	entevent "github.com/vigilhq/vigil/ent/event"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/normalize"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

type testBundle struct {
	db       *database.DB
	svc      *ingest.Service
	ctx      context.Context
	tenant   pulid.ID
	enqueued *atomic.Int64
}

func setup(t *testing.T, db *database.DB, opts ingest.Options) *testBundle {
	t.Helper()
	sys := caller.With(context.Background(), caller.System("test"))
	tn, err := tenancy.CreateTenant(sys, db.Ent, "Acme "+pulid.New("x").String(), "")
	if err != nil {
		t.Fatal(err)
	}
	n := new(atomic.Int64)
	svc := ingest.New(db, func(ctx context.Context, tx *ent.Tx, tenantID, batchID pulid.ID) error {
		if tenantID != tn.ID || batchID == "" {
			return fmt.Errorf("enqueue for %s/%s", tenantID, batchID)
		}
		n.Add(1)
		return nil
	}, opts)
	ctx := caller.With(context.Background(), &caller.Caller{Kind: caller.KindAPIKey, TenantID: tn.ID, Role: "PARTNER"})
	return &testBundle{db: db, svc: svc, ctx: ctx, tenant: tn.ID, enqueued: n}
}

func (b *testBundle) count(t *testing.T) int {
	t.Helper()
	n, err := b.db.Ent.Event.Query().Where(entevent.TenantID(b.tenant)).Count(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Each line is judged on its own: bad ones are named by line number and
// reason, good ones are kept, blank lines are not events.
func TestBadLinesAreNamedGoodLinesKept(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, ingest.Options{Limits: normalize.Limits{MaxFieldBytes: 95}})
		body := strings.Join([]string{
			`{"@timestamp":"2026-11-26T10:00:00Z","event":{"category":["authentication"],"outcome":"failure"},"source":{"ip":"198.51.100.4"},"user":{"name":"root"}}`,
			`{"message":"<38>Nov 26 10:00:01 web-1 sshd[1]: Failed password for root from 203.0.113.7 port 2222 ssh2"}`,
			`not json`,
			``,
			`{"source.ip":"999.1.1.1"}`,
			`{"message":"` + strings.Repeat("x", 100) + `"}`,
			`[1,2]`,
		}, "\n")
		res, err := b.svc.Ingest(b.ctx, ingest.Request{Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || res.Rejected != 4 || res.BatchID == "" || b.enqueued.Load() != 1 {
			t.Fatalf("result %+v, enqueued %d", res, b.enqueued.Load())
		}
		lines := map[int]string{}
		for _, e := range res.Errors {
			lines[e.Line] = e.Message
		}
		for line, want := range map[int]string{3: "JSON", 5: "source.ip", 6: "95", 7: "object"} {
			if !strings.Contains(lines[line], want) {
				t.Errorf("line %d: error %q should mention %q (all: %v)", line, lines[line], want, res.Errors)
			}
		}
		if n := b.count(t); n != 2 {
			t.Fatalf("stored %d events, want 2", n)
		}
		ev, err := b.db.Ent.Event.Query().Where(entevent.TenantID(b.tenant), entevent.SourceIP("203.0.113.7")).Only(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Outcome != "failure" || ev.UserName != "root" || ev.Original["message"] == nil {
			t.Fatalf("sshd line not normalised: %+v", ev)
		}
	})
}

// A retried request stores nothing twice: by Idempotency-Key (the same answer
// comes back) and by per-event ids (across different requests).
func TestRetriesStoreNothingTwice(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, ingest.Options{})
		var body strings.Builder
		for i := range 50 {
			fmt.Fprintf(&body, `{"event":{"id":"e-%d","action":"x"},"@timestamp":"2026-11-26T10:00:%02dZ"}`+"\n", i, i%60)
		}
		req := ingest.Request{Body: []byte(body.String()), IdempotencyKey: "retry-1"}
		first, err := b.svc.Ingest(b.ctx, req)
		if err != nil || first.Accepted != 50 {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := b.svc.Ingest(b.ctx, req)
		if err != nil || !again.Replayed || again.Accepted != 50 || again.BatchID != first.BatchID {
			t.Fatalf("replay: %+v %v", again, err)
		}
		_, err = b.svc.Ingest(b.ctx, ingest.Request{Body: []byte(`{"a":1}`), IdempotencyKey: "retry-1"})
		if !errors.Is(err, ingest.ErrIdempotencyConflict) {
			t.Fatalf("same key, other body: %v", err)
		}
		// Without a key, the event ids still keep duplicates out, also
		// within one request.
		res, err := b.svc.Ingest(b.ctx, ingest.Request{Body: []byte(body.String() + `{"event":{"id":"new-1"}}` + "\n" + `{"event":{"id":"new-1"}}`)})
		if err != nil || res.Accepted != 1 || res.Duplicates != 51 {
			t.Fatalf("ids: %+v %v", res, err)
		}
		if n := b.count(t); n != 51 {
			t.Fatalf("stored %d, want 51", n)
		}
		if b.enqueued.Load() != 2 {
			t.Fatalf("score jobs %d, want 2 (the replay enqueues nothing)", b.enqueued.Load())
		}
	})
}

// A failing enqueue rolls the events back: nothing is stored without its
// score job.
func TestEventsAndScoreJobCommitTogether(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, ingest.Options{})
		svc := ingest.New(db, func(context.Context, *ent.Tx, pulid.ID, pulid.ID) error { return errors.New("queue down") }, ingest.Options{})
		if _, err := svc.Ingest(b.ctx, ingest.Request{Body: []byte(`{"a":1}`)}); err == nil {
			t.Fatal("want the enqueue error")
		}
		if n := b.count(t); n != 0 {
			t.Fatalf("%d events stored without their score job", n)
		}
	})
}

func TestLimitsOnEventsPerRequestAndLines(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t), ingest.Options{MaxEvents: 3, Limits: normalize.Limits{MaxLineBytes: 100}})
	_, err := b.svc.Ingest(b.ctx, ingest.Request{Body: []byte("{}\n{}\n{}\n{}\n")})
	if !errors.Is(err, ingest.ErrTooManyEvents) {
		t.Fatalf("4 events with a limit of 3: %v", err)
	}
	res, err := b.svc.Ingest(b.ctx, ingest.Request{Body: []byte(`{"message":"` + strings.Repeat("y", 300) + `"}` + "\n{\"ok\":1}\n")})
	if err != nil || res.Accepted != 1 || res.Rejected != 1 || res.Errors[0].Line != 1 || !strings.Contains(res.Errors[0].Message, "100 bytes") {
		t.Fatalf("long line: %+v %v", res, err)
	}
}
