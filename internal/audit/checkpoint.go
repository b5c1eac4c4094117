package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Checkpoint is a signed statement that a tenant's chain had Hash at Seq at
// Time. KeyID names the Ed25519 key that made Signature (in Vigil, the kid of
// internal/keyring's signing key).
type Checkpoint struct {
	TenantID  string
	Seq       int64
	Hash      string
	Time      time.Time
	KeyID     string
	Signature []byte
}

// Anchor returns the point of the chain the checkpoint vouches for: a window
// of events may be verified from it.
func (c Checkpoint) Anchor() Anchor { return Anchor{TenantID: c.TenantID, Seq: c.Seq, Hash: c.Hash} }

// ErrBadSignature is wrapped by VerifyCheckpoint when the signature is not the
// key's signature of the checkpoint's message.
var ErrBadSignature = errors.New("checkpoint signature does not verify")

// CheckpointMessage returns the bytes a checkpoint's Signature signs: the RFC
// 8785 JSON object (the rules of Canonical)
//
//	{"hash":H,"key_id":K,"seq":N,"tenant_id":T,"time":S,"type":"vigil-audit-checkpoint","v":1}
//
// where S is Time in the form of Canonical's time member. The "type" member
// keeps a checkpoint message from ever being an event encoding.
func CheckpointMessage(c Checkpoint) ([]byte, error) {
	switch {
	case c.TenantID == "":
		return nil, errors.New("checkpoint has no tenant")
	case c.Seq < 1:
		return nil, fmt.Errorf("checkpoint seq %d, want 1 or more", c.Seq)
	case !isHash(c.Hash):
		return nil, fmt.Errorf("checkpoint hash %q is not 64 lowercase hex digits", c.Hash)
	case c.KeyID == "":
		return nil, errors.New("checkpoint has no key id")
	case c.Time.IsZero():
		return nil, errors.New("checkpoint has no time")
	}
	t := c.Time.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("checkpoint time %s is outside years 1 to 9999", t)
	}
	return appendValue(nil, map[string]any{
		"hash":      c.Hash,
		"key_id":    c.KeyID,
		"seq":       json.Number(strconv.FormatInt(c.Seq, 10)),
		"tenant_id": c.TenantID,
		"time":      t.Format(timeLayout),
		"type":      "vigil-audit-checkpoint",
		"v":         json.Number(strconv.Itoa(CanonicalVersion)),
	})
}

// SignCheckpoint returns c with KeyID set to keyID, Time normalized like an
// event's, and Signature the Ed25519 signature of its CheckpointMessage.
// c.Seq and c.Hash are those of an event that has been verified: checkpoint a
// chain only after Verify says it is whole.
func SignCheckpoint(priv ed25519.PrivateKey, keyID string, c Checkpoint) (Checkpoint, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	c.KeyID = keyID
	c.Time = c.Time.UTC().Truncate(time.Microsecond)
	msg, err := CheckpointMessage(c)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	c.Signature = ed25519.Sign(priv, msg)
	return c, nil
}

// VerifyCheckpoint checks that c.Signature is pub's signature of c's message.
// It does not check c against any event; VerifyWithCheckpoints does.
func VerifyCheckpoint(pub ed25519.PublicKey, c Checkpoint) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify checkpoint at seq %d: public key is %d bytes, want %d", c.Seq, len(pub), ed25519.PublicKeySize)
	}
	msg, err := CheckpointMessage(c)
	if err != nil {
		return fmt.Errorf("verify checkpoint at seq %d: %w", c.Seq, err)
	}
	if !ed25519.Verify(pub, msg, c.Signature) {
		return fmt.Errorf("checkpoint at seq %d, key %s: %w", c.Seq, c.KeyID, ErrBadSignature)
	}
	return nil
}
