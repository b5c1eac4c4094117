package audit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// memoryTrail stores trails the way the database layer is to: each tenant
// has a head, held (here by a mutex, there by a locked row) from reading it
// until the appended event is stored.
type memoryTrail struct {
	mu     sync.Mutex
	heads  map[string]Anchor
	events map[string][]Event
}

func (m *memoryTrail) append(e Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	head, ok := m.heads[e.TenantID]
	if !ok {
		head = Genesis(e.TenantID)
	}
	head, err := Append(head, &e)
	if err != nil {
		return err
	}
	m.heads[e.TenantID] = head
	m.events[e.TenantID] = append(m.events[e.TenantID], e)
	return nil
}

func TestConcurrentWritersKeepTheChain(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 32, 50
	trail := &memoryTrail{heads: map[string]Anchor{}, events: map[string][]Event{}}
	subjects := newMemoryKeys()
	tenants := []string{"tnt_A", "tnt_B"}

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Everything but the chain is prepared outside the lock,
				// as a request would before its transaction appends.
				e := Event{
					ID:       fmt.Sprintf("aud_%d_%d", w, i),
					TenantID: tenants[w%2],
					Time:     time.Now(),
					Actor:    Actor{Kind: "user", ID: fmt.Sprintf("usr_%d", w)},
					Action:   "alert.update",
					Diff:     map[string]any{"writer": w, "n": i},
				}
				if err := e.AddPII(subjects, e.Actor.ID, map[string]any{"ip": "192.0.2.1"}); err != nil {
					errs <- err
					return
				}
				if err := trail.append(e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, tenant := range tenants {
		res := Verify(trail.events[tenant], Genesis(tenant))
		wantOK(t, res)
		if want := writers / 2 * perWriter; res.Checked != want {
			t.Fatalf("tenant %s: %d events verified, want %d", tenant, res.Checked, want)
		}
	}
}
