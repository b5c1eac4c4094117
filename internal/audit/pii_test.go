package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestSealPIIRoundTrip(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 32)
	sealed, err := SealPII(key, map[string]any{"email": "alice@example.com", "attempts": 3})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("alice")) {
		t.Fatal("plaintext visible in the sealed data")
	}
	again, _ := SealPII(key, map[string]any{"email": "alice@example.com", "attempts": 3})
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same values are equal: nonce reused")
	}
	got, err := OpenPII(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got["email"] != "alice@example.com" || got["attempts"] != json.Number("3") {
		t.Fatalf("opened %#v", got)
	}
}

func TestOpenPIIFails(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 32)
	sealed, err := SealPII(key, map[string]any{"ip": "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name   string
		key    []byte
		sealed []byte
		want   error // nil: any error
	}{
		{"another key", bytes.Repeat([]byte{2}, 32), sealed, ErrUnreadable},
		{"altered ciphertext", key, flipped, ErrUnreadable},
		{"truncated", key, sealed[:10], ErrUnreadable},
		{"unknown version", key, append([]byte{9}, sealed[1:]...), ErrUnreadable},
		{"short key", key[:16], sealed, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := OpenPII(tc.key, tc.sealed)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := SealPII(key[:31], nil); err == nil {
		t.Fatal("sealed under a 31-byte key")
	}
}

// Erasure destroys a subject's key: their data in the trail no longer opens,
// and the trail still verifies, checkpoints and export included.
func TestErasureKeepsTheChainVerifiable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cps := []Checkpoint{b.checkpoint(t, b.events[5])}
	pii := b.events[2].PII[0]
	key, err := b.subjects.Key(pii.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := OpenPII(key, pii.Data); err != nil || v["email"] != "alice@example.com" {
		t.Fatalf("before erasure: %v, %v", v, err)
	}

	b.subjects.erase(pii.Subject)

	if _, err := b.subjects.Key(pii.Subject); !errors.Is(err, ErrErased) {
		t.Fatalf("key after erasure: %v, want ErrErased", err)
	}
	// Nothing else opens it: not a fresh key, as a store that forgot the
	// erasure would hand out.
	fresh, err := newMemoryKeys().Key(pii.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPII(fresh, pii.Data); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("opened with a fresh key: %v", err)
	}
	res := VerifyWithCheckpoints(b.events, cps, b.keys)
	wantOK(t, res)
	if res.Signed != 6 {
		t.Fatalf("signed through %d, want 6", res.Signed)
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, b.events, cps, b.keys); err != nil {
		t.Fatal(err)
	}
	if res, err := VerifyExport(&buf); err != nil || !res.OK {
		t.Fatalf("export after erasure: %+v, %v", res, err)
	}
}

func TestAddPII(t *testing.T) {
	t.Parallel()
	keys := newMemoryKeys()
	e := testEvent("tnt_A", 1)
	for _, s := range []string{"usr_b", "usr_a"} {
		if err := e.AddPII(keys, s, map[string]any{"name": s}); err != nil {
			t.Fatal(err)
		}
	}
	if e.PII[0].Subject != "usr_a" || e.PII[1].Subject != "usr_b" {
		t.Fatalf("subjects %v, want sorted", e.PII)
	}
	if err := e.AddPII(keys, "usr_a", nil); err == nil {
		t.Fatal("added a second entry for one subject")
	}
	if err := e.AddPII(keys, "", nil); err == nil {
		t.Fatal("added personal data without a subject")
	}
	keys.erase("usr_c")
	if err := e.AddPII(keys, "usr_c", map[string]any{"x": 1}); !errors.Is(err, ErrErased) || len(e.PII) != 2 {
		t.Fatalf("erased subject: %v, %d entries", err, len(e.PII))
	}

	if _, err := Append(Genesis("tnt_A"), &e); err != nil {
		t.Fatal(err)
	}
	if err := e.AddPII(keys, "usr_d", nil); err != nil || e.Hash != "" {
		t.Fatalf("adding after sealing: %v, hash %q; want the hash cleared", err, e.Hash)
	}
}
