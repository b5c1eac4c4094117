package normalize_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/normalize"
)

// An Elastic Agent / Filebeat event, nested and with flat dotted keys.
const (
	ecsNested = `{"@timestamp":"2026-11-26T10:00:00.123Z","event":{"category":"authentication","type":["start"],"outcome":"failure","id":"evt-1"},` +
		`"source":{"ip":"2001:db8::7","port":"52144"},"user":{"name":"root"},"host":{"name":"web1","ip":["10.0.0.5"]},` +
		`"process":{"name":"sshd","pid":1234},"message":"Failed password for root"}`
	ecsFlat = `{"@timestamp":"2026-11-26T10:00:00.123Z","event.category":"authentication","event.type":["start"],"event.outcome":"failure","event.id":"evt-1",` +
		`"source.ip":"2001:db8::7","source.port":"52144","user.name":"root","host":{"name":"web1"},"host.ip":["10.0.0.5"],` +
		`"process.name":"sshd","process":{"pid":1234},"message":"Failed password for root"}`
)

func TestECSNestedAndFlat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	nested := b.normalize(t, ecsNested)
	flat := b.normalize(t, ecsFlat)
	want := map[string]any{
		"@timestamp":     "2026-11-26T10:00:00.123Z",
		"event.category": list("authentication"),
		"event.type":     list("start"),
		"event.outcome":  "failure",
		"source.ip":      "2001:db8::7",
		"source.port":    num("52144"),
		"user.name":      "root",
		"host.name":      "web1",
		"host.ip":        list("10.0.0.5"),
		"process.pid":    num("1234"),
		"message":        "Failed password for root",
	}
	checkFields(t, nested, want)
	checkFields(t, flat, want)
	if !reflect.DeepEqual(nested.Fields, flat.Fields) {
		t.Errorf("flat and nested differ:\n%v\n%v", nested.Fields, flat.Fields)
	}
	if _, ok := flat.Fields["source.ip"]; ok {
		t.Error("flat key left at the top of Fields")
	}
	if nested.ID != "evt-1" || !nested.Timestamp.Equal(time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)) {
		t.Errorf("ID, Timestamp = %q, %v", nested.ID, nested.Timestamp)
	}
}

func TestECSCanonicalValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := b.normalize(t, `{"source.ip":"::ffff:203.0.113.7","destination":{"ip":"fe80::1%eth0","port":443},"client.ip":"10.0.0.1","process.parent.pid":"77","event.type":"denied","source.geo":{"country_iso_code":"NL"},"source":{"geo.city_name":"Amsterdam"}}`)
	checkFields(t, ev, map[string]any{
		"source.ip":                   "203.0.113.7",
		"destination.ip":              "fe80::1",
		"destination.port":            num("443"),
		"client.ip":                   "10.0.0.1",
		"process.parent.pid":          num("77"),
		"event.type":                  list("denied"),
		"source.geo.city_name":        "Amsterdam",
		"source.geo.country_iso_code": "NL",
	})
}

func TestECSErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, field, msg string }{
		{"bad source.ip", `{"source.ip":"999.1.1.1"}`, "source.ip", `field "source.ip" is "999.1.1.1", not an IP address`},
		{"nested bad destination.ip", `{"destination":{"ip":"10.0.0"}}`, "destination.ip", `field "destination.ip" is "10.0.0", not an IP address`},
		{"number as ip", `{"source":{"ip":167772161}}`, "source.ip", `is 167772161, not an IP address`},
		{"port too big", `{"source.port":70000}`, "source.port", `field "source.port" is 70000, not a port number (0-65535)`},
		{"port not a number", `{"destination":{"port":"https"}}`, "destination.port", `is "https", not a port number`},
		{"bad pid", `{"process.pid":"-3"}`, "process.pid", `field "process.pid" is "-3", not a process id`},
		{"category object", `{"event":{"category":{"a":1}}}`, "event.category", `field "event.category" must be a string or an array of strings, not an object`},
		{"type with number", `{"event.type":["start",1]}`, "event.type", `field "event.type" must be a string or an array of strings, but holds 1`},
		{"flat under string", `{"source":"firewall","source.ip":"1.2.3.4"}`, "source.ip", `field "source.ip" conflicts with "source", which is not an object`},
		{"deep flat under string", `{"a":{"b":"x"},"a.b.c":1}`, "a.b.c", `field "a.b.c" conflicts with "a.b", which is not an object`},
		{"given twice", `{"source":{"ip":"1.1.1.1"},"source.ip":"2.2.2.2"}`, "source.ip", `field "source.ip" is given twice (nested and dotted)`},
		{"bad @timestamp", `{"@timestamp":"yesterday"}`, "@timestamp", `field "@timestamp" is "yesterday", not a time (want RFC 3339 or epoch milliseconds)`},
		{"@timestamp object", `{"@timestamp":{"t":1}}`, "@timestamp", `field "@timestamp" is an object, not a time`},
		{"@timestamp in the future", `{"@timestamp":"2026-11-27T10:30:01Z"}`, "@timestamp", `field "@timestamp" is 2026-11-27T10:30:01Z, more than 24h after the time received (2026-11-26T10:30:00Z)`},
		{"@timestamp before 1970", `{"@timestamp":"1969-12-31T23:59:59Z"}`, "@timestamp", `field "@timestamp" is 1969-12-31T23:59:59Z, before 1970`},
		{"negative epoch", `{"@timestamp":-1000}`, "@timestamp", `before 1970`},
		{"absurd epoch", `{"@timestamp":1e300}`, "@timestamp", `field "@timestamp" is 1e300, not a time in epoch milliseconds: out of range`},
		{"time in the future", `{"time":"2030-01-01T00:00:00Z"}`, "time", `field "time" is 2030-01-01T00:00:00Z, more than 24h after`},
		{"id too long", `{"event":{"id":"` + strings.Repeat("é", 129) + `"}}`, "event.id", `field "event.id" is 129 characters, limit 128`},
		{"top-level id too long", `{"id":"` + strings.Repeat("x", 200) + `"}`, "id", `field "id" is 200 characters, limit 128`},
		{"id of wrong type", `{"id":true}`, "id", `field "id" must be a string or a number, not true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t).try(tt.line)
			wantError(t, err, tt.field, tt.msg)
		})
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name, line string
		want       time.Time
	}{
		{"RFC 3339 nano", `{"@timestamp":"2026-11-26T10:00:00.123456789Z"}`, ts("2026-11-26T10:00:00.123456789Z")},
		{"zone to UTC", `{"@timestamp":"2026-11-26T11:00:00+01:00"}`, ts("2026-11-26T10:00:00Z")},
		{"epoch millis", `{"@timestamp":1795687200123}`, ts("2026-11-26T10:00:00.123Z")},
		{"epoch millis string", `{"@timestamp":"1795687200123"}`, ts("2026-11-26T10:00:00.123Z")},
		{"epoch seconds", `{"@timestamp":1795687200}`, ts("2026-11-26T10:00:00Z")},
		{"epoch seconds fraction", `{"@timestamp":1795687200.25}`, ts("2026-11-26T10:00:00.25Z")},
		{"zone without colon", `{"@timestamp":"2026-11-26T11:00:00.5+0100"}`, ts("2026-11-26T10:00:00.5Z")},
		{"space, no zone", `{"timestamp":"2026-11-26 10:00:00.5"}`, ts("2026-11-26T10:00:00.5Z")},
		{"time as syslog time", `{"time":"Nov 26 10:00:00"}`, ts("2026-11-26T10:00:00Z")},
		{"@timestamp beats timestamp", `{"@timestamp":"2026-11-26T09:00:00Z","timestamp":"2026-11-26T08:00:00Z"}`, ts("2026-11-26T09:00:00Z")},
		{"unparseable time ignored", `{"time":"soon"}`, received},
		{"no time", `{"a":1}`, received},
		{"exactly 24h ahead", `{"@timestamp":"2026-11-27T10:30:00Z"}`, ts("2026-11-27T10:30:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := setup(t).normalize(t, tt.line)
			if !ev.Timestamp.Equal(tt.want) || ev.Timestamp.Location() != time.UTC {
				t.Errorf("Timestamp = %v, want %v UTC", ev.Timestamp, tt.want)
			}
			if got := ev.String("@timestamp"); got != tt.want.Format(time.RFC3339Nano) {
				t.Errorf("@timestamp = %q", got)
			}
		})
	}
}

func TestReceivedInAnotherZone(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	ev, err := normalize.Normalize(map[string]any{"a": "b"}, received.In(paris), normalize.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Timestamp.Location() != time.UTC || !ev.Timestamp.Equal(received) {
		t.Errorf("Timestamp = %v", ev.Timestamp)
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	tests := []struct{ line, want string }{
		{`{"event":{"id":"abc"}}`, "abc"},
		{`{"event.id":"abc"}`, "abc"},
		{`{"id":12345678901234567890}`, "12345678901234567890"},
		{`{"id":"top","event":{"id":"ecs"}}`, "ecs"},
		{`{"event":{"id":42}}`, "42"},
		{`{"id":"` + strings.Repeat("x", 128) + `"}`, strings.Repeat("x", 128)},
		{`{"id":""}`, ""},
		{`{"a":1}`, ""},
	}
	for _, tt := range tests {
		ev := setup(t).normalize(t, tt.line)
		if ev.ID != tt.want {
			t.Errorf("%s: ID = %q, want %q", tt.line, ev.ID, tt.want)
		}
		if tt.want != "" && ev.String("event.id") != tt.want {
			t.Errorf("%s: event.id = %q, want %q", tt.line, ev.String("event.id"), tt.want)
		}
	}
}

// TestGenericObject: any other object is kept, with its time.
func TestGenericObject(t *testing.T) {
	t.Parallel()
	ev := setup(t).normalize(t, `{"ts":"x","time":"2026-11-26T10:00:00Z","level":"warn","msg":"disk almost full","disk":{"used_pct":97.5},"user":{"name":"backup"},"labels":{"env":"prod"}}`)
	checkFields(t, ev, map[string]any{
		"@timestamp":    "2026-11-26T10:00:00Z",
		"time":          "2026-11-26T10:00:00Z",
		"level":         "warn",
		"msg":           "disk almost full",
		"disk.used_pct": num("97.5"),
		"user.name":     "backup",
		"labels.env":    "prod",
		"event":         absent,
	})
}

// TestOriginalUnchanged runs every sample through Normalize and checks that
// Original is the map given, unchanged, and not shared with Fields.
func TestOriginalUnchanged(t *testing.T) {
	t.Parallel()
	lines := []string{
		ecsNested, ecsFlat,
		syslogObject("<38>Nov 26 10:00:01 web1 sshd[1234]: Failed password for root from 203.0.113.7 port 52144 ssh2"),
		syslogObject(`<165>1 2026-11-26T10:00:00.123Z host app 77 ID47 [ex@32473 iut="3"] msg`),
		`{"host":"10.0.0.5","message":"Nov 26 10:00:01 web1 sudo:    bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls"}`,
		`{"MESSAGE":"Accepted password for alice from 198.51.100.23 port 50022 ssh2","SYSLOG_IDENTIFIER":"sshd","_PID":"812","__REALTIME_TIMESTAMP":"1795687200000000"}`,
	}
	files, _ := filepath.Glob("testdata/windows/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	for _, line := range lines {
		raw, err := normalize.DecodeLine([]byte(line), normalize.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := json.Marshal(raw)
		ev, err := normalize.Normalize(raw, received, normalize.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		after, _ := json.Marshal(raw)
		if string(before) != string(after) {
			t.Errorf("Normalize changed its input:\n%s\n%s", before, after)
		}
		if reflect.ValueOf(ev.Original).Pointer() != reflect.ValueOf(raw).Pointer() {
			t.Error("Original is not the map received")
		}
		scribble(ev.Fields)
		if again, _ := json.Marshal(raw); string(again) != string(before) {
			t.Errorf("Fields shares memory with Original:\n%s\n%s", before, again)
		}
	}
}

// scribble overwrites every value in a document, arrays included.
func scribble(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			scribble(e)
			if _, ok := e.(map[string]any); !ok {
				v[k] = "scribbled"
			}
		}
	case []any:
		for i, e := range v {
			scribble(e)
			v[i] = "scribbled"
		}
	}
}

func TestErrorIsNotLimit(t *testing.T) {
	t.Parallel()
	_, err := setup(t).try(`{"source.ip":"nope"}`)
	if err == nil || errors.Is(err, normalize.ErrLimit) {
		t.Errorf("err = %v; a malformed value is not a limit", err)
	}
}
func TestExpandArrays(t *testing.T) {
	t.Parallel()
	ev := setup(t).normalize(t, `{"threat":{"enrichments":[{"indicator.ip":"1.2.3.4"},{"indicator":{"ip":"5.6.7.8"}}]},"x":[[{"a.b":1}]]}`)
	checkFields(t, ev, map[string]any{
		"threat.enrichments": list(map[string]any{"indicator": map[string]any{"ip": "1.2.3.4"}}, map[string]any{"indicator": map[string]any{"ip": "5.6.7.8"}}),
		"x":                  list(list(map[string]any{"a": map[string]any{"b": num("1")}})),
	})
	_, err := setup(t).try(`{"x":[1,{"a":"s","a.b":2}]}`)
	wantError(t, err, "x[1].a.b", `field "x[1].a.b" conflicts with "x[1].a", which is not an object`)
}
