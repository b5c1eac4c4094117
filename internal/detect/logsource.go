package detect

import (
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/internal/event"
)

// EventSource is what an event is in Sigma's logsource terms: one product
// and any number of services and categories (a Sysmon registry value set is
// both registry_set and registry_event; an sshd line is sshd, auth and
// syslog). A rule applies to the event when each attribute the rule sets is
// among the event's (see SigmaSet).
type EventSource struct {
	Product    string
	Services   []string
	Categories []string
}

// LogsourceOf derives an event's Sigma logsource from its fields, following
// Sigma's logsource taxonomy:
//
// Product
//   - windows: a Windows event log record (winlog.channel / Channel /
//     winlog.event_id present), or host.os.type/family/platform windows;
//   - linux: Sysmon for Linux (channel Linux-Sysmon/Operational), auditd
//     (event.module auditd, or an audit record with type and msg=audit(...)),
//     host.os.type linux or a Linux distribution family, or a syslog line
//     (log.syslog, or only Original.message) from a known Linux program
//     (sshd, sudo, su, cron, systemd, useradd, ...);
//   - macos: host.os.type macos or family darwin;
//   - cloud and SaaS from event.dataset: aws.cloudtrail → aws/cloudtrail,
//     azure.activitylogs|auditlogs|signinlogs → azure/<same>,
//     azure.identity_protection → azure/riskdetection, gcp.audit →
//     gcp/gcp.audit, google_workspace.admin|login → gcp/google_workspace.<x>,
//     okta.system → okta/okta, o365.audit → m365/audit and
//     m365/threat_management, github.audit → github/audit,
//     kubernetes.audit_logs → kubernetes/audit, zeek.<log> → zeek/<log>.
//
// Windows service, from the channel: Security → security, System → system,
// Application → application, Microsoft-Windows-Sysmon/Operational → sysmon,
// Microsoft-Windows-PowerShell/Operational → powershell, Windows PowerShell →
// powershell-classic, and the other channels of windowsChannels
// (windefend, taskscheduler, wmi, dns-client, bits-client, ntlm, applocker,
// codeintegrity-operational, firewall-as, ...).
//
// Windows category, from channel and event id (Sigma's mapping):
//   - Sysmon: 1 process_creation, 2 file_change, 3 network_connection,
//     4 and 16 sysmon_status, 5 process_termination, 6 driver_load,
//     7 image_load, 8 create_remote_thread, 9 raw_access_thread,
//     10 process_access, 11 file_event, 12 registry_add or registry_delete
//     (by EventType) and registry_event, 13 registry_set and registry_event,
//     14 registry_rename and registry_event, 15 create_stream_hash,
//     17 and 18 pipe_created, 19-21 wmi_event, 22 dns_query, 23 and 26
//     file_delete, 24 clipboard_capture, 25 process_tampering,
//     27 file_block_executable, 28 file_block_shredding,
//     29 file_executable_detected, 255 sysmon_error (Sysmon for Linux alike);
//   - Security: 4688 process_creation; 4657 registry_event, plus
//     registry_add or registry_set by OperationType (windows-audit pipeline);
//   - PowerShell: 4103 ps_module, 4104 ps_script; Windows PowerShell:
//     400 ps_classic_start, 600 ps_classic_provider_start,
//     800 ps_classic_script.
//
// Other categories, from ECS event.category and event.type, for any product
// whose events carry no Sysmon-style event id: process+start
// process_creation, process+end process_termination, network
// network_connection, dns.question.name dns_query and dns, file+creation
// file_event, file+deletion file_delete, file+change file_change,
// file+access file_access, registry registry_event (+ registry_set,
// registry_add, registry_delete by type), library image_load, driver
// driver_load, malware antivirus, web webserver (proxy when the dataset or
// observer says proxy), database database.
//
// Linux services: sshd → sshd and auth; sudo → sudo and auth; su, login,
// passwd, pkexec, unix_chkpwd, polkitd → auth; cron, crond, CRON, anacron →
// cron; vsftpd; clamd, freshclam → clamav; guacd → guacamole; auditd; any
// event with event.category authentication → auth; every syslog line →
// syslog.
func LogsourceOf(ev event.Event) EventSource {
	var src EventSource
	addService := func(s string) {
		if s != "" && !containsString(src.Services, s) {
			src.Services = append(src.Services, s)
		}
	}
	addCategory := func(c string) {
		if c != "" && !containsString(src.Categories, c) {
			src.Categories = append(src.Categories, c)
		}
	}

	channel := strings.ToLower(firstString(ev, "Channel", "winlog.channel"))
	eventID, hasEventID := eventIDOf(ev)
	windowsCategories := false

	switch {
	case strings.HasPrefix(channel, "linux-sysmon/"):
		src.Product = "linux"
		addService("sysmon")
		if hasEventID {
			for _, c := range sysmonCategories(eventID, ev) {
				addCategory(c)
			}
			windowsCategories = true
		}
	case channel != "" || isWindowsRecord(ev):
		src.Product = "windows"
		for _, s := range windowsChannels[channel] {
			addService(s)
		}
		if provider := strings.ToLower(firstString(ev, "Provider_Name", "winlog.provider_name", "event.provider")); provider == "microsoft-windows-sysmon" {
			addService("sysmon")
		}
		if hasEventID {
			switch {
			case containsString(src.Services, "sysmon"):
				for _, c := range sysmonCategories(eventID, ev) {
					addCategory(c)
				}
				windowsCategories = true
			case containsString(src.Services, "security"):
				switch eventID {
				case 4688:
					addCategory("process_creation")
				case 4657:
					addCategory("registry_event")
					switch firstString(ev, "OperationType", "winlog.event_data.OperationType") {
					case "%%1904", "New registry value created":
						addCategory("registry_add")
					case "%%1905", "Existing registry value modified":
						addCategory("registry_set")
					}
				}
				windowsCategories = true
			case containsString(src.Services, "powershell"):
				switch eventID {
				case 4103:
					addCategory("ps_module")
				case 4104:
					addCategory("ps_script")
				}
				windowsCategories = true
			case containsString(src.Services, "powershell-classic"):
				switch eventID {
				case 400:
					addCategory("ps_classic_start")
				case 600:
					addCategory("ps_classic_provider_start")
				case 800:
					addCategory("ps_classic_script")
				}
				windowsCategories = true
			}
		}
	default:
		src.Product = productOf(ev)
		if ds, ok := datasetSource(ev); ok {
			if src.Product == "" {
				src.Product = ds.product
			}
			for _, s := range ds.services {
				addService(s)
			}
		}
		if src.Product == "linux" {
			for _, s := range linuxServices(ev) {
				addService(s)
			}
		}
	}

	if !windowsCategories {
		for _, c := range ecsCategories(ev) {
			addCategory(c)
		}
	}
	if src.Product == "linux" && hasString(ev, "event.category", "authentication") {
		addService("auth")
	}
	return src
}

