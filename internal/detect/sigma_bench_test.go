package detect

import (
	"context"
	"testing"

	"github.com/vigilhq/vigil/internal/event"
)

// BenchmarkSigmaSetMatch measures Match with the shared SigmaHQ rule set
// loaded and with no rules, on Sysmon process creations (PowerShell, the
// binary most rules watch, and a Chrome renderer) and an sshd line.
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
		{"rules=all", NewSigmaSet(rules)},
		{"rules=none", NewSigmaSet(nil)},
	}
	events := []struct {
		name string
		ev   event.Event
	}{
		{"event=sysmon_process_creation", sysmonProcess(
			`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			`powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\Scripts\inventory.ps1 -Output C:\ProgramData\Scripts\out.csv`,
			`C:\Windows\System32\svchost.exe`, `CORP\svc_inventory`)},
		{"event=sysmon_process_creation_chrome", sysmonProcess(
			`C:\Program Files\Google\Chrome\Application\chrome.exe`,
			`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US --renderer-client-id=7 --mojo-platform-channel-handle=3120 /prefetch:1`,
			`C:\Program Files\Google\Chrome\Application\chrome.exe`, `CORP\alice`)},
		{"event=sshd_failure", sshFailure("admin", "203.0.113.7", testTime)},
	}
	ctx := context.Background()
	for _, s := range sets {
		for _, e := range events {
			b.Run(s.name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.set.Match(ctx, e.ev)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkCompileSharedRuleSet measures compiling the whole shared rule
// set. Run: go test ./internal/detect/ -run '^$' -bench CompileShared
func BenchmarkCompileSharedRuleSet(b *testing.B) {
	dir, ok := sharedSigmaRules(b)
	if !ok {
		return
	}
	for b.Loop() {
		rules, _, err := LoadSigmaDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		NewSigmaSet(rules)
	}
}
