package eventmix_test

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/eventmix"
	"github.com/vigilhq/vigil/internal/normalize"
)

// Every event of the mix is one Vigil accepts, and each kind is
// classified as the benchmarks assume.
func TestMixNormalises(t *testing.T) {
	t.Parallel()
	received := time.Now()
	body := eventmix.NDJSON(0, 100, received.Add(-time.Hour), "t")
	categories := map[string]int{}
	n := 0
	for line := range bytes.Lines(body) {
		n++
		raw, err := normalize.DecodeLine(bytes.TrimSpace(line), normalize.Limits{})
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		ev, err := normalize.Normalize(raw, received, normalize.Limits{})
		if err != nil {
			t.Fatalf("line %d %s: %v", n, line, err)
		}
		if v, ok := ev.Get("event.category"); ok {
			if list, ok := v.([]any); ok && len(list) > 0 {
				categories[list[0].(string)]++
			}
		}
	}
	if n != 100 {
		t.Fatalf("%d lines, want 100", n)
	}
	// Of every ten: two sshd failures, the accepted key, the ECS login, 4625
	// and 4624 authenticate; the ECS process start and the Sysmon process
	// creation are processes; the flow is network, the sudo line a session.
	want := map[string]int{"authentication": 60, "process": 20, "network": 10, "session": 10}
	if !maps.Equal(categories, want) {
		t.Errorf("event.category counts %v, want %v", categories, want)
	}
}
