package detect

import (
	"context"
	"slices"
	"testing"

	"github.com/vigilhq/vigil/internal/event"
)

func TestLogsourceOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   event.Event
		want EventSource
	}{
		{"sysmon process creation", windowsEvent(sysmonChannel, 1, nil), EventSource{"windows", []string{"sysmon"}, []string{"process_creation"}}},
		{"sysmon network", windowsEvent(sysmonChannel, 3, nil), EventSource{"windows", []string{"sysmon"}, []string{"network_connection"}}},
		{"sysmon image load", windowsEvent(sysmonChannel, 7, nil), EventSource{"windows", []string{"sysmon"}, []string{"image_load"}}},
		{"sysmon remote thread", windowsEvent(sysmonChannel, 8, nil), EventSource{"windows", []string{"sysmon"}, []string{"create_remote_thread"}}},
		{"sysmon process access", windowsEvent(sysmonChannel, 10, nil), EventSource{"windows", []string{"sysmon"}, []string{"process_access"}}},
		{"sysmon file", windowsEvent(sysmonChannel, 11, nil), EventSource{"windows", []string{"sysmon"}, []string{"file_event"}}},
		{"sysmon registry key created", windowsEvent(sysmonChannel, 12, map[string]any{"EventType": "CreateKey"}), EventSource{"windows", []string{"sysmon"}, []string{"registry_add", "registry_event"}}},
		{"sysmon registry key deleted", windowsEvent(sysmonChannel, 12, map[string]any{"EventType": "DeleteKey"}), EventSource{"windows", []string{"sysmon"}, []string{"registry_delete", "registry_event"}}},
		{"sysmon registry value set", windowsEvent(sysmonChannel, 13, nil), EventSource{"windows", []string{"sysmon"}, []string{"registry_set", "registry_event"}}},
		{"sysmon registry rename", windowsEvent(sysmonChannel, 14, nil), EventSource{"windows", []string{"sysmon"}, []string{"registry_rename", "registry_event"}}},
		{"sysmon pipe", windowsEvent(sysmonChannel, 18, nil), EventSource{"windows", []string{"sysmon"}, []string{"pipe_created"}}},
		{"sysmon wmi", windowsEvent(sysmonChannel, 20, nil), EventSource{"windows", []string{"sysmon"}, []string{"wmi_event"}}},
		{"sysmon dns", windowsEvent(sysmonChannel, 22, nil), EventSource{"windows", []string{"sysmon"}, []string{"dns_query"}}},
		{"sysmon file delete", windowsEvent(sysmonChannel, 26, nil), EventSource{"windows", []string{"sysmon"}, []string{"file_delete"}}},
		{"security process creation", windowsEvent(securityChannel, 4688, nil), EventSource{"windows", []string{"security"}, []string{"process_creation"}}},
		{"security registry", windowsEvent(securityChannel, 4657, map[string]any{"OperationType": "%%1905"}), EventSource{"windows", []string{"security"}, []string{"registry_event", "registry_set"}}},
		{"security logon failure", windowsEvent(securityChannel, 4625, nil), EventSource{"windows", []string{"security"}, nil}},
		{"powershell script block", windowsEvent("Microsoft-Windows-PowerShell/Operational", 4104, nil), EventSource{"windows", []string{"powershell"}, []string{"ps_script"}}},
		{"powershell module", windowsEvent("Microsoft-Windows-PowerShell/Operational", 4103, nil), EventSource{"windows", []string{"powershell"}, []string{"ps_module"}}},
		{"powershell classic", windowsEvent("Windows PowerShell", 400, nil), EventSource{"windows", []string{"powershell-classic"}, []string{"ps_classic_start"}}},
		{"defender", windowsEvent("Microsoft-Windows-Windows Defender/Operational", 1116, nil), EventSource{"windows", []string{"windefend"}, nil}},
		{"system", windowsEvent("System", 7045, nil), EventSource{"windows", []string{"system"}, nil}},
		{
			"winlogbeat shape (channel only in ECS)",
			event.Event{Fields: map[string]any{"winlog": map[string]any{"channel": sysmonChannel, "event_id": float64(1)}}, Original: map[string]any{"winlog": map[string]any{"channel": sysmonChannel}}},
			EventSource{"windows", []string{"sysmon"}, []string{"process_creation"}},
		},
		{"linux sysmon", windowsEvent("Linux-Sysmon/Operational", 1, nil), EventSource{"linux", []string{"sysmon"}, []string{"process_creation"}}},
		{"sshd line", sshFailure("root", "203.0.113.7", testTime), EventSource{"linux", []string{"sshd", "auth", "syslog"}, nil}},
		{"sudo line", syslogEvent("sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash", nil), EventSource{"linux", []string{"sudo", "auth", "syslog"}, nil}},
		{"cron line", syslogEvent("CRON", "(root) CMD (run-parts /etc/cron.hourly)", nil), EventSource{"linux", []string{"cron", "syslog"}, nil}},
		{"unknown syslog program", syslogEvent("%ASA-6-302013", "Built outbound TCP connection", nil), EventSource{"", nil, nil}},
		{
			"auditd record",
			event.Event{Fields: map[string]any{}, Original: map[string]any{"message": `type=EXECVE msg=audit(1700000000.123:42): argc=2 a0="cat" a1="/etc/shadow"`}},
			EventSource{"linux", []string{"auditd"}, nil},
		},
		{
			"ECS Linux process start",
			ecsEvent(map[string]any{"host.os.type": "linux", "event.category": []any{"process"}, "event.type": []any{"start"}}),
			EventSource{"linux", nil, []string{"process_creation"}},
		},
		{
			"ECS Windows endpoint process start",
			ecsEvent(map[string]any{"host.os.family": "windows", "event.category": []any{"process"}, "event.type": []any{"start"}}),
			EventSource{"windows", nil, []string{"process_creation"}},
		},
		{
			"ECS macOS file creation",
			ecsEvent(map[string]any{"host.os.type": "macos", "event.category": []any{"file"}, "event.type": []any{"creation"}}),
			EventSource{"macos", nil, []string{"file_event"}},
		},
		{"CloudTrail", ecsEvent(map[string]any{"event.dataset": "aws.cloudtrail"}), EventSource{"aws", []string{"cloudtrail"}, nil}},
		{"zeek dns", ecsEvent(map[string]any{"event.dataset": "zeek.dns"}), EventSource{"zeek", []string{"dns"}, nil}},
		{"proxy", ecsEvent(map[string]any{"event.category": []any{"web"}, "observer.type": "proxy"}), EventSource{"", nil, []string{"proxy"}}},
		{"web server", ecsEvent(map[string]any{"event.category": []any{"web"}}), EventSource{"", nil, []string{"webserver"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := LogsourceOf(tt.ev)
			if got.Product != tt.want.Product || !slices.Equal(got.Services, tt.want.Services) || !slices.Equal(got.Categories, tt.want.Categories) {
				t.Errorf("LogsourceOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSigmaSetLogsourceIndex: a rule meets an event only when each
// logsource attribute it sets is among the event's.
func TestSigmaSetLogsourceIndex(t *testing.T) {
	t.Parallel()
	// Every rule matches anything with a host name: only the logsource
	// decides which apply.
	mk := func(title, logsource string) *SigmaRule {
		return mustCompile(t, "title: "+title+"\nlogsource:\n"+logsource+"detection:\n  sel:\n    host.name|exists: true\n  condition: sel\n")
	}
	rules := []*SigmaRule{
		mk("any", "  {}\n"),
		mk("windows", "  product: windows\n"),
		mk("windows process_creation", "  product: windows\n  category: process_creation\n"),
		mk("windows sysmon", "  product: windows\n  service: sysmon\n"),
		mk("windows security", "  product: windows\n  service: security\n"),
		mk("windows security process_creation", "  product: windows\n  service: security\n  category: process_creation\n"),
		mk("linux", "  product: linux\n"),
		mk("linux sshd", "  product: linux\n  service: sshd\n"),
		mk("linux auth", "  product: linux\n  service: auth\n"),
		mk("linux sudo", "  product: linux\n  service: sudo\n"),
		mk("process_creation", "  category: process_creation\n"),
		mk("macos", "  product: macos\n"),
	}
	set := NewSigmaSet(rules)
	tests := []struct {
		name string
		ev   event.Event
		want []string
	}{
		{"sysmon 1", windowsEvent(sysmonChannel, 1, nil), []string{"any", "windows", "windows process_creation", "windows sysmon", "process_creation"}},
		{"security 4688", windowsEvent(securityChannel, 4688, nil), []string{"any", "windows", "windows process_creation", "windows security", "windows security process_creation", "process_creation"}},
		{"security 4625", windowsEvent(securityChannel, 4625, nil), []string{"any", "windows", "windows security"}},
		{"sshd", sshFailure("root", "203.0.113.7", testTime), []string{"any", "linux", "linux sshd", "linux auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, m := range set.Match(context.Background(), tt.ev) {
				got = append(got, m.Rule.Title)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
			if n := len(set.Candidates(tt.ev)); n != len(tt.want) {
				t.Errorf("%d candidates, want %d", n, len(tt.want))
			}
		})
	}
}