// windowsChannels maps a Windows event log channel, lower-cased, to Sigma
// services.
var windowsChannels = map[string][]string{
	"security":                             {"security"},
	"system":                               {"system"},
	"application":                          {"application"},
	"microsoft-windows-sysmon/operational": {"sysmon"},
	"microsoft-windows-powershell/operational":        {"powershell"},
	"powershellcore/operational":                      {"powershell"},
	"windows powershell":                              {"powershell-classic"},
	"microsoft-windows-windows defender/operational":  {"windefend"},
	"microsoft-windows-taskscheduler/operational":     {"taskscheduler"},
	"microsoft-windows-wmi-activity/operational":      {"wmi"},
	"microsoft-windows-dns client events/operational": {"dns-client"},
	"microsoft-windows-dns-client/operational":        {"dns-client"},
	"dns server":                                                               {"dns-server"},
	"microsoft-windows-dns-server/audit":                                       {"dns-server-audit"},
	"microsoft-windows-dns-server/analytical":                                  {"dns-server-analytic"},
	"microsoft-windows-driverframeworks-usermode/operational":                  {"driver-framework"},
	"microsoft-windows-ntlm/operational":                                       {"ntlm"},
	"microsoft-windows-dhcp-server/operational":                                {"dhcp"},
	"msexchange management":                                                    {"msexchange-management"},
	"microsoft-windows-printservice/admin":                                     {"printservice-admin"},
	"microsoft-windows-printservice/operational":                               {"printservice-operational"},
	"microsoft-windows-codeintegrity/operational":                              {"codeintegrity-operational"},
	"microsoft-windows-smbclient/security":                                     {"smbclient-security"},
	"microsoft-windows-smbclient/connectivity":                                 {"smbclient-connectivity"},
	"microsoft-windows-smbserver/connectivity":                                 {"smbserver-connectivity"},
	"microsoft-windows-windows firewall with advanced security/firewall":       {"firewall-as"},
	"microsoft-windows-bits-client/operational":                                {"bits-client"},
	"microsoft-windows-terminalservices-localsessionmanager/operational":       {"terminalservices-localsessionmanager"},
	"microsoft-servicebus-client":                                              {"microsoft-servicebus-client"},
	"microsoft-windows-ldap-client/debug":                                      {"ldap_debug", "ldap"},
	"microsoft-windows-security-mitigations/kernel mode":                       {"security-mitigations"},
	"microsoft-windows-security-mitigations/user mode":                         {"security-mitigations"},
	"microsoft-windows-diagnosis-scripted/operational":                         {"diagnosis-scripted"},
	"microsoft-windows-shell-core/operational":                                 {"shell-core"},
	"openssh/operational":                                                      {"openssh"},
	"microsoft-windows-bitlocker/bitlocker management":                         {"bitlocker"},
	"microsoft-windows-applocker/exe and dll":                                  {"applocker"},
	"microsoft-windows-applocker/msi and script":                               {"applocker"},
	"microsoft-windows-applocker/packaged app-deployment":                      {"applocker"},
	"microsoft-windows-applocker/packaged app-execution":                       {"applocker"},
	"microsoft-windows-appxdeploymentserver/operational":                       {"appxdeployment-server"},
	"microsoft-windows-appxpackaging/operational":                              {"appxpackaging-om"},
	"microsoft-windows-appmodel-runtime/admin":                                 {"appmodel-runtime"},
	"microsoft-windows-capi2/operational":                                      {"capi2"},
	"microsoft-windows-lsa/operational":                                        {"lsa-server"},
	"microsoft-windows-iis-configuration/operational":                          {"iis-configuration"},
	"microsoft-windows-certificateservicesclient-lifecycle-system/operational": {"certificateservicesclient-lifecycle-system"},
}

