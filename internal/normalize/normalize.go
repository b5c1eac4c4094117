package normalize

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/vigilhq/vigil/internal/event"
)

// Limits bound one event. Zero (or negative) values mean the defaults.
type Limits struct {
	MaxLineBytes  int // default 256 KiB: one NDJSON line / one event encoded
	MaxFieldBytes int // default 32 KiB: one string value (and one field name)
	MaxFields     int // default 1000: leaves (strings, numbers, booleans, nulls) in the object
	MaxDepth      int // default 16: nesting depth, the top object being 1
}

// Default limits.
const (
	DefaultMaxLineBytes  = 256 << 10
	DefaultMaxFieldBytes = 32 << 10
	DefaultMaxFields     = 1000
	DefaultMaxDepth      = 16
)

// MaxIDLength is the longest event id accepted, in characters.
const MaxIDLength = 128

// MaxFutureSkew is how far after the time received an event may be dated.
const MaxFutureSkew = 24 * time.Hour

func (l Limits) withDefaults() Limits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// ErrLimit is matched (errors.Is) by every error that reports a violated
// Limits bound, as opposed to malformed content.
var ErrLimit = errors.New("event exceeds a limit")

// Error is why one line or event was refused. Field names the offending field
// as a dotted path ("process.command_line", "tags[3]"); it is empty when the
// line as a whole is at fault.
type Error struct {
	Field string
	msg   string
	limit bool
}

func (e *Error) Error() string { return e.msg }

// Is reports whether target is ErrLimit and e is a limit violation.
func (e *Error) Is(target error) bool { return target == ErrLimit && e.limit }

// fieldError reports malformed content in field.
func fieldError(field, format string, args ...any) *Error {
	return &Error{Field: field, msg: fmt.Sprintf("field %q ", shorten(field, 200)) + fmt.Sprintf(format, args...)}
}

// limitError reports a violated limit.
func limitError(field, format string, args ...any) *Error {
	return &Error{Field: field, msg: fmt.Sprintf(format, args...), limit: true}
}

// shorten caps s for an error message, on a rune boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// quote renders a received value for an error message, shortened.
func quote(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", shorten(v, 64))
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return shorten(fmt.Sprint(v), 64)
	}
}

// Normalize maps a decoded object to an Event. received is the ingest time,
// used when the event carries no time of its own (zero means now). raw becomes
// Event.Original as it is: Normalize never modifies it, and the caller must
// not either once it is handed over. Fields is built from a deep copy.
//
// lim is enforced again on raw, so objects that did not come through
// DecodeLine (GraphQL, Kafka) are bounded too; the encoded size is then
// estimated without escapes.
func Normalize(raw map[string]any, received time.Time, lim Limits) (event.Event, error) {
	lim = lim.withDefaults()
	if received.IsZero() {
		received = time.Now()
	}
	n := &normalizer{received: received.UTC(), lim: lim}
	cp, err := copyChecked(raw, lim)
	if err != nil {
		return event.Event{}, err
	}
	if isWindowsNative(cp) {
		err = n.windowsNative(cp)
	} else {
		n.fields, err = expand(cp, "")
	}
	if err != nil {
		return event.Event{}, err
	}
	if err := n.validateECS(); err != nil {
		return event.Event{}, err
	}
	n.windows()
	n.journald()
	if err := n.syslog(); err != nil {
		return event.Event{}, err
	}
	n.auth()
	ts, err := n.timestamp()
	if err != nil {
		return event.Event{}, err
	}
	id, err := n.id()
	if err != nil {
		return event.Event{}, err
	}
	return event.Event{ID: id, Timestamp: ts, Fields: n.fields, Original: raw}, nil
}

// normalizer carries one event through Normalize.
type normalizer struct {
	received time.Time
	lim      Limits
	fields   map[string]any

	// eventTime is the time the format carries, from eventTimeField.
	eventTime      time.Time
	eventTimeField string
	eventTimeWhat  string // what eventTimeField holds, when not just a time
	// program and text are the syslog program and free text, for auth.
	program, text string
}

// setEventTime records the time the format carries, found in field; what
// says what the field holds when it is not just a time. The first one wins.
func (n *normalizer) setEventTime(t time.Time, field, what string) {
	if n.eventTimeField == "" {
		n.eventTime, n.eventTimeField, n.eventTimeWhat = t, field, what
	}
}

// timestamp picks the event time (see the package doc), checks it and
// stores it as @timestamp.
func (n *normalizer) timestamp() (time.Time, error) {
	t, field := n.received, ""
	if v, ok := n.fields["@timestamp"]; ok {
		parsed, err := parseTime(v, n.received)
		if err != nil {
			return time.Time{}, fieldError("@timestamp", "%s", err)
		}
		t, field = parsed, "@timestamp"
	} else if n.eventTimeField != "" {
		t, field = n.eventTime, n.eventTimeField
	} else {
		for _, k := range [...]string{"timestamp", "time"} {
			if v, ok := n.fields[k]; ok {
				if parsed, err := parseTime(v, n.received); err == nil {
					t, field = parsed, k
					break
				}
			}
		}
	}
	t = t.UTC()
	if field != "" {
		what := "is"
		if field == n.eventTimeField && n.eventTimeWhat != "" {
			what = "has a " + n.eventTimeWhat + " of"
		}
		if t.Year() < 1970 {
			return time.Time{}, fieldError(field, "%s %s, before 1970", what, t.Format(time.RFC3339Nano))
		}
		if t.Sub(n.received) > MaxFutureSkew {
			return time.Time{}, fieldError(field, "%s %s, more than 24h after the time received (%s)",
				what, t.Format(time.RFC3339Nano), n.received.Format(time.RFC3339))
		}
	}
	n.fields["@timestamp"] = t.Format(time.RFC3339Nano)
	return t, nil
}

// id returns event.id, or top-level id, as a string and stores it as
// event.id.
func (n *normalizer) id() (string, error) {
	field := "event.id"
	v, ok := get(n.fields, field)
	if !ok {
		field = "id"
		if v, ok = n.fields["id"]; !ok {
			return "", nil
		}
	}
	s, ok := scalarString(v)
	if !ok {
		return "", fieldError(field, "must be a string or a number, not %s", quote(v))
	}
	if s == "" {
		return "", nil
	}
	if c := utf8.RuneCountInString(s); c > MaxIDLength {
		return "", limitError(field, "field %q is %d characters, limit %d", field, c, MaxIDLength)
	}
	if field == "event.id" {
		set(n.fields, "event.id", s)
	} else {
		put(n.fields, "event.id", s)
	}
	return s, nil
}
