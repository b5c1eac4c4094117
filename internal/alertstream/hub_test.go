package alertstream_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

type testBundle struct {
	db     *database.DB
	hub    *alertstream.Hub
	alerts *alerting.Service
	tenant pulid.ID
	ctx    context.Context
}

func setup(t *testing.T, db *database.DB, opts alertstream.HubOptions) *testBundle {
	t.Helper()
	hub := alertstream.NewHub(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	sys := caller.With(context.Background(), caller.System("test"))
	tn, err := tenancy.CreateTenant(sys, db.Ent, "Acme "+string(pulid.New("x")), "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hub to run", hub.Running)
	return &testBundle{
		db: db, hub: hub, tenant: tn.ID,
		alerts: alerting.New(db, alertstream.New(db.Dialect, hub)),
		ctx:    caller.With(context.Background(), caller.ForTenant("test", tn.ID)),
	}
}

// raise opens n alerts (distinct dedup keys), one transaction each.
func (b *testBundle) raise(t *testing.T, n int) {
	t.Helper()
	if err := b.tryRaise(n); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) tryRaise(n int) error {
	for i := range n {
		err := b.db.WithTx(b.ctx, func(tx *ent.Tx) error {
			_, _, err := b.alerts.Raise(b.ctx, tx, alerting.Detection{
				Title: "t", Severity: alert.SeverityHIGH, DedupKey: fmt.Sprintf("k-%s-%d", pulid.New("d"), i),
				First: time.Now(), Last: time.Now(), Count: 1,
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func allow(context.Context, *alertstream.Event) (bool, error) { return true, nil }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A subscriber that stops reading is cut off with ErrSlowConsumer once its
// buffer is full, and a reader on the same tenant gets every event anyway.
func TestSlowSubscriberIsCutOffOthersUnaffected(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, alertstream.HubOptions{Buffer: 4})
		slow, err := b.hub.Subscribe(context.Background(), b.tenant, 0, false, allow)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := b.hub.Subscribe(context.Background(), b.tenant, 0, false, allow)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int64, 100)
		go func() {
			for ev := range fast.Events {
				got <- ev.Seq
			}
		}()
		// One alert at a time: the reader keeps up, the other falls behind.
		for want := int64(1); want <= 30; want++ {
			b.raise(t, 1)
			select {
			case seq := <-got:
				if seq != want {
					t.Fatalf("fast subscriber got seq %d, want %d", seq, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("fast subscriber stuck before seq %d", want)
			}
		}
		// The slow one never read: its channel closes with the reason.
		for range slow.Events {
		}
		if !errors.Is(slow.Err(), alertstream.ErrSlowConsumer) {
			t.Fatalf("slow subscriber ended with %v, want ErrSlowConsumer", slow.Err())
		}
	})
}

// After a cursor, the stream replays what was missed, then goes live; in
// order, each event once.
func TestReplayThenLive(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, alertstream.HubOptions{ReplayBatch: 3})
		b.raise(t, 7)
		sub, err := b.hub.Subscribe(context.Background(), b.tenant, 2, true, allow)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- b.tryRaise(5) }()
		defer func() {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}()
		for want := int64(3); want <= 12; want++ {
			select {
			case ev := <-sub.Events:
				if ev.Seq != want || ev.Alert == nil {
					t.Fatalf("got seq %d (alert %v), want %d", ev.Seq, ev.Alert != nil, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("stuck before seq %d", want)
			}
		}
	})
}

// Concurrent writers in one tenant still produce a gapless, ordered stream.
func TestConcurrentAppendsAreGapless(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.Postgres(t), alertstream.HubOptions{})
	sub, err := b.hub.Subscribe(context.Background(), b.tenant, 0, true, allow)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- b.tryRaise(10) }()
	}
	for want := int64(1); want <= 80; want++ {
		select {
		case ev := <-sub.Events:
			if ev.Seq != want {
				t.Fatalf("got seq %d, want %d", ev.Seq, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("stuck before seq %d", want)
		}
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
