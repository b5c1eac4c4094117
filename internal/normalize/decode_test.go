package normalize_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/normalize"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestDecodeLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"object", `{"a":1,"b":"x"}`, map[string]any{"a": json.Number("1"), "b": "x"}},
		{"exact big numbers", `{"Keywords":-9223372036854775808,"ms":1764151201123}`,
			map[string]any{"Keywords": json.Number("-9223372036854775808"), "ms": json.Number("1764151201123")}},
		{"white space and CRLF", " \t{\"a\":true}\r\n", map[string]any{"a": true}},
		{"byte order mark", "\xef\xbb\xbf{\"a\":null}", map[string]any{"a": nil}},
		{"last duplicate wins", `{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}},
		{"invalid UTF-8 replaced", "{\"a\":\"\xff\"}", map[string]any{"a": "\ufffd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := normalize.DecodeLine([]byte(tt.line), normalize.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestDecodeLineErrors(t *testing.T) {
	t.Parallel()
	small := normalize.Limits{MaxLineBytes: 200, MaxFieldBytes: 16, MaxFields: 5, MaxDepth: 3}
	tests := []struct {
		name, line string
		lim        normalize.Limits
		limit      bool // errors.Is(err, ErrLimit)
		field, msg string
	}{
		{"empty", "", normalize.Limits{}, false, "", "line is empty"},
		{"blank", "  \r\n", normalize.Limits{}, false, "", "line is empty"},
		{"array", `[{"a":1}]`, normalize.Limits{}, false, "", "line is not a JSON object (it is an array)"},
		{"string", `"hello"`, normalize.Limits{}, false, "", "line is not a JSON object (it is a string)"},
		{"null", `null`, normalize.Limits{}, false, "", "line is not a JSON object (it is null)"},
		{"trailing comma", `{"user":{"name":"x",}}`, normalize.Limits{}, false, "", "invalid JSON at byte 21: invalid character '}' looking for beginning of object key string"},
		{"truncated", `{"user":{"name":"x"`, normalize.Limits{}, false, "", "invalid JSON at byte 19: unexpected end of line"},
		{"two objects", `{"a":1}{"b":2}`, normalize.Limits{}, false, "", "invalid JSON at byte 8: data after the object"},
		{"data after space", `{"a":1}  x`, normalize.Limits{}, false, "", "invalid JSON at byte 10: data after the object"},
		{"bare word", `nul`, normalize.Limits{}, false, "", "invalid JSON at byte 3"},

		{"line too long", `{"message":"` + strings.Repeat("x", 300) + `"}`, small, true, "", "line is 314 bytes, limit 200"},
		{"default line limit", `{"m":"` + strings.Repeat("x", 256<<10) + `"}`, normalize.Limits{}, true, "", "line is 262152 bytes, limit 262144"},
		{"string too long", `{"process":{"command_line":"` + strings.Repeat("A", 17) + `"}}`, small, true,
			"process.command_line", `field "process.command_line" is 17 bytes, limit 16`},
		{"flat key too long", `{"process.command_line":"` + strings.Repeat("A", 40000) + `"}`, normalize.Limits{}, true,
			"process.command_line", `field "process.command_line" is 40000 bytes, limit 32768`},
		{"number too long", `{"n":` + strings.Repeat("9", 17) + `}`, small, true, "n", `field "n" is a 17-byte number, limit 16`},
		{"field name too long", `{"a":{"` + strings.Repeat("k", 17) + `":1}}`, small, true, "a", `a field name in "a" is 17 bytes, limit 16`},
		{"too many fields", `{"b":{"c":[1,2,3,4,5,6]}}`, small, true, "b.c[5]", `too many fields: "b.c[5]" is number 6, limit 5`},
		{"too deep", `{"a":{"b":{"c":{"d":1}}}}`, small, true, "a.b.c", `field "a.b.c" nests 4 levels deep, limit 3`},
		{"too deep in arrays", `{"a":[[[1]]]}`, small, true, "a[0][0]", `field "a[0][0]" nests 4 levels deep, limit 3`},
		{"default depth", `{"a":` + strings.Repeat(`{"a":`, 16) + `1` + strings.Repeat(`}`, 17), normalize.Limits{}, true,
			"-", "nests 17 levels deep, limit 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := normalize.DecodeLine([]byte(tt.line), tt.lim)
			wantError(t, err, tt.field, tt.msg)
			if errors.Is(err, normalize.ErrLimit) != tt.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v", !tt.limit, tt.limit)
			}
		})
	}
}

func TestDecodeLineWithinLimits(t *testing.T) {
	t.Parallel()
	lim := normalize.Limits{MaxLineBytes: 200, MaxFieldBytes: 16, MaxFields: 5, MaxDepth: 3}
	for _, line := range []string{
		`{"a":"` + strings.Repeat("x", 16) + `"}`, // exactly MaxFieldBytes
		`{"a":1,"b":2,"c":{"d":[3,4]}}`,           // exactly MaxFields, depth 3
		`{"a":{},"b":[],"c":{"d":{}}}`,            // empty containers are no fields
	} {
		if _, err := normalize.DecodeLine([]byte(line), lim); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
}

// TestLimitsArePerLine feeds a stream where some lines break limits: each
// is refused on its own and its neighbours go through.
func TestLimitsArePerLine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.lim = normalize.Limits{MaxLineBytes: 4096, MaxFieldBytes: 64, MaxFields: 20, MaxDepth: 4}
	stream := strings.Join([]string{
		`{"@timestamp":"2026-11-26T10:00:00Z","user":{"name":"alice"}}`,
		`{"process":{"command_line":"` + strings.Repeat("A", 65) + `"}}`,
		`{"@timestamp":"2026-11-26T10:00:01Z","user":{"name":"bob"}}`,
		`{"a":{"b":{"c":{"d":{"e":1}}}}}`,
		`{"@timestamp":"2026-11-26T10:00:02Z","user":{"name":"carol"}}`,
		`{"tags":[` + strings.Repeat(`"t",`, 20) + `"t"]}`,
		`not json`,
		`{"@timestamp":"2026-11-26T10:00:03Z","user":{"name":"dave"}}`,
	}, "\n")
	var ok []string
	var failed []string
	for line := range strings.SplitSeq(stream, "\n") {
		ev, err := b.try(line)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		ok = append(ok, ev.String("user.name"))
	}
	if strings.Join(ok, ",") != "alice,bob,carol,dave" {
		t.Errorf("accepted %v, want alice,bob,carol,dave", ok)
	}
	if len(failed) != 4 {
		t.Errorf("refused %d lines, want 4: %q", len(failed), failed)
	}
}

// TestNormalizeEnforcesLimits covers objects that did not come through
// DecodeLine (GraphQL, Kafka): Normalize bounds them too and copes with Go
// number types.
func TestNormalizeEnforcesLimits(t *testing.T) {
	t.Parallel()
	lim := normalize.Limits{MaxLineBytes: 100, MaxFieldBytes: 16, MaxFields: 5, MaxDepth: 3}
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{}}}}
	tests := []struct {
		name       string
		raw        map[string]any
		limit      bool
		field, msg string
	}{
		{"deep", deep, true, "a.b.c", `field "a.b.c" nests 4 levels deep, limit 3`},
		{"long string", map[string]any{"user": map[string]any{"name": strings.Repeat("x", 17)}}, true, "user.name", `field "user.name" is 17 bytes, limit 16`},
		{"many fields", map[string]any{"tags": []string{"a", "b", "c", "d", "e", "f"}}, true, "tags[5]", "too many fields"},
		{"big event", map[string]any{"a": strings.Repeat("x", 16), "b": strings.Repeat("x", 16), "c": strings.Repeat("x", 16), "d": strings.Repeat("x", 16), "e": strings.Repeat("x", 16)}, true, "", "event is about 116 bytes encoded, limit 100"},
		{"NaN", map[string]any{"x": math.NaN()}, false, "x", `field "x" is not a finite number`},
		{"Go type", map[string]any{"x": struct{}{}}, false, "x", `field "x" has a value of type struct {}, which is not JSON`},
		{"bad json.Number", map[string]any{"n": []any{json.Number("12abc")}}, false, "n[0]", `field "n[0]" is "12abc", not a JSON number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := normalize.Normalize(tt.raw, received, lim)
			wantError(t, err, tt.field, tt.msg)
			if errors.Is(err, normalize.ErrLimit) != tt.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v", !tt.limit, tt.limit)
			}
		})
	}
}

