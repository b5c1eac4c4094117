package audit

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
)

// Reasons a Break gives that callers and tests match on. Reasons that carry
// numbers or names are built by Verify and documented there.
const (
	ReasonHash             = "hash does not match content"
	ReasonPrev             = "prev_hash does not match previous event"
	ReasonCheckpointHash   = "hash does not match signed checkpoint"
	ReasonAnchorCheckpoint = "anchor hash does not match signed checkpoint"
)

// Break names the first event, or checkpoint, where a trail fails to verify.
// ID is the event's id, empty when the break is a checkpoint with no event at
// its seq.
type Break struct {
	Seq    int64
	ID     string
	Reason string
}

func (b Break) String() string {
	if b.ID == "" {
		return fmt.Sprintf("seq %d: %s", b.Seq, b.Reason)
	}
	return fmt.Sprintf("seq %d (event %s): %s", b.Seq, b.ID, b.Reason)
}

// Result is the outcome of verifying a trail.
type Result struct {
	OK bool
	// Checked counts the events that verified before FirstBroken, all of
	// them when OK.
	Checked int
	// Last is the anchor of the last event that verified (the starting
	// anchor when none did): where verifying the next window continues.
	Last Anchor
	// Signed is the highest seq a valid checkpoint vouches for, 0 when none
	// does. Events after it are chained but could have been rewritten or
	// appended by anyone who can write the database.
	Signed int64
	// FirstBroken is nil when OK.
	FirstBroken *Break
}

// Verify recomputes the chain of events, one tenant's in seq order, starting
// after from: Genesis(tenant) for a trail from its start, or the anchor of the
// event before the window (Event.Anchor, Checkpoint.Anchor). It stops at the
// first broken event and says why:
//
//   - "belongs to tenant X": the event is another tenant's.
//   - "seq gap: expected N, found M": events N..M-1 are missing (deleted);
//     reported at the event after the gap. A deleted last event leaves no
//     gap; only a checkpoint shows it (VerifyWithCheckpoints).
//   - "seq out of order: expected N, found M": the events are not in seq
//     order (M is lower than N, or N comes later in the slice).
//   - "seq N appears twice" (or "K times"): reported at the copy that does
//     not fit the chain, so at the inserted one when the other is genuine.
//   - ReasonHash, "hash does not match content": the event was edited, or
//     its Hash was.
//   - ReasonPrev, "prev_hash does not match previous event": an event was
//     inserted before this one, or the previous one was edited and rehashed;
//     an inserted event that links correctly to its predecessor is reported
//     at its successor, whose prev_hash names a different event.
//   - "cannot encode: ...": a field holds a value Canonical rejects.
func Verify(events []Event, from Anchor) Result {
	res := Result{OK: true, Last: from}
	if from == (Anchor{}) {
		return broken(res, Break{Reason: "no anchor: pass Genesis(tenant), or the anchor of the event before the window"})
	}
	prev := from
	for i := 0; i < len(events); i++ {
		e := &events[i]
		if e.TenantID != from.TenantID {
			return broken(res, Break{Seq: e.Seq, ID: e.ID, Reason: fmt.Sprintf("belongs to tenant %q", e.TenantID)})
		}
		want := prev.Seq + 1
		if e.Seq != want {
			reason := fmt.Sprintf("seq gap: expected %d, found %d", want, e.Seq)
			if e.Seq < want || slices.ContainsFunc(events[i+1:], func(l Event) bool { return l.Seq >= want && l.Seq < e.Seq }) {
				reason = fmt.Sprintf("seq out of order: expected %d, found %d", want, e.Seq)
			}
			return broken(res, Break{Seq: e.Seq, ID: e.ID, Reason: reason})
		}
		if j := i + 1; j < len(events) && events[j].Seq == e.Seq {
			for j < len(events) && events[j].Seq == e.Seq {
				j++
			}
			var next *Event
			if j < len(events) {
				next = &events[j]
			}
			odd := oddOneOut(events[i:j], prev, next)
			times := "twice"
			if j-i > 2 {
				times = fmt.Sprintf("%d times", j-i)
			}
			return broken(res, Break{Seq: e.Seq, ID: odd.ID, Reason: fmt.Sprintf("seq %d appears %s", e.Seq, times)})
		}
		if reason := linkProblem(e, prev); reason != "" {
			return broken(res, Break{Seq: e.Seq, ID: e.ID, Reason: reason})
		}
		res.Checked++
		prev = e.Anchor()
		res.Last = prev
	}
	return res
}

// linkProblem says why e does not follow prev, or "" if it does. Content
// comes before the link: an edited PrevHash is an edit of this event.
func linkProblem(e *Event, prev Anchor) string {
	c, err := Canonical(*e)
	if err != nil {
		return "cannot encode: " + err.Error()
	}
	if hashOf(c) != e.Hash {
		return ReasonHash
	}
	if e.PrevHash != prev.Hash {
		return ReasonPrev
	}
	return ""
}

