package normalize_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/event"
	"github.com/vigilhq/vigil/internal/normalize"
)

// received is the ingest time of every test event unless a test says
// otherwise.
var received = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)

type testBundle struct {
	lim      normalize.Limits
	received time.Time
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{received: received}
}

// normalize decodes one line and normalises it, failing the test on error.
func (b *testBundle) normalize(t *testing.T, line string) event.Event {
	t.Helper()
	ev, err := b.try(line)
	if err != nil {
		t.Fatalf("%s\n  error: %v", line, err)
	}
	return ev
}

func (b *testBundle) try(line string) (event.Event, error) {
	raw, err := normalize.DecodeLine([]byte(line), b.lim)
	if err != nil {
		return event.Event{}, err
	}
	return normalize.Normalize(raw, b.received, b.lim)
}

// syslogObject wraps a raw line as shippers send it.
func syslogObject(line string) string {
	b, _ := json.Marshal(map[string]string{"message": line})
	return string(b)
}

type absentT struct{}

// absent in a want map means the field must not be there.
var absent = absentT{}

func num(s string) json.Number { return json.Number(s) }

func list(s ...any) []any { return s }

// checkFields compares the wanted fields (dotted paths) with ev.Fields.
func checkFields(t *testing.T, ev event.Event, want map[string]any) {
	t.Helper()
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		w := want[p]
		got, ok := event.Lookup(ev.Fields, p)
		switch {
		case w == absent:
			if ok {
				t.Errorf("%s = %#v, want absent", p, got)
			}
		case !ok:
			t.Errorf("%s missing, want %#v", p, w)
		case !reflect.DeepEqual(got, w):
			t.Errorf("%s = %#v, want %#v", p, got, w)
		}
	}
	if t.Failed() {
		b, _ := json.MarshalIndent(ev.Fields, "  ", "  ")
		t.Logf("fields:\n  %s", b)
	}
}

// wantError checks that err is a *normalize.Error naming field (when field
// is not "-") with a message containing msg.
func wantError(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", msg)
	}
	var ne *normalize.Error
	if !errorsAs(err, &ne) {
		t.Fatalf("error %v is %T, not *normalize.Error", err, err)
	}
	if field != "-" && ne.Field != field {
		t.Errorf("error field = %q, want %q (%v)", ne.Field, field, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error = %q, want it to contain %q", err, msg)
	}
}