// TestSizeEstimateMatchesEncoding: for compact JSON without escapes the
// size Normalize checks is the encoded size, so a line that DecodeLine
// accepted at the limit passes Normalize too.
func TestSizeEstimateMatchesEncoding(t *testing.T) {
	t.Parallel()
	line := `{"a":[1,true,false,null,{"b":"c"},[]],"d":{},"e":"` + strings.Repeat("x", 50) + `"}`
	lim := normalize.Limits{MaxLineBytes: len(line)}
	raw, err := normalize.DecodeLine([]byte(line), lim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := normalize.Normalize(raw, received, lim); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	lim.MaxLineBytes--
	_, err = normalize.Normalize(raw, received, lim)
	wantError(t, err, "", fmt.Sprintf("event is about %d bytes encoded, limit %d", len(line), len(line)-1))
}

func TestNormalizeGoNumbers(t *testing.T) {
	t.Parallel()
	raw := map[string]any{"a": 1.5, "b": 3, "c": int64(1) << 62, "d": float32(2), "e": 1e21, "source": map[string]any{"port": 22.0}}
	ev, err := normalize.Normalize(raw, received, normalize.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkFields(t, ev, map[string]any{
		"a": num("1.5"), "b": num("3"), "c": num("4611686018427387904"), "d": num("2"), "e": num("1e+21"),
		"source.port": num("22"),
	})
	if raw["a"] != 1.5 {
		t.Errorf("raw changed: %#v", raw)
	}
}

func TestGoJSONNumbers(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "12", "-1.5", "1e10", "1E+2", "2.5e-3"} {
		if _, err := normalize.Normalize(map[string]any{"n": json.Number(s)}, received, normalize.Limits{}); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "+1", "0x10", "NaN", "1 "} {
		if _, err := normalize.Normalize(map[string]any{"n": json.Number(s)}, received, normalize.Limits{}); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
