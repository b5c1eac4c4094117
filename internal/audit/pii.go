package audit

import (
	"bytes"
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SubjectKeys holds one 32-byte data key per subject (a person). Erasing a
// subject destroys its key; implementations keep keys wrapped under the
// master key, in storage apart from the audit events.
type SubjectKeys interface {
	// Key returns the subject's key, creating it on first use. After the
	// subject has been erased it returns an error wrapping ErrErased, and
	// never a new key for the old data.
	Key(subject string) ([]byte, error)
}

// ErrErased is wrapped by SubjectKeys.Key for a subject whose key was
// destroyed: their personal data in audit events can no longer be read.
var ErrErased = errors.New("subject erased: its data key was destroyed")

// ErrUnreadable is wrapped by OpenPII when the ciphertext does not open with
// the key: a different key, or altered data.
var ErrUnreadable = errors.New("personal data does not open with this key")

// Sealed personal data is piiVersion, a 12-byte random nonce, then the
// AES-256-GCM ciphertext and tag of the JSON encoding of the values, with
// piiAAD as additional data.
const (
	piiVersion = 1
	piiAAD     = "vigil-audit-pii-v1"
)

// SealPII encrypts values (for example {"email": ..., "ip": ...}) under a
// subject's 32-byte key with AES-256-GCM and a random nonce.
func SealPII(key []byte, values map[string]any) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("seal personal data: %w", err)
	}
	plain, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("seal personal data: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = piiVersion
	nonce := out[1:]
	_, _ = rand.Read(nonce) // never fails: crypto/rand aborts the program instead
	return aead.Seal(out, nonce, plain, []byte(piiAAD)), nil
}

// OpenPII decrypts what SealPII sealed under key. Numbers come back as
// json.Number.
func OpenPII(key, sealed []byte) (map[string]any, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("open personal data: %w", err)
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != piiVersion {
		return nil, fmt.Errorf("open personal data: not sealed personal data of version %d: %w", piiVersion, ErrUnreadable)
	}
	nonce, ciphertext := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ciphertext, []byte(piiAAD))
	if err != nil {
		return nil, fmt.Errorf("open personal data: %w", ErrUnreadable)
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.UseNumber()
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return nil, fmt.Errorf("open personal data: %w", err)
	}
	return values, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AddPII seals values under subject's key from keys and adds them to e.PII,
// which stays sorted by subject. Give all of one subject's values at once:
// a second call for the same subject is an error. Call it before Seal; it
// clears e.Hash, since the content changed. For a subject already erased it
// returns an error wrapping ErrErased, and e is unchanged.
func (e *Event) AddPII(keys SubjectKeys, subject string, values map[string]any) error {
	if subject == "" {
		return fmt.Errorf("%w %s: personal data without a subject", ErrInvalidEvent, e.ID)
	}
	subject = clean(subject)
	if slices.ContainsFunc(e.PII, func(p SealedPII) bool { return p.Subject == subject }) {
		return fmt.Errorf("%w %s: subject %s already has personal data in this event", ErrInvalidEvent, e.ID, subject)
	}
	key, err := keys.Key(subject)
	if err != nil {
		return fmt.Errorf("key of subject %s: %w", subject, err)
	}
	data, err := SealPII(key, values)
	if err != nil {
		return fmt.Errorf("event %s, subject %s: %w", e.ID, subject, err)
	}
	e.PII = append(e.PII, SealedPII{Subject: subject, Data: data})
	slices.SortFunc(e.PII, func(a, b SealedPII) int { return cmp.Compare(a.Subject, b.Subject) })
	e.Hash = ""
	return nil
}
