package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// The export format and its version, as the header line names them.
const (
	ExportFormat  = "vigil-audit-export"
	ExportVersion = 1
)

// maxExportLine is the longest line ReadExport accepts.
const maxExportLine = 16 << 20

// ErrExportVersion is wrapped by ReadExport for a file of another format
// version than ExportVersion.
var ErrExportVersion = errors.New("unsupported audit export version")

// ErrMalformedExport is wrapped by ReadExport for a file it cannot read as an
// export.
var ErrMalformedExport = errors.New("malformed audit export")

// ExportHeader is the first line of an export.
type ExportHeader struct {
	TenantID string
	FromSeq  int64  // seq of the first event; 1 for a whole trail
	ToSeq    int64  // seq of the last event; FromSeq-1 when there are none
	Anchor   Anchor // the chain before FromSeq: seq FromSeq-1 and the first event's PrevHash
	Events   int    // number of event lines
	// Checkpoints is the number of checkpoint lines.
	Checkpoints int
	// Keys are the public keys of the checkpoints, by key id. They show only
	// that the file is consistent; to know the trail is Vigil's, compare them
	// with the keys the operator published, or verify with those
	// (Export.Verify).
	Keys map[string]ed25519.PublicKey
}

// Export is a parsed export file.
type Export struct {
	Header      ExportHeader
	Events      []Event
	Checkpoints []Checkpoint
}

type exportHeaderLine struct {
	Type        string          `json:"type"`
	Format      string          `json:"format"`
	Version     int             `json:"version"`
	TenantID    string          `json:"tenant_id"`
	FromSeq     int64           `json:"from_seq"`
	ToSeq       int64           `json:"to_seq"`
	Anchor      exportAnchor    `json:"anchor"`
	Events      int             `json:"events"`
	Checkpoints int             `json:"checkpoints"`
	Keys        []exportKeyLine `json:"keys"`
}

type exportAnchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

type exportKeyLine struct {
	KeyID     string `json:"key_id"`
	Alg       string `json:"alg"`
	PublicKey []byte `json:"public_key"`
}

type exportEventLine struct {
	Type  string          `json:"type"`
	Hash  string          `json:"hash"`
	Event json.RawMessage `json:"event"`
}