// oddOneOut picks, among events sharing one seq, the one to blame: the first
// that does not fit between prev and next, or the second when all fit (a
// copied row) or none does.
func oddOneOut(same []Event, prev Anchor, next *Event) *Event {
	fits := func(e *Event) bool {
		return linkProblem(e, prev) == "" && (next == nil || next.PrevHash == e.Hash)
	}
	var misfits []*Event
	for i := range same {
		if !fits(&same[i]) {
			misfits = append(misfits, &same[i])
		}
	}
	if len(misfits) == 0 || len(misfits) == len(same) {
		return &same[1]
	}
	return misfits[0]
}

func broken(res Result, b Break) Result {
	res.OK = false
	res.FirstBroken = &b
	return res
}

// VerifyWithCheckpoints verifies a tenant's whole trail, events from seq 1 in
// seq order, and checks it against signed checkpoints, whose keys are looked
// up by KeyID in keys. The tenant is that of the first event, or of the
// first checkpoint when there are no events. See VerifyWindow.
func VerifyWithCheckpoints(events []Event, cps []Checkpoint, keys map[string]ed25519.PublicKey) Result {
	tenant := ""
	switch {
	case len(events) > 0:
		tenant = events[0].TenantID
	case len(cps) > 0:
		tenant = cps[0].TenantID
	default:
		return Result{OK: true}
	}
	return VerifyWindow(events, Genesis(tenant), cps, keys)
}

// VerifyWindow is Verify(events, from) followed by checking every checkpoint
// against the events. In addition to Verify's reasons:
//
//   - "checkpoint at seq N belongs to tenant X", "checkpoint at seq N: unknown
//     key K", "checkpoint at seq N: signature does not verify": the
//     checkpoint itself is forged, foreign or signed by a key not given.
//   - ReasonCheckpointHash, "hash does not match signed checkpoint": the
//     event at the checkpoint's seq is not the one signed; the chain up to
//     it was rewritten, hashes included, after the previous checkpoint.
//   - ReasonAnchorCheckpoint: likewise for from, when a checkpoint is at its
//     seq.
//   - "truncated: checkpoint at seq N signed, trail ends at M": events after
//     M were deleted.
//
// Checkpoints before from are checked for their signature only. The result
// reports the earliest break of either kind.
func VerifyWindow(events []Event, from Anchor, cps []Checkpoint, keys map[string]ed25519.PublicKey) Result {
	res := Verify(events, from)
	if from == (Anchor{}) {
		return res
	}
	sorted := slices.Clone(cps)
	slices.SortStableFunc(sorted, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	var signed int64
	for _, c := range sorted {
		if !res.OK && c.Seq > res.Last.Seq {
			break // past the chain's own break, which comes first
		}
		b := checkCheckpoint(c, events, from, res, keys)
		if b == nil {
			if c.Seq >= from.Seq && c.Seq <= res.Last.Seq {
				signed = c.Seq
			}
			continue
		}
		if b.Seq <= res.Last.Seq {
			// Events from the checkpoint's seq on are not vouched for.
			n := max(b.Seq-from.Seq-1, 0)
			res.Checked = int(n)
			res.Last = from
			if n > 0 {
				res.Last = events[n-1].Anchor()
			}
		}
		res.Signed = signed
		return broken(res, *b)
	}
	res.Signed = signed
	return res
}

func checkCheckpoint(c Checkpoint, events []Event, from Anchor, res Result, keys map[string]ed25519.PublicKey) *Break {
	if c.TenantID != from.TenantID {
		return &Break{Seq: c.Seq, Reason: fmt.Sprintf("checkpoint at seq %d belongs to tenant %q", c.Seq, c.TenantID)}
	}
	pub, ok := keys[c.KeyID]
	if !ok {
		return &Break{Seq: c.Seq, Reason: fmt.Sprintf("checkpoint at seq %d: unknown key %s", c.Seq, c.KeyID)}
	}
	if err := VerifyCheckpoint(pub, c); err != nil {
		reason := fmt.Sprintf("checkpoint at seq %d: signature does not verify", c.Seq)
		if !errors.Is(err, ErrBadSignature) {
			reason = fmt.Sprintf("checkpoint at seq %d: %v", c.Seq, err)
		}
		return &Break{Seq: c.Seq, Reason: reason}
	}
	switch {
	case c.Seq < from.Seq:
		return nil
	case c.Seq == from.Seq:
		if c.Hash != from.Hash {
			return &Break{Seq: c.Seq, Reason: ReasonAnchorCheckpoint}
		}
		return nil
	case c.Seq <= res.Last.Seq:
		// Verified events are contiguous from from.Seq+1.
		e := events[c.Seq-from.Seq-1]
		if e.Hash != c.Hash {
			return &Break{Seq: c.Seq, ID: e.ID, Reason: ReasonCheckpointHash}
		}
		return nil
	default: // the chain is whole and ends before the checkpoint
		return &Break{Seq: c.Seq, Reason: fmt.Sprintf("truncated: checkpoint at seq %d signed, trail ends at %d", c.Seq, res.Last.Seq)}
	}
}
