package detect

import (
	"context"
	"slices"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	t.Parallel()
	plain, raw := plainRef("CommandLine", false), plainRef("CommandLine", true)
	tests := []struct {
		expr  string
		field fieldRef
		want  []literal
	}{
		{`(?s)(?i)^net.* user .*/add$`, plain, []literal{{"net", false}, {" user ", false}, {"/add", false}}},
		{`(?i)echo.*clip.*&&.*(?:Clipboard|invoke)`, raw, []literal{{"echo", true}, {"clip", true}, {"&&", true}}},
		{`Get-[A-Z]+Hash`, raw, []literal{{"Get-", false}, {"Hash", false}}},
		{`(a|bc)d`, raw, nil},
		{`(?i)кириллица.*x`, raw, nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			if got := requiredLiterals(tt.expr, tt.field); !slices.Equal(got, tt.want) {
				t.Errorf("requiredLiterals = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestContainsFoldASCII(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s, sub string
		want   bool
	}{
		{"C:\\WINDOWS\\system32\\CLIP.exe", "clip", true},
		{"ECho x", "echo", true},
		{"ech", "echo", false},
		{"", "a", false},
		{"abc", "", true},
	} {
		if got := containsFoldASCII(tt.s, tt.sub); got != tt.want {
			t.Errorf("containsFoldASCII(%q, %q) = %v", tt.s, tt.sub, got)
		}
	}
}

func TestValueStarts(t *testing.T) {
	t.Parallel()
	var v valueStarts
	for _, s := range []string{"🦆", "#️⃣", "x"} {
		v.add(s)
	}
	for text, want := range map[string]bool{
		"chrome.exe --type=renderer 123": true, // "x" is one byte
		"chrome --type=renderer 123":     false,
		"a 🦆 b":                          true,
		"# comment":                      false,
		"#️⃣":                            true,
	} {
		if got := v.in(text); got != want {
			t.Errorf("in(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestRegexAnchor: a case-insensitive regular expression on a raw field is
// anchored on the lower-cased field, and still matches mixed case.
func TestRegexAnchor(t *testing.T) {
	t.Parallel()
	r := mustCompile(t, rule("  selection:\n    CommandLine|re: '(?i)echo.*clip.*&&.*(?:Clipboard|i`?n`?v`?o`?k`?e`?)'\n  condition: selection\n"))
	anchors, ok := r.pre.anchors()
	if !ok || len(anchors) != 1 || anchors[0].field.raw || anchors[0].kind != anchorSubstring {
		t.Fatalf("anchors = %+v %v, want one substring anchor on the lower-cased field", anchors, ok)
	}
	set := NewSigmaSet([]*SigmaRule{r})
	hit := sysmonProcess(`C:\Windows\System32\cmd.exe`,
		`C:\WINdoWS\sySteM32\CMd /c " ECho\Invoke-Expression (New-Object Net.WebClient).DownloadString|Clip.Exe&&C:\WINdoWS\sySteM32\CMd /c pOWerSheLl -STa [sYSteM.wiNDoWS.forMs.ClIPboaRD]::GetText()"`,
		`C:\Windows\explorer.exe`, `CORP\alice`)
	miss := sysmonProcess(`C:\Windows\System32\cmd.exe`, `cmd /c echo hello | clip`, `C:\Windows\explorer.exe`, `CORP\alice`)
	if got := set.Match(context.Background(), hit); len(got) != 1 {
		t.Error("obfuscated clip command not matched")
	}
	if got := set.Match(context.Background(), miss); len(got) != 0 {
		t.Error("plain clip command matched")
	}
	for _, ev := range []struct {
		name  string
		match bool
	}{{"hit", bruteForce(context.Background(), r, hit)}, {"miss", bruteForce(context.Background(), r, miss)}} {
		if ev.match != (ev.name == "hit") {
			t.Errorf("sigma-go on %s = %v", ev.name, ev.match)
		}
	}
}
