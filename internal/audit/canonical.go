package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CanonicalVersion is the "v" member of every canonical event and checkpoint
// message. A change to either encoding gets a new version; verifiers reject
// versions they do not know.
const CanonicalVersion = 1

// timeLayout is the one form of a time in canonical encodings and exports.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Canonical returns the bytes that an event's Hash is the SHA-256 of. They
// are a JSON object in the JSON Canonicalization Scheme (RFC 8785), so a
// third party can reproduce them with any RFC 8785 implementation, with one
// extension noted under numbers. The members, in the order RFC 8785 sorts
// them:
//
//	action      string
//	actor       {"id": string, "kind": string, "name": string}
//	diff        object; {} when there is none
//	id          string
//	ip          string
//	pii         array of {"data": string, "subject": string} in the event's
//	            order, data in standard base64 with padding (RFC 4648 §4); []
//	            when there is none
//	prev_hash   string
//	real_actor  {"id": string, "kind": string, "name": string}; all "" when
//	            there was no impersonation
//	request_id  string
//	seq         integer
//	target      {"id": string, "type": string}
//	tenant_id   string
//	time        string "YYYY-MM-DDTHH:MM:SS.ffffffZ": UTC, exactly six
//	            fractional digits (later digits are dropped, not rounded)
//	user_agent  string
//	v           1 (CanonicalVersion)
//
// The rules, those of RFC 8785: no whitespace; object members sorted by key,
// comparing keys as UTF-16 code units; strings in UTF-8 with only '"', '\'
// and U+0000..U+001F escaped (\b \t \n \f \r for those five, \u00xx with
// lowercase hex for the rest), everything else literal. Before encoding,
// every string, keys included, has each invalid UTF-8 byte and each NUL
// replaced by U+FFFD.
//
// Numbers: an integer literal (an optional "-" and digits) is written as
// exact decimal ("-0" as "0"); any other number is read as an IEEE 754 double
// and written as ECMAScript's Number.prototype.toString writes it (RFC 8785
// §3.2.2.3). For integers within ±2^53, which holds for any count or size,
// this is RFC 8785 itself; RFC 8785 would round larger integers to a double,
// this keeps every digit so that an edit to one is still detected.
//
// Diff values are first encoded with encoding/json and read back, so a
// time.Time becomes its RFC 3339 string and a struct the object its JSON tags
// describe, exactly as a JSON column would store them.
//
// Hash is left out; every other field, PrevHash included, is covered.
func Canonical(e Event) ([]byte, error) {
	t := e.Time.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("encode event %s: time %s is outside years 1 to 9999", e.ID, t)
	}
	diff := e.Diff
	if !isPlain(diff) {
		var err error
		if diff, err = normalizeDiff(diff); err != nil {
			return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
	}
	if diff == nil {
		diff = map[string]any{}
	}
	pii := make([]any, len(e.PII))
	for i, p := range e.PII {
		pii[i] = map[string]any{"data": base64.StdEncoding.EncodeToString(p.Data), "subject": p.Subject}
	}
	b, err := appendValue(nil, map[string]any{
		"action":     e.Action,
		"actor":      actorObject(e.Actor),
		"diff":       diff,
		"id":         e.ID,
		"ip":         e.IP,
		"pii":        pii,
		"prev_hash":  e.PrevHash,
		"real_actor": actorObject(e.RealActor),
		"request_id": e.RequestID,
		"seq":        json.Number(strconv.FormatInt(e.Seq, 10)),
		"target":     map[string]any{"id": e.Target.ID, "type": e.Target.Type},
		"tenant_id":  e.TenantID,
		"time":       t.Format(timeLayout),
		"user_agent": e.UserAgent,
		"v":          json.Number(strconv.Itoa(CanonicalVersion)),
	})
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

func actorObject(a Actor) map[string]any {
	return map[string]any{"id": a.ID, "kind": a.Kind, "name": a.Name}
}

// wireEvent is the canonical object as encoding/json reads it.
type wireEvent struct {
	Action    string          `json:"action"`
	Actor     wireActor       `json:"actor"`
	Diff      map[string]any  `json:"diff"`
	ID        string          `json:"id"`
	IP        string          `json:"ip"`
	PII       []wireSealedPII `json:"pii"`
	PrevHash  string          `json:"prev_hash"`
	RealActor wireActor       `json:"real_actor"`
	RequestID string          `json:"request_id"`
	Seq       int64           `json:"seq"`
	Target    wireTarget      `json:"target"`
	TenantID  string          `json:"tenant_id"`
	Time      string          `json:"time"`
	UserAgent string          `json:"user_agent"`
	V         int             `json:"v"`
}

type wireActor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

type wireTarget struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type wireSealedPII struct {
	Data    []byte `json:"data"`
	Subject string `json:"subject"`
}

// ParseCanonical reads an event back from its canonical encoding; Hash is
// left empty. Canonical(ParseCanonical(b)) is b for any b that Canonical
// produced. It rejects unknown members and versions other than
// CanonicalVersion, but does not insist that b is canonical: compare
// Canonical of the result with b for that.
func ParseCanonical(b []byte) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var w wireEvent
	if err := dec.Decode(&w); err != nil {
		return Event{}, fmt.Errorf("parse canonical event: %w", err)
	}
	if dec.More() {
		return Event{}, errors.New("parse canonical event: data after the object")
	}
	if w.V != CanonicalVersion {
		return Event{}, fmt.Errorf("parse canonical event %s: version %d is not supported (this code reads %d)", w.ID, w.V, CanonicalVersion)
	}
	t, err := time.Parse(timeLayout, w.Time)
	if err != nil {
		return Event{}, fmt.Errorf("parse canonical event %s: time: %w", w.ID, err)
	}
	e := Event{
		ID: w.ID, TenantID: w.TenantID, Seq: w.Seq, Time: t,
		Actor:     Actor{Kind: w.Actor.Kind, ID: w.Actor.ID, Name: w.Actor.Name},
		RealActor: Actor{Kind: w.RealActor.Kind, ID: w.RealActor.ID, Name: w.RealActor.Name},
		Action:    w.Action,
		Target:    Target{Type: w.Target.Type, ID: w.Target.ID},
		IP:        w.IP, UserAgent: w.UserAgent, RequestID: w.RequestID,
		PrevHash: w.PrevHash,
	}
	if len(w.Diff) > 0 {
		e.Diff = w.Diff
	}
	for _, p := range w.PII {
		e.PII = append(e.PII, SealedPII{Subject: p.Subject, Data: p.Data})
	}
	return e, nil
}

