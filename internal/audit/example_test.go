package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/audit"
)

// exampleTrail appends three events to a new chain of tenant and signs a
// checkpoint of its head.
func exampleTrail(tenant string, priv ed25519.PrivateKey) ([]audit.Event, audit.Checkpoint) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	head := audit.Genesis(tenant)
	var trail []audit.Event
	for i, action := range []string{"auth.login.success", "alert.update", "role.change"} {
		e := audit.Event{
			ID:     fmt.Sprintf("aud_%d", i+1),
			Time:   at.Add(time.Duration(i) * time.Minute),
			Actor:  audit.Actor{Kind: "user", ID: "usr_1"},
			Action: action,
			Target: audit.Target{Type: "alert", ID: "alr_9"},
			Diff:   map[string]any{"status": map[string]any{"from": "open", "to": "closed"}},
		}
		var err error
		// The database layer does this while holding the tenant's head row.
		if head, err = audit.Append(head, &e); err != nil {
			panic(err)
		}
		trail = append(trail, e)
	}
	cp, err := audit.SignCheckpoint(priv, "key-1", audit.Checkpoint{TenantID: tenant, Seq: head.Seq, Hash: head.Hash, Time: at.Add(time.Hour)})
	if err != nil {
		panic(err)
	}
	return trail, cp
}

func Example() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keys := map[string]ed25519.PublicKey{"key-1": priv.Public().(ed25519.PublicKey)}
	trail, cp := exampleTrail("tnt_1", priv)
	cps := []audit.Checkpoint{cp}

	fmt.Println(audit.VerifyWithCheckpoints(trail, cps, keys).OK)

	// Someone edits a row in the database.
	edited := append([]audit.Event(nil), trail...)
	edited[1].Action = "alert.delete"
	fmt.Println(audit.VerifyWithCheckpoints(edited, cps, keys).FirstBroken)

	// Someone deletes the newest row: only the checkpoint shows it.
	fmt.Println(audit.Verify(trail[:2], audit.Genesis("tnt_1")).OK)
	fmt.Println(audit.VerifyWithCheckpoints(trail[:2], cps, keys).FirstBroken)
	// Output:
	// true
	// seq 2 (event aud_2): hash does not match content
	// true
	// seq 3: truncated: checkpoint at seq 3 signed, trail ends at 2
}

func ExampleVerifyExport() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keys := map[string]ed25519.PublicKey{"key-1": priv.Public().(ed25519.PublicKey)}
	trail, cp := exampleTrail("tnt_1", priv)

	var file bytes.Buffer
	if err := audit.WriteExport(&file, trail, []audit.Checkpoint{cp}, keys); err != nil {
		panic(err)
	}
	res, err := audit.VerifyExport(bytes.NewReader(file.Bytes()))
	fmt.Println(res.OK, res.Checked, res.Signed, err)

	tampered := strings.Replace(file.String(), `"role.change"`, `"role.revert"`, 1)
	res, err = audit.VerifyExport(strings.NewReader(tampered))
	fmt.Println(res.FirstBroken, err)
	// Output:
	// true 3 3 <nil>
	// seq 3 (event aud_3): hash does not match content <nil>
}

// subjectKeys is a SubjectKeys in memory; Vigil's keeps them in the database,
// wrapped under the master key.
type subjectKeys map[string][]byte

func (k subjectKeys) Key(subject string) ([]byte, error) {
	key, ok := k[subject]
	if !ok {
		return nil, fmt.Errorf("subject %s: %w", subject, audit.ErrErased)
	}
	return key, nil
}

func ExampleEvent_AddPII() {
	keys := subjectKeys{"usr_7": bytes.Repeat([]byte{0x42}, 32)}
	e := audit.Event{
		ID: "aud_1", TenantID: "tnt_1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Actor: audit.Actor{Kind: "anonymous"}, Action: "auth.login.failure",
	}
	// The person's email and address are sealed under their key, not stored
	// in the clear.
	if err := e.AddPII(keys, "usr_7", map[string]any{"email": "ann@example.com", "ip": "192.0.2.7"}); err != nil {
		panic(err)
	}
	if _, err := audit.Append(audit.Genesis("tnt_1"), &e); err != nil {
		panic(err)
	}
	read := func() {
		for _, p := range e.PII {
			key, err := keys.Key(p.Subject)
			if errors.Is(err, audit.ErrErased) {
				fmt.Println(p.Subject, "erased")
				continue
			}
			values, err := audit.OpenPII(key, p.Data)
			fmt.Println(p.Subject, values["email"], err)
		}
	}
	read()

	delete(keys, "usr_7") // erasure destroys the key
	read()
	fmt.Println(audit.Verify([]audit.Event{e}, audit.Genesis("tnt_1")).OK)
	// Output:
	// usr_7 ann@example.com <nil>
	// usr_7 erased
	// true
}