// sysmonCategories maps a Sysmon event id to Sigma categories
// (pySigma's sysmon pipeline).
func sysmonCategories(id int, ev event.Event) []string {
	switch id {
	case 1:
		return []string{"process_creation"}
	case 2:
		return []string{"file_change"}
	case 3:
		return []string{"network_connection"}
	case 4, 16:
		return []string{"sysmon_status"}
	case 5:
		return []string{"process_termination"}
	case 6:
		return []string{"driver_load"}
	case 7:
		return []string{"image_load"}
	case 8:
		return []string{"create_remote_thread"}
	case 9:
		return []string{"raw_access_thread"}
	case 10:
		return []string{"process_access"}
	case 11:
		return []string{"file_event"}
	case 12:
		switch strings.ToLower(firstString(ev, "EventType", "winlog.event_data.EventType")) {
		case "deletekey", "deletevalue":
			return []string{"registry_delete", "registry_event"}
		default:
			return []string{"registry_add", "registry_event"}
		}
	case 13:
		return []string{"registry_set", "registry_event"}
	case 14:
		return []string{"registry_rename", "registry_event"}
	case 15:
		return []string{"create_stream_hash"}
	case 17, 18:
		return []string{"pipe_created"}
	case 19, 20, 21:
		return []string{"wmi_event"}
	case 22:
		return []string{"dns_query"}
	case 23, 26:
		return []string{"file_delete"}
	case 24:
		return []string{"clipboard_capture"}
	case 25:
		return []string{"process_tampering"}
	case 27:
		return []string{"file_block_executable"}
	case 28:
		return []string{"file_block_shredding"}
	case 29:
		return []string{"file_executable_detected"}
	case 255:
		return []string{"sysmon_error"}
	}
	return nil
}