type exportCheckpointLine struct {
	Type      string `json:"type"`
	TenantID  string `json:"tenant_id"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// WriteExport writes one tenant's events (in seq order, from any seq) and
// checkpoints as NDJSON: UTF-8, one JSON object per line, each ending in
// "\n", in this order:
//
//  1. The header:
//     {"type":"header","format":"vigil-audit-export","version":1,
//     "tenant_id":T,"from_seq":F,"to_seq":L,"anchor":{"seq":F-1,"hash":H},
//     "events":N,"checkpoints":C,
//     "keys":[{"key_id":K,"alg":"ed25519","public_key":B64},...]}
//     where H is the first event's prev_hash (the genesis hash when F is 1)
//     and public keys are 32 bytes in standard padded base64, sorted by key id.
//  2. One line per event, as given:
//     {"type":"event","hash":X,"event":E}
//     where E is Canonical(event), byte for byte, so that X is the SHA-256 of
//     exactly the bytes between "event": and the closing brace of the line.
//  3. One line per checkpoint, as given:
//     {"type":"checkpoint","tenant_id":T,"seq":N,"hash":X,"time":S,
//     "key_id":K,"signature":B64}
//     with the signature of CheckpointMessage in standard padded base64.
//
// Personal data stays sealed: the file holds PII ciphertext, never keys.
// Events are written as stored, broken or not: an export is evidence. Pass
// every checkpoint up to the end of the range asked for, not only up to the
// last event found, because a checkpoint past the last event is how a
// truncated trail shows. pubKeys must hold the key of every checkpoint.
func WriteExport(w io.Writer, events []Event, cps []Checkpoint, pubKeys map[string]ed25519.PublicKey) error {
	var tenant string
	switch {
	case len(events) > 0:
		tenant = events[0].TenantID
	case len(cps) > 0:
		tenant = cps[0].TenantID
	default:
		return errors.New("write audit export: no events and no checkpoints, so no tenant")
	}
	for _, e := range events {
		if e.TenantID != tenant {
			return fmt.Errorf("write audit export: event %s is of tenant %q, not %q", e.ID, e.TenantID, tenant)
		}
	}
	for _, c := range cps {
		if c.TenantID != tenant {
			return fmt.Errorf("write audit export: checkpoint at seq %d is of tenant %q, not %q", c.Seq, c.TenantID, tenant)
		}
		if _, ok := pubKeys[c.KeyID]; !ok {
			return fmt.Errorf("write audit export: no public key %s for checkpoint at seq %d", c.KeyID, c.Seq)
		}
	}
	h := exportHeaderLine{
		Type: "header", Format: ExportFormat, Version: ExportVersion, TenantID: tenant,
		FromSeq: 1, ToSeq: 0, Anchor: exportAnchor{Seq: 0, Hash: GenesisHash(tenant)},
		Events: len(events), Checkpoints: len(cps), Keys: []exportKeyLine{},
	}
	if len(events) > 0 {
		h.FromSeq, h.ToSeq = events[0].Seq, events[len(events)-1].Seq
		if h.FromSeq != 1 {
			h.Anchor = exportAnchor{Seq: h.FromSeq - 1, Hash: events[0].PrevHash}
		}
	}
	for id, k := range pubKeys {
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("write audit export: public key %s is %d bytes, want %d", id, len(k), ed25519.PublicKeySize)
		}
		h.Keys = append(h.Keys, exportKeyLine{KeyID: id, Alg: "ed25519", PublicKey: k})
	}
	slices.SortFunc(h.Keys, func(a, b exportKeyLine) int { return compareUTF16(a.KeyID, b.KeyID) })

	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends each value with "\n"
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("write audit export header: %w", err)
	}
	for _, e := range events {
		c, err := Canonical(e)
		if err != nil {
			return fmt.Errorf("write audit export: %w", err)
		}
		bw.WriteString(`{"type":"event","hash":`)
		bw.Write(appendString(nil, clean(e.Hash)))
		bw.WriteString(`,"event":`)
		bw.Write(c)
		bw.WriteString("}\n")
	}
	for _, c := range cps {
		line := exportCheckpointLine{
			Type: "checkpoint", TenantID: c.TenantID, Seq: c.Seq, Hash: c.Hash,
			Time: c.Time.UTC().Format(timeLayout), KeyID: c.KeyID, Signature: c.Signature,
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("write audit export checkpoint at seq %d: %w", c.Seq, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write audit export: %w", err)
	}
	return nil
}

// ReadExport parses an export written by WriteExport. It fails, wrapping
// ErrExportVersion or ErrMalformedExport and naming the line, on a file it
// cannot read: another format or version, a line that is not JSON or has
// unknown members, an event that is not in canonical form. Whether the trail
// in it is whole is for Export.Verify to say.
func ReadExport(r io.Reader) (*Export, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	var x *Export
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var kind struct {
			Type    string `json:"type"`
			Format  string `json:"format"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(line, &kind); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedExport, n, err)
		}
		if x == nil {
			if kind.Type != "header" || kind.Format != ExportFormat {
				return nil, fmt.Errorf("%w: line %d: not a Vigil audit export (want a header line of format %q first)", ErrMalformedExport, n, ExportFormat)
			}
			if kind.Version != ExportVersion {
				return nil, fmt.Errorf("%w: version %d; this verifier reads version %d", ErrExportVersion, kind.Version, ExportVersion)
			}
			h, err := parseHeader(line)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedExport, n, err)
			}
			x = &Export{Header: h}
			continue
		}
		var err error
		switch kind.Type {
		case "event":
			var e Event
			if e, err = parseEventLine(line); err == nil {
				x.Events = append(x.Events, e)
			}
		case "checkpoint":
			var c Checkpoint
			if c, err = parseCheckpointLine(line); err == nil {
				x.Checkpoints = append(x.Checkpoints, c)
			}
		default:
			err = fmt.Errorf("unknown line type %q", kind.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformedExport, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: after line %d: %w", ErrMalformedExport, n, err)
	}
	if x == nil {
		return nil, fmt.Errorf("%w: empty file", ErrMalformedExport)
	}
	return x, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

func parseHeader(line []byte) (ExportHeader, error) {
	var h exportHeaderLine
	if err := strictUnmarshal(line, &h); err != nil {
		return ExportHeader{}, fmt.Errorf("header: %w", err)
	}
	if h.TenantID == "" {
		return ExportHeader{}, errors.New("header: no tenant_id")
	}
	if h.Anchor.Seq != h.FromSeq-1 {
		return ExportHeader{}, fmt.Errorf("header: anchor seq %d, want from_seq-1 = %d", h.Anchor.Seq, h.FromSeq-1)
	}
	keys := make(map[string]ed25519.PublicKey, len(h.Keys))
	for _, k := range h.Keys {
		if k.Alg != "ed25519" {
			return ExportHeader{}, fmt.Errorf("header: key %s: algorithm %q, want \"ed25519\"", k.KeyID, k.Alg)
		}
		if len(k.PublicKey) != ed25519.PublicKeySize {
			return ExportHeader{}, fmt.Errorf("header: key %s is %d bytes, want %d", k.KeyID, len(k.PublicKey), ed25519.PublicKeySize)
		}
		if _, dup := keys[k.KeyID]; dup {
			return ExportHeader{}, fmt.Errorf("header: key %s listed twice", k.KeyID)
		}
		keys[k.KeyID] = ed25519.PublicKey(k.PublicKey)
	}
	return ExportHeader{
		TenantID: h.TenantID, FromSeq: h.FromSeq, ToSeq: h.ToSeq,
		Anchor: Anchor{TenantID: h.TenantID, Seq: h.Anchor.Seq, Hash: h.Anchor.Hash},
		Events: h.Events, Checkpoints: h.Checkpoints, Keys: keys,
	}, nil
}

func parseEventLine(line []byte) (Event, error) {
	var l exportEventLine
	if err := strictUnmarshal(line, &l); err != nil {
		return Event{}, fmt.Errorf("event: %w", err)
	}
	e, err := ParseCanonical(l.Event)
	if err != nil {
		return Event{}, err
	}
	c, err := Canonical(e)
	if err != nil {
		return Event{}, fmt.Errorf("event seq %d: %w", e.Seq, err)
	}
	if !bytes.Equal(c, l.Event) {
		// Third parties hash the bytes as they stand; so must the file.
		return Event{}, fmt.Errorf("event seq %d is not in canonical form", e.Seq)
	}
	e.Hash = l.Hash
	return e, nil
}

func parseCheckpointLine(line []byte) (Checkpoint, error) {
	var l exportCheckpointLine
	if err := strictUnmarshal(line, &l); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	t, err := time.Parse(timeLayout, l.Time)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint at seq %d: time: %w", l.Seq, err)
	}
	return Checkpoint{TenantID: l.TenantID, Seq: l.Seq, Hash: l.Hash, Time: t, KeyID: l.KeyID, Signature: l.Signature}, nil
}

