package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Event is one audit record of one tenant.
//
// Fields that hold text about a person (a user's name or email, their IP
// address and user agent, personal values of a diff) belong in PII, sealed
// under that person's subject key with AddPII, and are left empty in the
// clear fields, so that erasure can destroy them. Clear fields that remain are
// pseudonymous ids, actions and non-personal values.
type Event struct {
	ID       string // unique id of the event, assigned before sealing
	TenantID string
	Seq      int64 // position in the tenant's chain: 1, 2, 3, ... without gaps
	// Time is when the audited thing happened, in UTC truncated to
	// microseconds (Seal does both) so that both databases store it exactly.
	Time time.Time

	Actor Actor // who acted; for a failed login, the anonymous caller
	// RealActor is the operator behind Actor while impersonating; the zero
	// Actor otherwise.
	RealActor Actor

	Action string // dotted verb: "alert.update", "auth.login.failure", "apikey.revoke"
	Target Target // what was acted on; zero for actions without one

	// Diff describes the change, for example
	// {"status": {"from": "open", "to": "closed"}}. The caller redacts it
	// before it gets here: secrets and restricted fields are replaced or
	// left out, and personal values go to PII instead. Any value that
	// encoding/json can marshal is accepted; Seal replaces Diff with its
	// JSON form (objects become map[string]any, numbers json.Number), which
	// is also what a JSON column gives back.
	Diff map[string]any

	IP        string // client address; personal: prefer PII
	UserAgent string // personal: prefer PII
	RequestID string // correlates with logs and traces

	// PII holds personal data sealed under each subject's key, at most one
	// entry per subject, sorted by subject (AddPII keeps both true). The
	// chain covers the ciphertext, so destroying a subject's key makes their
	// data unreadable while every hash still verifies.
	PII []SealedPII

	PrevHash string // Hash of the previous event, or GenesisHash(TenantID) for Seq 1
	Hash     string // lowercase hex SHA-256 of Canonical(event)
}

// Actor is who acted. Kind is the caller kind as internal/caller names it
// ("user", "api_key", "partner", "system", "anonymous"); ID is the
// principal's id; Name is a display name that is not personal (a job or API
// key name). A user's name or email belongs in PII.
type Actor struct {
	Kind string
	ID   string
	Name string
}

// Target is what an action was applied to: the entity type ("alert", "user",
// "role") and its id.
type Target struct {
	Type string
	ID   string
}

// SealedPII is one subject's personal data in an event: Subject is a
// pseudonymous id of the person (their user id, or a keyed hash of an email
// for a login attempt by an unknown address), Data is the output of SealPII
// under that subject's key.
type SealedPII struct {
	Subject string
	Data    []byte
}

// Anchor is a point of a tenant's chain to verify from: the hash of the
// event at Seq, or the genesis hash at Seq 0. An event's anchor comes from
// Event.Anchor, a checkpoint's from Checkpoint.Anchor.
type Anchor struct {
	TenantID string
	Seq      int64
	Hash     string
}

// GenesisHash is the PrevHash of a tenant's first event: the lowercase hex
// SHA-256 of "vigil-audit-genesis:" followed by the tenant id. It differs per
// tenant so that one tenant's chain cannot be passed off as another's.
func GenesisHash(tenantID string) string {
	sum := sha256.Sum256([]byte("vigil-audit-genesis:" + tenantID))
	return hex.EncodeToString(sum[:])
}

// Genesis is the anchor before a tenant's first event.
func Genesis(tenantID string) Anchor {
	return Anchor{TenantID: tenantID, Seq: 0, Hash: GenesisHash(tenantID)}
}

// Anchor returns the point of the chain that e ends: the anchor to verify the
// events after e from, and the head to Append the next event to.
func (e Event) Anchor() Anchor { return Anchor{TenantID: e.TenantID, Seq: e.Seq, Hash: e.Hash} }

// ErrInvalidEvent is wrapped by Seal and Append for an event that cannot be
// sealed; it is a bug in the caller, never a property of attacker input.
var ErrInvalidEvent = errors.New("invalid audit event")

// Seal normalizes e, sets its PrevHash to prev and its Hash to the hash of its
// canonical encoding. Call it last: any later change to e breaks the hash.
//
// Normalizing makes the stored event exactly what was hashed: Time becomes
// UTC truncated to microseconds; every string has each invalid UTF-8 byte and
// each NUL replaced by U+FFFD (PostgreSQL text can hold neither, and an
// attacker's user agent must not make an audit write fail); Diff is replaced
// by its JSON form.
func (e *Event) Seal(prev string) error {
	if !isHash(prev) {
		return fmt.Errorf("%w: previous hash %q is not 64 lowercase hex digits", ErrInvalidEvent, prev)
	}
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: no id", ErrInvalidEvent)
	case e.TenantID == "":
		return fmt.Errorf("%w %s: no tenant", ErrInvalidEvent, e.ID)
	case e.Seq < 1:
		return fmt.Errorf("%w %s: seq %d, want 1 or more", ErrInvalidEvent, e.ID, e.Seq)
	case e.Action == "":
		return fmt.Errorf("%w %s: no action", ErrInvalidEvent, e.ID)
	case e.Time.IsZero():
		return fmt.Errorf("%w %s: no time", ErrInvalidEvent, e.ID)
	}
	for _, s := range []*string{
		&e.ID, &e.TenantID, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name,
		&e.RealActor.Kind, &e.RealActor.ID, &e.RealActor.Name, &e.Action,
		&e.Target.Type, &e.Target.ID, &e.IP, &e.UserAgent, &e.RequestID,
	} {
		*s = clean(*s)
	}
	for i := range e.PII {
		e.PII[i].Subject = clean(e.PII[i].Subject)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	diff, err := normalizeDiff(e.Diff)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalidEvent, e.ID, err)
	}
	e.Diff = nil
	if len(diff) > 0 {
		e.Diff = diff
	}
	e.PrevHash = prev
	e.Hash = ""
	c, err := Canonical(*e)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalidEvent, e.ID, err)
	}
	e.Hash = hashOf(c)
	return nil
}

// Append makes e the event after head, the last event of e's tenant (or
// Genesis(tenant) for the first): it sets e.TenantID if empty, e.Seq to
// head.Seq+1, seals e onto head.Hash and returns e's anchor, the new head.
//
// Appends of one tenant must be serialized and committed in seq order: the
// caller holds the tenant's head (a locked row in the database) from reading
// it until the new event and head are committed.
func Append(head Anchor, e *Event) (Anchor, error) {
	if e.TenantID == "" {
		e.TenantID = head.TenantID
	}
	if e.TenantID != head.TenantID {
		return Anchor{}, fmt.Errorf("%w %s: tenant %q appended to the chain of %q", ErrInvalidEvent, e.ID, e.TenantID, head.TenantID)
	}
	e.Seq = head.Seq + 1
	if err := e.Seal(head.Hash); err != nil {
		return Anchor{}, err
	}
	return e.Anchor(), nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// isHash reports whether s is 64 lowercase hex digits, the form of every hash
// here.
func isHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// clean replaces each invalid UTF-8 byte and each NUL of s with U+FFFD. The
// canonical encoding applies it to every string, so cleaning first changes
// no hash.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			ok = false
			break
		}
		i += n
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}