// isWindowsRecord reports a Windows event without a channel: an EventID
// with a Windows host, or an ECS event from a Windows host.
func isWindowsRecord(ev event.Event) bool {
	return productOf(ev) == "windows"
}

// productOf reads the product from the host's operating system and from
// the shape of Linux logs.
func productOf(ev event.Event) string {
	for _, path := range []string{"host.os.type", "host.os.family", "host.os.platform", "os.type"} {
		switch v := strings.ToLower(ev.String(path)); v {
		case "windows":
			return "windows"
		case "macos", "darwin", "osx":
			return "macos"
		case "linux", "debian", "ubuntu", "redhat", "rhel", "centos", "fedora", "suse", "alpine", "arch", "amazon", "oracle", "rocky", "almalinux":
			return "linux"
		}
	}
	if isAuditd(ev) {
		return "linux"
	}
	if _, known := linuxPrograms[programOf(ev)]; known && isSyslog(ev) {
		return "linux"
	}
	return ""
}

func isAuditd(ev event.Event) bool {
	if strings.EqualFold(ev.String("event.module"), "auditd") {
		return true
	}
	typ, _ := ev.Original["type"].(string)
	msg, _ := ev.Original["msg"].(string)
	if typ != "" && strings.HasPrefix(msg, "audit(") {
		return true
	}
	line, _ := ev.Original["message"].(string)
	return strings.HasPrefix(line, "type=") && strings.Contains(line, " msg=audit(")
}

// isSyslog reports a syslog line: log.syslog set by the normaliser, or an
// event whose only original field is the raw message.
func isSyslog(ev event.Event) bool {
	if _, ok := ev.Get("log.syslog"); ok {
		return true
	}
	_, hasMessage := ev.Original["message"].(string)
	return hasMessage && len(ev.Original) == 1
}

func programOf(ev event.Event) string {
	p := ev.String("process.name")
	if p == "" {
		p = ev.String("log.syslog.appname")
	}
	return strings.ToLower(p)
}

// linuxPrograms maps a syslog program to the Sigma services of its lines.
var linuxPrograms = map[string][]string{
	"sshd":         {"sshd", "auth"},
	"sshd-session": {"sshd", "auth"},
	"sudo":         {"sudo", "auth"},
	"su":           {"auth"},
	"login":        {"auth"},
	"passwd":       {"auth"},
	"chpasswd":     {"auth"},
	"pkexec":       {"auth"},
	"polkitd":      {"auth"},
	"unix_chkpwd":  {"auth"},
	"gdm-password": {"auth"},
	"useradd":      {"auth"},
	"usermod":      {"auth"},
	"userdel":      {"auth"},
	"groupadd":     {"auth"},
	"cron":         {"cron"},
	"crond":        {"cron"},
	"anacron":      {"cron"},
	"crontab":      {"cron"},
	"vsftpd":       {"vsftpd"},
	"clamd":        {"clamav"},
	"freshclam":    {"clamav"},
	"guacd":        {"guacamole"},
	"auditd":       {"auditd"},
	// Known Linux programs without a service of their own.
	"systemd":        nil,
	"systemd-logind": nil,
	"kernel":         nil,
	"named":          nil,
	"rsyslogd":       nil,
	"dbus-daemon":    nil,
	"networkmanager": nil,
	"dhclient":       nil,
	"bash":           nil,
}

func linuxServices(ev event.Event) []string {
	if isAuditd(ev) {
		return []string{"auditd"}
	}
	var out []string
	if isSyslog(ev) {
		out = append(out, linuxPrograms[programOf(ev)]...)
		out = append(out, "syslog")
	}
	return out
}

type datasetMapping struct {
	product  string
	services []string
}

