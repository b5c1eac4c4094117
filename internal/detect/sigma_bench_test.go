package detect

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/event"
	"github.com/vigilhq/vigil/internal/eventmix"
	"github.com/vigilhq/vigil/internal/normalize"
)

// BenchmarkSigmaSetMatch measures Match with the shared SigmaHQ rule set
// loaded and with no rules (the baseline), on a Sysmon process creation, an
// sshd line and on event=mix: 100 events of internal/eventmix (sshd and
// sudo syslog lines, ECS logins, process starts and flows, Security 4624 and
// 4625, Sysmon process creations) normalised by internal/normalize as ingest
// stores them. pct_of_none is the rate with all rules as a percentage of the
// rate with none.
// Run: go test ./internal/detect/ -run '^$' -bench SigmaSetMatch
func BenchmarkSigmaSetMatch(b *testing.B) {
	dir, ok := sharedSigmaRules(b)
	if !ok {
		return
	}
	rules, _, err := LoadSigmaDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	sets := []struct {
		name string
		set  *SigmaSet
	}{
		// The baseline first, so the loaded set can report its ratio.
		{"rules=none", NewSigmaSet(nil)},
		{"rules=all", NewSigmaSet(rules)},
	}
	events := []struct {
		name string
		evs  []event.Event
	}{
		{"event=sysmon_process_creation", []event.Event{sysmonProcess(
			`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			`powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\Scripts\inventory.ps1 -Output C:\ProgramData\Scripts\out.csv`,
			`C:\Windows\System32\svchost.exe`, `CORP\svc_inventory`)}},
		{"event=sshd_failure", []event.Event{sshFailure("admin", "203.0.113.7", testTime)}},
		{"event=mix", normalisedMix(b, 100)},
	}
	ctx := context.Background()
	baseline := map[string]float64{}
	for _, s := range sets {
		for _, e := range events {
			b.Run(s.name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					for _, ev := range e.evs {
						s.set.Match(ctx, ev)
					}
					n += len(e.evs)
				}
				rate := float64(n) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "events/s")
				if s.set.Len() == 0 {
					baseline[e.name] = rate
				} else if base := baseline[e.name]; base > 0 {
					b.ReportMetric(100*rate/base, "pct_of_none")
				}
			})
		}
	}
}

// normalisedMix is the first n events of internal/eventmix as ingest stores
// them.
func normalisedMix(b *testing.B, n int) []event.Event {
	b.Helper()
	received := time.Now()
	var out []event.Event
	for line := range bytes.Lines(eventmix.NDJSON(0, n, received.Add(-time.Hour), "bench")) {
		raw, err := normalize.DecodeLine(bytes.TrimSpace(line), normalize.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ev, err := normalize.Normalize(raw, received, normalize.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}