// normalizeDiff returns d as a JSON column gives it back: encoded with
// encoding/json, decoded with numbers as json.Number, strings cleaned.
func normalizeDiff(d map[string]any) (map[string]any, error) {
	if len(d) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	v, err := cleanValue(out)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	return v.(map[string]any), nil
}

// isPlain reports whether v holds nothing but what decoding JSON with
// UseNumber yields, so it needs no round trip through encoding/json.
func isPlain(v any) bool {
	switch v := v.(type) {
	case nil, bool, string, json.Number:
		return true
	case []any:
		for _, x := range v {
			if !isPlain(x) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, x := range v {
			if !isPlain(x) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// cleanValue copies a plain value with every string and key cleaned.
func cleanValue(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return clean(v), nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			c, err := cleanValue(x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			c, err := cleanValue(x)
			if err != nil {
				return nil, err
			}
			ck := clean(k)
			if _, dup := out[ck]; dup {
				return nil, fmt.Errorf("two keys read %q once invalid UTF-8 and NUL are replaced", ck)
			}
			out[ck] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

// appendValue appends the RFC 8785 form of a plain value.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return appendString(b, clean(v)), nil
	case json.Number:
		n, err := canonicalNumber(v)
		if err != nil {
			return nil, err
		}
		return append(b, n...), nil
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, x); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		values := make(map[string]any, len(v))
		for k, x := range v {
			ck := clean(k)
			if _, dup := values[ck]; dup {
				return nil, fmt.Errorf("two keys read %q once invalid UTF-8 and NUL are replaced", ck)
			}
			keys = append(keys, ck)
			values[ck] = x
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, values[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	default:
		return nil, fmt.Errorf("cannot encode a %T", v)
	}
}

// appendString appends s, valid UTF-8 without NUL, as an RFC 8785 string.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(b, '"')
}

// canonicalNumber writes a JSON number as Canonical documents.
func canonicalNumber(n json.Number) (string, error) {
	s := string(n)
	if isIntegerLiteral(s) {
		if s == "-0" {
			return "0", nil
		}
		return s, nil
	}
	if !json.Valid([]byte(s)) || s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return "", fmt.Errorf("%q is not a JSON number", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("number %s does not fit a double", s)
	}
	return formatDouble(f), nil
}

// isIntegerLiteral reports whether s is "-"? followed by digits, with no
// leading zero unless it is the only digit.
func isIntegerLiteral(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// formatDouble writes f as ECMAScript's Number.prototype.toString does, which
// is also how encoding/json writes a float64.
func formatDouble(f float64) string {
	if f == 0 {
		return "0" // also for -0
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// Go writes e-07 where ECMAScript writes e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 sorts
// keys. It differs from byte order only between characters above U+FFFF and
// those in U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := firstUTF16Unit(ra), firstUTF16Unit(rb)
			if ua != ub {
				return int(ua) - int(ub)
			}
			return int(ra) - int(rb) // same high surrogate: low surrogates follow code point order
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

func firstUTF16Unit(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}
