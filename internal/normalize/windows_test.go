package normalize_test

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWindows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want map[string]any
	}{
		{"sysmon1_nxlog.json", map[string]any{
			"@timestamp":                  "2026-11-26T10:00:01Z", // EventTime
			"event.code":                  "1",
			"event.provider":              "Microsoft-Windows-Sysmon",
			"event.category":              list("process"),
			"event.type":                  list("start"),
			"event.action":                "process-created",
			"winlog.event_id":             "1",
			"winlog.channel":              "Microsoft-Windows-Sysmon/Operational",
			"winlog.provider_name":        "Microsoft-Windows-Sysmon",
			"winlog.computer_name":        "WS01.corp.example",
			"winlog.record_id":            "1184377",
			"host.name":                   "WS01.corp.example",
			"process.executable":          `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"process.name":                "powershell.exe",
			"process.pid":                 num("6780"),
			"process.entity_id":           "{0f3e8a21-7c11-6745-2a01-000000000700}",
			"process.command_line":        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
			"process.working_directory":   `C:\Users\alice\`,
			"process.parent.executable":   `C:\Windows\explorer.exe`,
			"process.parent.name":         "explorer.exe",
			"process.parent.pid":          num("4312"),
			"process.parent.command_line": `C:\Windows\Explorer.EXE`,
			"process.hash.sha256":         "de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c",
			"process.hash.md5":            "7353f60b1739074eb17c5f4dddefe239",
			"process.hash.sha1":           "8a9f0b5a1c0d4b2e3f6a7b8c9d0e1f2a3b4c5d6e",
			"process.pe.imphash":          "741776aaccfc5b71ff59832dcdcace0f",
			"user.name":                   "alice",
			"user.domain":                 "CORP",
			// Native names stay, for Sigma rules.
			"winlog.event_data.Image":            `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"winlog.event_data.CommandLine":      "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
			"winlog.event_data.ParentImage":      `C:\Windows\explorer.exe`,
			"winlog.event_data.OriginalFileName": "PowerShell.EXE",
			"winlog.event_data.IntegrityLevel":   "Medium",
			"winlog.event_data.Hashes":           "SHA1=8A9F0B5A1C0D4B2E3F6A7B8C9D0E1F2A3B4C5D6E,MD5=7353F60B1739074EB17C5F4DDDEFE239,SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C,IMPHASH=741776AACCFC5B71FF59832DCDCACE0F",
			"winlog.event_data.Keywords":         num("-9223372036854775808"),
			"winlog.event_data.ProcessID":        num("3100"), // NXLog's, the event log service's
			"winlog.event_data.SourceModuleType": "im_msvistalog",
			"message":                            "Process Create:\r\nRuleName: -\r\nUtcTime: 2026-11-26 10:00:01.123\r\nImage: C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
			"Image":                              absent, // natives are not ECS fields
		}},
		{"sysmon3_eventdata.json", map[string]any{
			"@timestamp":                            "2026-11-26T10:01:00.5551234Z", // TimeCreated
			"event.category":                        list("network"),
			"event.type":                            list("connection", "start"),
			"event.action":                          "network-connection",
			"event.provider":                        "Microsoft-Windows-Sysmon",
			"host.name":                             "WS01.corp.example",
			"source.ip":                             "10.1.2.15",
			"source.port":                           num("50512"),
			"source.domain":                         "WS01.corp.example",
			"destination.ip":                        "185.220.101.4",
			"destination.port":                      num("443"),
			"destination.domain":                    absent, // "-"
			"network.transport":                     "tcp",
			"network.direction":                     "egress",
			"related.ip":                            list("10.1.2.15", "185.220.101.4"),
			"process.name":                          "powershell.exe",
			"user.name":                             "alice",
			"winlog.event_data.RuleName":            "technique_id=T1059.001,technique_name=PowerShell",
			"winlog.event_data.DestinationPortName": "https",
			"winlog.event_data.EventID":             num("3"), // every native field, system ones too
		}},
		{"sysmon11_winlogbeat.json", map[string]any{
			"@timestamp":                       "2026-11-26T10:01:05.881Z",
			"event.code":                       "11",
			"event.category":                   list("file"),
			"event.type":                       list("creation"),
			"event.action":                     "file-created",
			"winlog.event_id":                  "11", // Winlogbeat 7 sent a number
			"file.path":                        `C:\Users\alice\AppData\Local\Temp\svchost.exe`,
			"file.name":                        "svchost.exe",
			"process.executable":               `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"process.pid":                      num("6780"),
			"user.name":                        "alice",
			"winlog.user.name":                 "SYSTEM",
			"agent.type":                       "winlogbeat",
			"winlog.event_data.TargetFilename": `C:\Users\alice\AppData\Local\Temp\svchost.exe`,
		}},
		{"sysmon22_nxlog.json", map[string]any{
			"event.category":                 list("network"),
			"event.type":                     list("protocol", "info"),
			"event.action":                   "dns-query",
			"dns.question.name":              "raw.githubusercontent.com",
			"network.protocol":               "dns",
			"process.name":                   "powershell.exe",
			"winlog.event_data.QueryResults": "::ffff:185.199.108.133;::ffff:185.199.109.133;",
		}},
		{"security4624_nxlog.json", map[string]any{
			"@timestamp":                        "2026-11-26T10:06:00Z",
			"event.code":                        "4624",
			"event.category":                    list("authentication"),
			"event.type":                        list("start"),
			"event.action":                      "logged-in",
			"event.outcome":                     "success",
			"user.name":                         "alice",
			"user.domain":                       "CORP",
			"user.id":                           "S-1-5-21-3623811015-3361044348-30300820-1104",
			"source.ip":                         "198.51.100.23", // from ::ffff:198.51.100.23
			"source.port":                       num("51234"),
			"source.domain":                     "DC01",
			"winlog.logon.type":                 "RemoteInteractive",
			"winlog.logon.id":                   "0x8f2a4c1",
			"process.executable":                `C:\Windows\System32\svchost.exe`,
			"process.pid":                       num("708"), // 0x2c4
			"host.name":                         "DC01.corp.example",
			"related.user":                      list("alice"),
			"winlog.event_data.IpAddress":       "::ffff:198.51.100.23",
			"winlog.event_data.LogonType":       "10",
			"winlog.event_data.SubjectUserName": "DC01$",
		}},
		{"security4625_winlogbeat.json", map[string]any{
			"event.category":     list("authentication"),
			"event.type":         list("start"),
			"event.action":       "logon-failed",
			"event.outcome":      "failure",
			"event.reason":       "wrong password", // SubStatus 0xc000006a
			"user.name":          "administrator",
			"user.domain":        "CORP",
			"source.ip":          "203.0.113.50",
			"source.port":        num("0"),
			"source.domain":      "KALI",
			"winlog.logon.type":  "Network",
			"process.executable": absent, // "-"
			"process.pid":        num("0"),
		}},
		{"security4688_xml.json", map[string]any{
			"@timestamp":                       "2026-11-26T10:02:00.7713452Z", // System.TimeCreated.@SystemTime
			"event.code":                       "4688",
			"event.provider":                   "Microsoft-Windows-Security-Auditing",
			"event.category":                   list("process"),
			"event.type":                       list("start"),
			"event.action":                     "created-process",
			"winlog.record_id":                 "884260",
			"host.name":                        "WS01.corp.example",
			"process.executable":               `C:\Windows\System32\cmd.exe`,
			"process.name":                     "cmd.exe",
			"process.pid":                      num("6780"), // NewProcessId 0x1a7c
			"process.command_line":             "cmd.exe /c whoami /all",
			"process.parent.executable":        `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"process.parent.name":              "powershell.exe",
			"process.parent.pid":               num("4312"), // ProcessId 0x10d8
			"user.name":                        "alice",     // TargetUserName is "-": the Subject
			"user.domain":                      "CORP",
			"winlog.event_data.NewProcessName": `C:\Windows\System32\cmd.exe`,
			"winlog.event_data.MandatoryLabel": "S-1-16-8192",
		}},
		{"security4720_xml.json", map[string]any{
			"@timestamp":                       "2026-11-26T10:07:00.1234567Z",
			"event.category":                   list("iam"),
			"event.type":                       list("user", "creation"),
			"event.action":                     "added-user-account",
			"event.outcome":                    "success",
			"user.name":                        "Administrator",
			"user.domain":                      "CORP",
			"user.target.name":                 "svc-backup2",
			"user.target.domain":               "CORP",
			"user.target.id":                   "S-1-5-21-3623811015-3361044348-30300820-1145",
			"related.user":                     list("Administrator", "svc-backup2"),
			"winlog.event_data.SamAccountName": "svc-backup2",
		}},
		{"security4740_flat.json", map[string]any{
			"@timestamp":                         "2026-11-26T10:08:30Z",
			"event.category":                     list("iam"),
			"event.type":                         list("user", "change"),
			"event.action":                       "locked-out-user-account",
			"user.name":                          "DC01$",
			"user.target.name":                   "bob",
			"user.target.domain":                 absent, // TargetDomainName is the caller's computer
			"winlog.event_data.TargetDomainName": "WS07",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			line, err := os.ReadFile(filepath.Join("testdata", "windows", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			checkFields(t, setup(t).normalize(t, string(line)), tt.want)
		})
	}
}

func TestWindowsVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"no channel: Security guessed from the id",
			`{"EventID":4625,"TargetUserName":"bob","IpAddress":"-","IpPort":"-","SubStatus":"0xC0000064"}`,
			map[string]any{"event.action": "logon-failed", "event.reason": "user name does not exist", "user.name": "bob", "source.ip": absent, "source.port": absent}},
		{"no channel: Sysmon guessed from its fields",
			`{"EventId":"1","UtcTime":"2026-11-26 10:00:00.000","Image":"C:\\x.exe","ProcessId":"1"}`,
			map[string]any{"event.action": "process-created", "@timestamp": "2026-11-26T10:00:00Z", "process.name": "x.exe"}},
		{"Kerberos failure",
			`{"EventID":4771,"Channel":"Security","TargetUserName":"alice","IpAddress":"::ffff:10.0.0.9","Status":"0x18"}`,
			map[string]any{"event.outcome": "failure", "event.reason": "wrong password", "source.ip": "10.0.0.9"}},
		{"Kerberos ticket granted",
			`{"EventID":4768,"Channel":"Security","TargetUserName":"alice","Status":"0x0"}`,
			map[string]any{"event.outcome": "success", "event.reason": absent}},
		{"group change",
			`{"EventID":4732,"Channel":"Security","TargetUserName":"Administrators","TargetDomainName":"Builtin","TargetSid":"S-1-5-32-544","SubjectUserName":"mallory","MemberName":"-","MemberSid":"S-1-5-21-1-2-3-1109"}`,
			map[string]any{"user.name": "mallory", "group.name": "Administrators", "group.id": "S-1-5-32-544", "user.target.name": absent}},
		{"service installed",
			`{"EventID":7045,"Channel":"System","ProviderName":"Service Control Manager","ServiceName":"PSEXESVC","ImagePath":"%SystemRoot%\\PSEXESVC.exe"}`,
			map[string]any{"event.action": "service-installed", "service.name": "PSEXESVC", "event.category": list("configuration")}},
		{"image loaded",
			`{"EventID":7,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\a.exe","ImageLoaded":"C:\\Windows\\System32\\vaultcli.dll","Hashes":"SHA256=ABC"}`,
			map[string]any{"dll.path": `C:\Windows\System32\vaultcli.dll`, "dll.name": "vaultcli.dll", "dll.hash.sha256": "abc", "process.hash.sha256": absent}},
		{"XML event data list",
			`{"System":{"EventID":{"#text":"4624","@Qualifiers":""},"Channel":"Security"},"EventData":{"Data":[{"@Name":"TargetUserName","#text":"carol"},{"@Name":"LogonType","#text":"3"}]}}`,
			map[string]any{"user.name": "carol", "winlog.logon.type": "Network", "winlog.event_data.TargetUserName": "carol"}},
		{"ECS fields next to native ones",
			`{"EventID":4624,"Channel":"Security","TargetUserName":"dave","@timestamp":"2026-11-26T10:00:00Z","labels":{"site":"ams"},"event.dataset":"windows.security"}`,
			map[string]any{"labels.site": "ams", "event.dataset": "windows.security", "event.code": "4624", "user.name": "dave"}},
		{"unknown event keeps its data",
			`{"EventID":9999,"Channel":"Application","ProviderName":"MyApp","Foo":"bar"}`,
			map[string]any{"event.code": "9999", "event.action": absent, "winlog.event_data.Foo": "bar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFields(t, setup(t).normalize(t, tt.line), tt.want)
		})
	}
}

func TestWindowsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, field, msg string }{
		{"bad event id", `{"EventID":"four","Channel":"Security"}`, "EventID", `field "EventID" is "four", not a Windows event id`},
		{"event id too big", `{"System":{"EventID":70000}}`, "System.EventID", `field "System.EventID" is 70000, not a Windows event id`},
		{"bad TimeCreated", `{"EventID":1,"TimeCreated":"yesterday"}`, "TimeCreated", `field "TimeCreated" is "yesterday", not a time`},
		{"bad SystemTime", `{"System":{"EventID":1,"TimeCreated":{"SystemTime":"x"}}}`, "System.TimeCreated.SystemTime", `not a time`},
		{"future UtcTime", `{"EventID":1,"UtcTime":"2027-01-01 00:00:00.000"}`, "UtcTime", `field "UtcTime" is 2027-01-01T00:00:00Z, more than 24h after`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup(t).try(tt.line)
			wantError(t, err, tt.field, tt.msg)
		})
	}
}
