package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// DecodeLine parses one NDJSON line into a JSON object, enforcing lim.
// Numbers are json.Number (exact; see the package doc). Surrounding white
// space, a trailing "\r" and a leading UTF-8 byte order mark are allowed. A
// key given twice keeps its last value, as in encoding/json; invalid UTF-8 in
// strings becomes U+FFFD.
//
// Errors are *Error; limit violations also match ErrLimit. Byte positions
// in messages count from 1.
func DecodeLine(line []byte, lim Limits) (map[string]any, error) {
	lim = lim.withDefaults()
	if len(line) > lim.MaxLineBytes {
		return nil, limitError("", "line is %d bytes, limit %d", len(line), lim.MaxLineBytes)
	}
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(line, err)
	}
	if off := int(dec.InputOffset()); len(bytes.TrimSpace(line[off:])) > 0 {
		at := len(line) - len(bytes.TrimLeft(line[off:], " \t\r\n")) + 1
		return nil, &Error{msg: "invalid JSON at byte " + strconv.Itoa(at) + ": data after the object"}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{msg: "line is not a JSON object (it is " + jsonKind(v) + ")"}
	}
	w := walker{lim: lim}
	if _, err := w.object(obj, 1); err != nil {
		return nil, err
	}
	return obj, nil
}

func jsonError(line []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return &Error{msg: "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10) + ": " + syn.Error()}
	case errors.Is(err, io.EOF):
		return &Error{msg: "line is empty"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{msg: "invalid JSON at byte " + strconv.Itoa(len(line)) + ": unexpected end of line"}
	default:
		return &Error{msg: "invalid JSON: " + err.Error()}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// copyChecked deep-copies an object for Fields while enforcing lim, turning
// every number into a json.Number.
func copyChecked(m map[string]any, lim Limits) (map[string]any, error) {
	w := walker{lim: lim, copy: true}
	v, err := w.object(m, 1)
	if err != nil {
		return nil, err
	}
	if w.size > lim.MaxLineBytes {
		return nil, limitError("", "event is about %d bytes encoded, limit %d", w.size, lim.MaxLineBytes)
	}
	return v, nil
}

// walker checks (and, with copy, copies) a decoded value against Limits. path
// is the stack of keys and indexes to the current value, joined only for an
// error message. size is the length of the value encoded as compact JSON
// without escapes, so never more than a line DecodeLine accepted unless
// that line held invalid UTF-8 (each bad byte decodes to 3).
type walker struct {
	lim    Limits
	copy   bool
	leaves int
	size   int // estimated encoded size, counted when copying
	path   []string
}

func (w *walker) where() string {
	var b strings.Builder
	for _, p := range w.path {
		if b.Len() > 0 && p[0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func (w *walker) object(m map[string]any, depth int) (map[string]any, error) {
	if depth > w.lim.MaxDepth {
		f := w.where()
		return nil, limitError(f, "field %q nests %d levels deep, limit %d", shorten(f, 200), depth, w.lim.MaxDepth)
	}
	var out map[string]any
	if w.copy {
		out = make(map[string]any, len(m))
		w.size += 2 + max(len(m)-1, 0) // braces, commas
	}
	for k, v := range m {
		if len(k) > w.lim.MaxFieldBytes {
			f := w.where()
			return nil, limitError(f, "a field name in %q is %d bytes, limit %d", shorten(f, 200), len(k), w.lim.MaxFieldBytes)
		}
		w.path = append(w.path, k)
		c, err := w.value(v, depth)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return nil, err
		}
		if w.copy {
			out[k] = c
			w.size += len(k) + 3 // quotes, colon
		}
	}
	return out, nil
}

func (w *walker) array(a []any, depth int) ([]any, error) {
	if depth > w.lim.MaxDepth {
		f := w.where()
		return nil, limitError(f, "field %q nests %d levels deep, limit %d", shorten(f, 200), depth, w.lim.MaxDepth)
	}
	var out []any
	if w.copy {
		out = make([]any, len(a))
		w.size += 2 + max(len(a)-1, 0)
	}
	for i, v := range a {
		w.path = append(w.path, "["+strconv.Itoa(i)+"]")
		c, err := w.value(v, depth)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return nil, err
		}
		if w.copy {
			out[i] = c
		}
	}
	return out, nil
}

// value checks one value found at depth (the depth of its container).
func (w *walker) value(v any, depth int) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		return w.object(v, depth+1)
	case []any:
		return w.array(v, depth+1)
	case []string: // from Go callers
		a := make([]any, len(v))
		for i, s := range v {
			a[i] = s
		}
		return w.array(a, depth+1)
	}
	w.leaves++
	if w.leaves > w.lim.MaxFields {
		f := w.where()
		return nil, limitError(f, "too many fields: %q is number %d, limit %d", shorten(f, 200), w.leaves, w.lim.MaxFields)
	}
	switch v := v.(type) {
	case string:
		if len(v) > w.lim.MaxFieldBytes {
			f := w.where()
			return nil, limitError(f, "field %q is %d bytes, limit %d", shorten(f, 200), len(v), w.lim.MaxFieldBytes)
		}
		w.size += len(v) + 2
		return v, nil
	case json.Number:
		if len(v) > w.lim.MaxFieldBytes {
			f := w.where()
			return nil, limitError(f, "field %q is a %d-byte number, limit %d", shorten(f, 200), len(v), w.lim.MaxFieldBytes)
		}
		if w.copy && !isJSONNumber(string(v)) { // from a Go caller
			return nil, fieldError(w.where(), "is %s, not a JSON number", quote(string(v)))
		}
		w.size += len(v)
		return v, nil
	case bool:
		w.size += 4
		if !v {
			w.size++
		}
		return v, nil
	case nil:
		w.size += 4
		return nil, nil
	}
	if !w.copy {
		// DecodeLine produces nothing else.
		return v, nil
	}
	n, ok := number(v)
	if !ok {
		f := w.where()
		return nil, fieldError(f, "has a value of type %T, which is not JSON", v)
	}
	if n == "" {
		return nil, fieldError(w.where(), "is not a finite number")
	}
	w.size += len(n)
	return n, nil
}

// number turns a Go number into a json.Number; "" for NaN and infinities.
func number(v any) (json.Number, bool) {
	switch v := v.(type) {
	case float64:
		return floatNumber(v), true
	case float32:
		return floatNumber(float64(v)), true
	case int:
		return json.Number(strconv.Itoa(v)), true
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), true
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10)), true
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), true
	case uint32:
		return json.Number(strconv.FormatUint(uint64(v), 10)), true
	case uint:
		return json.Number(strconv.FormatUint(uint64(v), 10)), true
	}
	return "", false
}

// floatNumber formats like encoding/json does.
func floatNumber(f float64) json.Number {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-6 || a >= 1e21) {
		return json.Number(strconv.FormatFloat(f, 'e', -1, 64))
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