// Verify verifies the exported trail with keys (the header's, or keys the
// verifier trusts) and checks the file against its header. Beyond the
// reasons of VerifyWindow, it reports "export truncated: header declares
// events to seq N, file ends at seq M" and "export has N checkpoints, header
// declares M" for lines removed from the end of the file.
//
// A trail from seq 1 is verified from the genesis hash, whatever the header
// says; a window from the header's anchor, which only a checkpoint at or
// after it vouches for (Result.Signed).
func (x *Export) Verify(keys map[string]ed25519.PublicKey) Result {
	from := x.Header.Anchor
	if x.Header.FromSeq == 1 {
		from = Genesis(x.Header.TenantID)
	}
	res := VerifyWindow(x.Events, from, x.Checkpoints, keys)
	if !res.OK {
		return res
	}
	if res.Last.Seq != x.Header.ToSeq || len(x.Events) != x.Header.Events {
		return broken(res, Break{Seq: x.Header.ToSeq, Reason: fmt.Sprintf("export truncated: header declares events to seq %d, file ends at seq %d", x.Header.ToSeq, res.Last.Seq)})
	}
	if len(x.Checkpoints) != x.Header.Checkpoints {
		return broken(res, Break{Seq: x.Header.ToSeq, Reason: fmt.Sprintf("export has %d checkpoints, header declares %d", len(x.Checkpoints), x.Header.Checkpoints)})
	}
	return res
}

// VerifyExport reads an export and verifies it with the keys in its header,
// needing nothing else: what a third party runs offline. The error is for a
// file that cannot be read (see ReadExport); a trail that does not verify is
// a Result that is not OK.
//
// The header's keys show only that the file is consistent: whoever rewrites a
// trail can sign new checkpoints with a key of their own. To know the trail
// is the one Vigil signed, compare the key ids with those the operator
// publishes, or call ReadExport and Export.Verify with the trusted keys.
func VerifyExport(r io.Reader) (Result, error) {
	x, err := ReadExport(r)
	if err != nil {
		return Result{}, err
	}
	return x.Verify(x.Header.Keys), nil
}
