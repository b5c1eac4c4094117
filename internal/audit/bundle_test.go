package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testBundle is what most tests need: a sealed six-event trail of one
// tenant, a checkpoint signing key, and subject keys. Event 3 carries
// everything an event can: an impersonating real actor and sealed PII.
type testBundle struct {
	tenant   string
	events   []Event // seq 1..6
	priv     ed25519.PrivateKey
	keyID    string
	keys     map[string]ed25519.PublicKey
	subjects *memoryKeys
}

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func setup(t *testing.T) *testBundle {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	b := &testBundle{
		tenant:   "tnt_A",
		priv:     priv,
		keyID:    "k1",
		keys:     map[string]ed25519.PublicKey{"k1": priv.Public().(ed25519.PublicKey)},
		subjects: newMemoryKeys(),
	}
	b.events = b.trail(t, b.tenant, 6)
	return b
}

// trail appends n events to a new chain of tenant.
func (b *testBundle) trail(t *testing.T, tenant string, n int) []Event {
	t.Helper()
	head := Genesis(tenant)
	var events []Event
	for i := range n {
		e := testEvent(tenant, i+1)
		if i == 2 {
			e.RealActor = Actor{Kind: "user", ID: "usr_root", Name: "support"}
			if err := e.AddPII(b.subjects, "usr_alice", map[string]any{"email": "alice@example.com", "ip": "192.0.2.7"}); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if head, err = Append(head, &e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// testEvent is an unsealed event of tenant with every plain field set.
func testEvent(tenant string, n int) Event {
	return Event{
		ID:        fmt.Sprintf("aud_%s_%d", tenant, n),
		TenantID:  tenant,
		Time:      testStart.Add(time.Duration(n) * time.Minute),
		Actor:     Actor{Kind: "api_key", ID: "key_1", Name: "ci"},
		Action:    "alert.update",
		Target:    Target{Type: "alert", ID: fmt.Sprintf("alr_%d", n)},
		Diff:      map[string]any{"status": map[string]any{"from": "open", "to": "closed"}, "score": n * 10, "tags": []any{"a", "b"}},
		IP:        "198.51.100.1",
		UserAgent: "vigil-cli/1.0",
		RequestID: fmt.Sprintf("req_%d", n),
	}
}

func (b *testBundle) checkpoint(t *testing.T, e Event) Checkpoint {
	t.Helper()
	c, err := SignCheckpoint(b.priv, b.keyID, Checkpoint{TenantID: e.TenantID, Seq: e.Seq, Hash: e.Hash, Time: testStart.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reseal recomputes e's hash over its current content, as someone who can
// write the database could.
func reseal(t *testing.T, e *Event) {
	t.Helper()
	if err := e.Seal(e.PrevHash); err != nil {
		t.Fatal(err)
	}
}

// memoryKeys is a SubjectKeys in memory.
type memoryKeys struct {
	mu     sync.Mutex
	keys   map[string][]byte
	erased map[string]bool
}

func newMemoryKeys() *memoryKeys {
	return &memoryKeys{keys: map[string][]byte{}, erased: map[string]bool{}}
}

func (m *memoryKeys) Key(subject string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.erased[subject] {
		return nil, fmt.Errorf("subject %s: %w", subject, ErrErased)
	}
	k, ok := m.keys[subject]
	if !ok {
		k = make([]byte, 32)
		_, _ = rand.Read(k)
		m.keys[subject] = k
	}
	return k, nil
}

func (m *memoryKeys) erase(subject string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, subject)
	m.erased[subject] = true
}

func wantBreak(t *testing.T, res Result, want Break) {
	t.Helper()
	if res.OK || res.FirstBroken == nil {
		t.Fatalf("verified OK (checked %d), want break %v", res.Checked, want)
	}
	if *res.FirstBroken != want {
		t.Fatalf("break\n got %v\nwant %v", *res.FirstBroken, want)
	}
}

func wantOK(t *testing.T, res Result) {
	t.Helper()
	if !res.OK || res.FirstBroken != nil {
		t.Fatalf("broken at %v, want OK", res.FirstBroken)
	}
}

func mustKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}