// datasets maps ECS event.dataset values to Sigma product and services.
var datasets = map[string]datasetMapping{
	"aws.cloudtrail":            {"aws", []string{"cloudtrail"}},
	"azure.activitylogs":        {"azure", []string{"activitylogs"}},
	"azure.auditlogs":           {"azure", []string{"auditlogs"}},
	"azure.signinlogs":          {"azure", []string{"signinlogs"}},
	"azure.identity_protection": {"azure", []string{"riskdetection"}},
	"gcp.audit":                 {"gcp", []string{"gcp.audit"}},
	"google_workspace.admin":    {"gcp", []string{"google_workspace.admin"}},
	"google_workspace.login":    {"gcp", []string{"google_workspace.login"}},
	"okta.system":               {"okta", []string{"okta"}},
	"o365.audit":                {"m365", []string{"audit", "threat_management"}},
	"github.audit":              {"github", []string{"audit"}},
	"kubernetes.audit_logs":     {"kubernetes", []string{"audit"}},
	"system.auth":               {"linux", []string{"auth", "syslog"}},
	"system.syslog":             {"linux", []string{"syslog"}},
}

func datasetSource(ev event.Event) (datasetMapping, bool) {
	ds := strings.ToLower(ev.String("event.dataset"))
	if m, ok := datasets[ds]; ok {
		return m, true
	}
	if rest, ok := strings.CutPrefix(ds, "zeek."); ok && rest != "" {
		return datasetMapping{"zeek", []string{rest}}, true
	}
	return datasetMapping{}, false
}

// ecsCategories maps ECS event.category/event.type to Sigma categories.
func ecsCategories(ev event.Event) []string {
	var out []string
	cats := stringsAt(ev, "event.category")
	types := stringsAt(ev, "event.type")
	has := func(list []string, s string) bool { return containsString(list, s) }
	for _, c := range cats {
		switch c {
		case "process":
			if has(types, "start") {
				out = append(out, "process_creation")
			}
			if has(types, "end") {
				out = append(out, "process_termination")
			}
		case "network":
			if _, ok := ev.Get("dns.question.name"); ok {
				out = append(out, "dns_query", "dns")
			} else {
				out = append(out, "network_connection")
			}
		case "file":
			switch {
			case has(types, "creation"):
				out = append(out, "file_event")
			case has(types, "deletion"):
				out = append(out, "file_delete")
			case has(types, "change"):
				out = append(out, "file_change")
			case has(types, "access"):
				out = append(out, "file_access")
			}
		case "registry":
			out = append(out, "registry_event")
			switch {
			case has(types, "creation"):
				out = append(out, "registry_add")
			case has(types, "deletion"):
				out = append(out, "registry_delete")
			case has(types, "change"):
				out = append(out, "registry_set")
			}
		case "library":
			out = append(out, "image_load")
		case "driver":
			out = append(out, "driver_load")
		case "malware":
			out = append(out, "antivirus")
		case "database":
			out = append(out, "database")
		case "web":
			if strings.Contains(strings.ToLower(ev.String("event.dataset")), "proxy") || strings.EqualFold(ev.String("observer.type"), "proxy") {
				out = append(out, "proxy")
			} else {
				out = append(out, "webserver")
			}
		}
	}
	return out
}

// stringsAt returns the lower-cased strings at an ECS path (a string or a
// list of them).
func stringsAt(ev event.Event, path string) []string {
	v, ok := ev.Get(path)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{strings.ToLower(x)}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, strings.ToLower(s))
			}
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = strings.ToLower(s)
		}
		return out
	}
	return nil
}

func hasString(ev event.Event, path, want string) bool {
	return containsString(stringsAt(ev, path), want)
}

// firstString returns the first non-empty string among paths, each looked
// up in Original then in Fields.
func firstString(ev event.Event, paths ...string) string {
	for _, p := range paths {
		if v, ok := event.Lookup(ev.Original, p); ok {
			if s := valueString(v); s != "" {
				return s
			}
		}
		if v, ok := ev.Get(p); ok {
			if s := valueString(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// eventIDOf reads the Windows event id (native EventID, winlog.event_id or
// event.code), as a number.
func eventIDOf(ev event.Event) (int, bool) {
	s := firstString(ev, "EventID", "winlog.event_id", "event.code")
	if s == "" {
		return 0, false
	}
	id, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return id, true
}
