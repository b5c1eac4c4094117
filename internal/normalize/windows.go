package normalize

import (
	"slices"
	"strconv"
	"strings"
)

// Windows events arrive in three shapes, all recognised by an event id:
//
//   - flat, as NXLog's im_msvistalog writes them: "EventID", "Channel",
//     "SourceName", "Hostname", "EventTime" and the event data fields
//     ("TargetUserName", "Image"…) side by side;
//   - with the event data in an object, "EventData" or "event_data" (also
//     the XML-to-JSON form {"Data": [{"@Name": …, "#text": …}]}), and the
//     system fields at the top or in a "System" object ("Provider": {"Name"},
//     "TimeCreated": {"SystemTime"}, "Computer", "EventRecordID");
//   - as Winlogbeat sends them, ECS already: "winlog.event_id",
//     "winlog.channel", "winlog.event_data". These go through the ECS path,
//     and the same mapping below fills what Winlogbeat left out.
//
// Native fields stay under their own names in winlog.event_data, so Sigma
// rules run through Sigma's ECS Windows mapping (Image, CommandLine,
// TargetUserName… under winlog.event_data; EventID, Channel, Provider_Name as
// winlog.event_id, winlog.channel, winlog.provider_name) keep working. In the
// flat shape data and system fields cannot be told apart, so every top-level
// field that is not an ECS name goes to winlog.event_data; in the other
// shapes, the event data and the top-level fields that are not ECS names
// (System excepted) do.
//
// System fields: EventID → winlog.event_id (a string, also from Winlogbeat's
// number) and event.code; Channel → winlog.channel; ProviderName,
// Provider_Name, SourceName or Provider.Name → winlog.provider_name and
// event.provider; Computer or Hostname → winlog.computer_name and host.name;
// EventRecordID or RecordNumber → winlog.record_id; NXLog's Message (the
// rendered text) → message. Time: TimeCreated (or TimeCreated.SystemTime),
// EventTime, then the data's UtcTime.
//
// Event data (winlogData): Image, NewProcessName (4688) or ProcessName →
// process.executable and process.name; ProcessId (in 4688, NewProcessId; hex
// "0x…" in Security events) → process.pid; ProcessGuid → process.entity_id;
// CommandLine, CurrentDirectory → process.command_line,
// process.working_directory; ParentImage or ParentProcessName,
// ParentProcessId (in 4688, ProcessId), ParentCommandLine, ParentProcessGuid
// → process.parent.*; Hashes → process.hash.* (file.hash.* for Sysmon 6,
// 15, 23, 26; dll.hash.* for 7), lower-case, IMPHASH → *.pe.imphash;
// TargetFilename → file.path, file.name; ImageLoaded → dll.path (7),
// file.path (6); TargetObject → registry.path; SourceIp, SourcePort,
// SourceHostname, DestinationIp, DestinationPort, DestinationHostname (and
// Security's SourceAddress, DestAddress, DestPort) → source.*/destination.*
// (ip, port, domain); Protocol → network.transport; Initiated →
// network.direction (egress, ingress); QueryName → dns.question.name;
// IpAddress, IpPort, WorkstationName → source.ip, source.port,
// source.domain (only valid addresses; "::ffff:a.b.c.d" unmapped);
// LogonType → winlog.logon.type (its name: Network, RemoteInteractive…);
// TargetLogonId → winlog.logon.id; ServiceName → service.name.
//
// Users: for logons and processes, user.* is TargetUserName,
// TargetDomainName, TargetUserSid (or Sysmon's User, "DOMAIN\name"), falling
// back to the Subject*; for account management (47xx, 4697, 4698) user.* is
// the Subject (who acted) and user.target.* the account acted on, or
// group.* for group changes. In 4740 TargetDomainName is the caller's
// computer, so it is not taken as a domain.

// winEntry is what one event id means; see winTable.
type winEntry struct {
	action   string
	category []any
	typ      []any
	// outcome is "success", "failure", "" (none), or "status": success when
	// the Status field is 0x0.
	outcome string
	actor   bool // user.* is the Subject, user.target.* the Target
	group   bool // the Target is a group
}

type winSource uint8

const (
	winOther winSource = iota
	winSecurity
	winSysmon
	winSystem
	winPowerShell
)

type winKey struct {
	src winSource
	id  string
}

func cat(s ...any) []any { return s }

// winTable maps the common Security, Sysmon, System and PowerShell events to
// ECS categorisation. Actions follow Winlogbeat's security module where it
// has one.
var winTable = map[winKey]winEntry{
	// Sysmon
	{winSysmon, "1"}:  {action: "process-created", category: cat("process"), typ: cat("start")},
	{winSysmon, "2"}:  {action: "file-creation-time-changed", category: cat("file"), typ: cat("change")},
	{winSysmon, "3"}:  {action: "network-connection", category: cat("network"), typ: cat("connection", "start")},
	{winSysmon, "5"}:  {action: "process-terminated", category: cat("process"), typ: cat("end")},
	{winSysmon, "6"}:  {action: "driver-loaded", category: cat("driver"), typ: cat("start")},
	{winSysmon, "7"}:  {action: "image-loaded", category: cat("process"), typ: cat("change")},
	{winSysmon, "8"}:  {action: "remote-thread-created", category: cat("process"), typ: cat("change")},
	{winSysmon, "10"}: {action: "process-accessed", category: cat("process"), typ: cat("access")},
	{winSysmon, "11"}: {action: "file-created", category: cat("file"), typ: cat("creation")},
	{winSysmon, "12"}: {action: "registry-object-added-or-deleted", category: cat("registry"), typ: cat("change")},
	{winSysmon, "13"}: {action: "registry-value-set", category: cat("registry"), typ: cat("change")},
	{winSysmon, "14"}: {action: "registry-object-renamed", category: cat("registry"), typ: cat("change")},
	{winSysmon, "15"}: {action: "file-stream-created", category: cat("file"), typ: cat("creation")},
	{winSysmon, "17"}: {action: "pipe-created", category: cat("file"), typ: cat("creation")},
	{winSysmon, "18"}: {action: "pipe-connected", category: cat("file"), typ: cat("access")},
	{winSysmon, "22"}: {action: "dns-query", category: cat("network"), typ: cat("protocol", "info")},
	{winSysmon, "23"}: {action: "file-deleted", category: cat("file"), typ: cat("deletion")},
	{winSysmon, "25"}: {action: "process-tampering", category: cat("process"), typ: cat("change")},
	{winSysmon, "26"}: {action: "file-delete-detected", category: cat("file"), typ: cat("deletion")},

	// Security
	{winSecurity, "1102"}: {action: "audit-log-cleared", category: cat("iam"), typ: cat("admin"), outcome: "success", actor: true},
	{winSecurity, "4624"}: {action: "logged-in", category: cat("authentication"), typ: cat("start"), outcome: "success"},
	{winSecurity, "4625"}: {action: "logon-failed", category: cat("authentication"), typ: cat("start"), outcome: "failure"},
	{winSecurity, "4634"}: {action: "logged-out", category: cat("authentication"), typ: cat("end"), outcome: "success"},
	{winSecurity, "4647"}: {action: "logged-out", category: cat("authentication"), typ: cat("end"), outcome: "success"},
	{winSecurity, "4648"}: {action: "logged-in-explicit", category: cat("authentication"), typ: cat("start"), outcome: "success"},
	{winSecurity, "4672"}: {action: "logged-in-special", category: cat("iam"), typ: cat("admin"), outcome: "success", actor: true},
	{winSecurity, "4688"}: {action: "created-process", category: cat("process"), typ: cat("start"), outcome: "success"},
	{winSecurity, "4689"}: {action: "exited-process", category: cat("process"), typ: cat("end"), outcome: "success"},
	{winSecurity, "4697"}: {action: "service-installed", category: cat("configuration"), typ: cat("creation"), outcome: "success", actor: true},
	{winSecurity, "4698"}: {action: "scheduled-task-created", category: cat("configuration"), typ: cat("creation"), outcome: "success", actor: true},
	{winSecurity, "4720"}: {action: "added-user-account", category: cat("iam"), typ: cat("user", "creation"), outcome: "success", actor: true},
	{winSecurity, "4722"}: {action: "enabled-user-account", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4723"}: {action: "changed-password", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4724"}: {action: "reset-password", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4725"}: {action: "disabled-user-account", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4726"}: {action: "deleted-user-account", category: cat("iam"), typ: cat("user", "deletion"), outcome: "success", actor: true},
	{winSecurity, "4728"}: {action: "added-member-to-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4729"}: {action: "removed-member-from-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4732"}: {action: "added-member-to-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4733"}: {action: "removed-member-from-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4738"}: {action: "modified-user-account", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4740"}: {action: "locked-out-user-account", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4756"}: {action: "added-member-to-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4757"}: {action: "removed-member-from-group", category: cat("iam"), typ: cat("group", "change"), outcome: "success", actor: true, group: true},
	{winSecurity, "4767"}: {action: "unlocked-user-account", category: cat("iam"), typ: cat("user", "change"), outcome: "success", actor: true},
	{winSecurity, "4768"}: {action: "kerberos-authentication-ticket-requested", category: cat("authentication"), typ: cat("start"), outcome: "status"},
	{winSecurity, "4769"}: {action: "kerberos-service-ticket-requested", category: cat("authentication"), typ: cat("start"), outcome: "status"},
	{winSecurity, "4771"}: {action: "kerberos-preauth-failed", category: cat("authentication"), typ: cat("start"), outcome: "failure"},
	{winSecurity, "4776"}: {action: "credential-validated", category: cat("authentication"), typ: cat("start"), outcome: "status"},
	{winSecurity, "5140"}: {action: "network-share-object-accessed", category: cat("network"), typ: cat("access"), outcome: "success"},
	{winSecurity, "5156"}: {action: "connection-allowed", category: cat("network"), typ: cat("connection", "allowed"), outcome: "success"},
	{winSecurity, "5157"}: {action: "connection-blocked", category: cat("network"), typ: cat("connection", "denied"), outcome: "failure"},

	// System (Service Control Manager), PowerShell
	{winSystem, "7045"}:     {action: "service-installed", category: cat("configuration"), typ: cat("creation")},
	{winPowerShell, "4104"}: {action: "script-block-logged"},
}

// logonTypes names Windows logon types as Winlogbeat does.
var logonTypes = map[string]string{
	"0": "System", "2": "Interactive", "3": "Network", "4": "Batch", "5": "Service",
	"7": "Unlock", "8": "NetworkCleartext", "9": "NewCredentials",
	"10": "RemoteInteractive", "11": "CachedInteractive",
	"12": "CachedRemoteInteractive", "13": "CachedUnlock",
}

// ntStatusReasons explains the NTSTATUS codes of failed logons (4625, 4776).
var ntStatusReasons = map[string]string{
	"0xc000005e": "no logon servers available",
	"0xc0000064": "user name does not exist",
	"0xc000006a": "wrong password",
	"0xc000006d": "bad user name or password",
	"0xc000006e": "account restriction",
	"0xc000006f": "logon outside authorized hours",
	"0xc0000070": "workstation restriction",
	"0xc0000071": "password expired",
	"0xc0000072": "account disabled",
	"0xc0000133": "clock skew",
	"0xc000015b": "logon type not granted",
	"0xc0000193": "account expired",
	"0xc0000224": "password must change",
	"0xc0000234": "account locked out",
	"0xc0000413": "authentication firewall",
}

// kerberosReasons explains the Kerberos result codes of 4768, 4769, 4771.
var kerberosReasons = map[string]string{
	"0x6":  "client not found",
	"0x7":  "server not found",
	"0xc":  "policy restriction",
	"0x12": "account disabled, expired or locked out",
	"0x17": "password expired",
	"0x18": "wrong password",
	"0x1f": "integrity check failed",
	"0x25": "clock skew",
}

func isWindowsNative(m map[string]any) bool {
	if _, ok := m["EventID"]; ok {
		return true
	}
	if _, ok := m["EventId"]; ok {
		return true
	}
	sys, ok := m["System"].(map[string]any)
	if !ok {
		return false
	}
	_, ok = sys["EventID"]
	return ok
}

// windowsNative builds Fields for the flat and EventData shapes: ECS-named
// fields expanded as usual, system fields under winlog.*, native fields in
// winlog.event_data. The mapping to ECS is windows().
func (n *normalizer) windowsNative(m map[string]any) error {
	sys, _ := m["System"].(map[string]any)
	ecs := map[string]any{}
	data := map[string]any{}
	var eventData []map[string]any
	for k, v := range m {
		switch {
		case isECSKey(k):
			ecs[k] = v
		case k == "System" && sys != nil:
		case k == "EventData" || k == "event_data":
			if ed, ok := v.(map[string]any); ok {
				eventData = append(eventData, ed)
			} else {
				data[k] = v
			}
		default:
			data[k] = v
		}
	}
	for _, ed := range eventData {
		for k, v := range flattenEventData(ed) {
			data[k] = v
		}
	}
	f, err := expand(ecs, "")
	if err != nil {
		return err
	}
	n.fields = f

	// first finds a system field, in System then at the top.
	first := func(names ...string) (any, string) {
		for _, name := range names {
			if sys != nil {
				if v, ok := sys[name]; ok {
					return v, "System." + name
				}
			}
			if v, ok := m[name]; ok {
				return v, name
			}
		}
		return nil, ""
	}
	v, field := first("EventID", "EventId")
	id, ok := eventID(v)
	if !ok {
		return fieldError(field, "is %s, not a Windows event id", quote(v))
	}
	put(f, "winlog.event_id", id)
	if v, _ := first("Channel"); v != nil {
		s, _ := scalarString(v)
		putString(f, "winlog.channel", s)
	}
	if v, _ := first("ProviderName", "Provider_Name", "SourceName", "Provider"); v != nil {
		putString(f, "winlog.provider_name", nameOf(v))
	}
	if v, _ := first("Computer", "Hostname"); v != nil {
		s, _ := scalarString(v)
		putString(f, "winlog.computer_name", s)
	}
	if msg, ok := data["Message"].(string); ok {
		put(f, "message", msg) // the rendered text, as Winlogbeat sends it
	}
	if v, _ := first("EventRecordID", "RecordNumber"); v != nil {
		s, _ := scalarString(v)
		putString(f, "winlog.record_id", s)
	}
	if ed, ok := get(f, "winlog.event_data"); ok {
		if ed, ok := ed.(map[string]any); ok {
			for k, v := range data {
				if _, exists := ed[k]; !exists {
					ed[k] = v
				}
			}
		}
	} else if len(data) > 0 {
		put(f, "winlog.event_data", data)
	}

	v, field = first("TimeCreated", "EventTime")
	if v == nil {
		v, field = data["UtcTime"], "UtcTime"
	}
	if tc, ok := v.(map[string]any); ok {
		v, field = tc["SystemTime"], field+".SystemTime"
		if v == nil {
			v = tc["@SystemTime"]
		}
	}
	if v != nil {
		t, err := parseTime(v, n.received)
		if err != nil {
			return fieldError(field, "%s", err)
		}
		n.setEventTime(t, field, "")
	}
	return nil
}

// flattenEventData returns the fields of an EventData object, turning the
// XML-to-JSON list {"Data": [{"@Name": "User", "#text": "bob"}]} into
// {"User": "bob"}.
func flattenEventData(ed map[string]any) map[string]any {
	list, ok := ed["Data"].([]any)
	if !ok {
		return ed
	}
	out := make(map[string]any, len(ed)+len(list))
	for k, v := range ed {
		if k != "Data" {
			out[k] = v
		}
	}
	for _, e := range list {
		d, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name := nameOf(d)
		if name == "" {
			continue
		}
		var val any = ""
		for _, k := range [...]string{"#text", "Value", "value"} {
			if v, ok := d[k]; ok {
				val = v
				break
			}
		}
		out[name] = val
	}
	return out
}

// nameOf reads a name given as a string or as {"Name": …} / {"@Name": …}.
func nameOf(v any) string {
	if s, ok := scalarString(v); ok {
		return s
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range [...]string{"Name", "@Name", "name"} {
			if s, ok := m[k].(string); ok {
				return s
			}
		}
	}
	return ""
}

// eventID reads a Windows event id (0-65535) from a number, a string or
// {"#text": …}, in canonical decimal form.
func eventID(v any) (string, bool) {
	if m, ok := v.(map[string]any); ok {
		v = m["#text"]
		if v == nil {
			v = m["Value"]
		}
	}
	s, ok := scalarString(v)
	if !ok {
		return "", false
	}
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return "", false
	}
	return strconv.FormatUint(id, 10), true
}

// classify tells which log an event comes from. Without a channel or a
// provider, Sysmon is recognised by its UtcTime with ProcessGuid or Image,
// and Security by its four-digit 4xxx and 5xxx ids and 1102.
func classify(channel, provider, id string, data map[string]any) winSource {
	switch {
	case strings.EqualFold(channel, "Microsoft-Windows-Sysmon/Operational"),
		strings.EqualFold(provider, "Microsoft-Windows-Sysmon"):
		return winSysmon
	case strings.EqualFold(channel, "Security"),
		strings.EqualFold(provider, "Microsoft-Windows-Security-Auditing"):
		return winSecurity
	case strings.EqualFold(provider, "Service Control Manager"):
		return winSystem
	case strings.EqualFold(channel, "Microsoft-Windows-PowerShell/Operational"),
		strings.EqualFold(provider, "Microsoft-Windows-PowerShell"):
		return winPowerShell
	case channel != "" || provider != "":
		return winOther
	}
	if _, ok := data["UtcTime"]; ok {
		_, guid := data["ProcessGuid"]
		_, image := data["Image"]
		if guid || image {
			return winSysmon
		}
	}
	if id == "1102" || (len(id) == 4 && (id[0] == '4' || id[0] == '5')) {
		return winSecurity
	}
	return winOther
}

// windows maps winlog.* (from any shape) to ECS.
func (n *normalizer) windows() {
	f := n.fields
	v, ok := get(f, "winlog.event_id")
	if !ok {
		return
	}
	id, ok := eventID(v)
	if !ok {
		return
	}
	set(f, "winlog.event_id", id)
	d, _ := get(f, "winlog.event_data")
	data, _ := d.(map[string]any)
	channel := getString(f, "winlog.channel")
	provider := getString(f, "winlog.provider_name")
	if provider == "" {
		provider = getString(f, "event.provider")
	}
	src := classify(channel, provider, id, data)

	put(f, "event.code", id)
	putString(f, "event.provider", provider)
	putString(f, "host.name", getString(f, "winlog.computer_name"))
	e, known := winTable[winKey{src, id}]
	if known {
		putString(f, "event.action", e.action)
		if e.category != nil {
			put(f, "event.category", slices.Clone(e.category))
			put(f, "event.type", slices.Clone(e.typ))
		}
	}
	if data == nil {
		return
	}
	w := winData{f: f, data: data, src: src, id: id}
	if known {
		w.outcome(e)
	}
	w.process()
	w.network()
	w.objects()
	w.users(e)
}

// winData maps one event's data fields.
type winData struct {
	f    map[string]any
	data map[string]any
	src  winSource
	id   string
}

// s returns a data field as a trimmed string, "" for "-".
func (w winData) s(k string) string {
	s, _ := scalarString(w.data[k])
	s = strings.TrimSpace(s)
	if s == "-" {
		return ""
	}
	return s
}

func (w winData) outcome(e winEntry) {
	status := strings.ToLower(w.s("Status"))
	outcome := e.outcome
	if outcome == "status" {
		outcome = "failure"
		if status == "0x0" || status == "0" {
			outcome = "success"
		}
	}
	putString(w.f, "event.outcome", outcome)
	if outcome != "failure" {
		return
	}
	reasons := ntStatusReasons
	if w.id == "4768" || w.id == "4769" || w.id == "4771" {
		reasons = kerberosReasons
	}
	if r, ok := reasons[strings.ToLower(w.s("SubStatus"))]; ok {
		put(w.f, "event.reason", r)
	} else if r, ok := reasons[status]; ok {
		put(w.f, "event.reason", r)
	}
}

func (w winData) process() {
	f := w.f
	exe, pid, ppid := "Image", "ProcessId", "ParentProcessId"
	if w.src == winSecurity {
		exe = "ProcessName"
		if w.id == "4688" {
			exe, pid, ppid = "NewProcessName", "NewProcessId", "ProcessId"
		}
	}
	if e := w.s(exe); e != "" {
		putExecutable(f, "process", e)
	} else if e := w.s("SourceImage"); e != "" { // Sysmon 8, 10
		putExecutable(f, "process", e)
		pid = "SourceProcessId"
	}
	if p, ok := parsePID(w.s(pid)); ok {
		put(f, "process.pid", p)
	}
	putString(f, "process.entity_id", w.s("ProcessGuid"))
	putString(f, "process.command_line", w.s("CommandLine"))
	putString(f, "process.working_directory", w.s("CurrentDirectory"))
	if e := w.s("ParentImage"); e != "" {
		putExecutable(f, "process.parent", e)
	} else if e := w.s("ParentProcessName"); e != "" {
		putExecutable(f, "process.parent", e)
	}
	if p, ok := parsePID(w.s(ppid)); ok {
		put(f, "process.parent.pid", p)
	}
	putString(f, "process.parent.command_line", w.s("ParentCommandLine"))
	putString(f, "process.parent.entity_id", w.s("ParentProcessGuid"))

	hashes := w.s("Hashes")
	if hashes == "" {
		hashes = w.s("Hash")
	}
	if hashes != "" {
		prefix := "process"
		if w.src == winSysmon {
			switch w.id {
			case "6", "15", "23", "26", "29":
				prefix = "file"
			case "7":
				prefix = "dll"
			}
		}
		putHashes(f, prefix, hashes)
	}
}

func (w winData) network() {
	f := w.f
	srcIP := putIP(f, "source.ip", "", firstOf(w.s("SourceIp"), w.s("SourceAddress"), w.s("IpAddress")))
	if p, ok := parsePort(firstOf(w.s("SourcePort"), w.s("IpPort"))); ok {
		put(f, "source.port", p)
	}
	putString(f, "source.domain", firstOf(w.s("SourceHostname"), w.s("WorkstationName")))
	dstIP := putIP(f, "destination.ip", "", firstOf(w.s("DestinationIp"), w.s("DestAddress")))
	if p, ok := parsePort(firstOf(w.s("DestinationPort"), w.s("DestPort"))); ok {
		put(f, "destination.port", p)
	}
	putString(f, "destination.domain", w.s("DestinationHostname"))
	appendUnique(f, "related.ip", srcIP)
	appendUnique(f, "related.ip", dstIP)
	if p := strings.ToLower(w.s("Protocol")); p != "" {
		switch p {
		case "6":
			p = "tcp"
		case "17":
			p = "udp"
		case "1":
			p = "icmp"
		}
		put(f, "network.transport", p)
	}
	switch strings.ToLower(w.s("Initiated")) {
	case "true":
		put(f, "network.direction", "egress")
	case "false":
		put(f, "network.direction", "ingress")
	}
	if q := w.s("QueryName"); q != "" {
		put(f, "dns.question.name", q)
		put(f, "network.protocol", "dns")
	}
	if lt := w.s("LogonType"); lt != "" {
		if name, ok := logonTypes[lt]; ok {
			put(f, "winlog.logon.type", name)
		}
	}
	putString(f, "winlog.logon.id", w.s("TargetLogonId"))
}

func (w winData) objects() {
	f := w.f
	if p := w.s("TargetFilename"); p != "" {
		put(f, "file.path", p)
		put(f, "file.name", baseName(p))
	}
	if p := w.s("ImageLoaded"); p != "" {
		prefix := "file"
		if w.id == "7" {
			prefix = "dll"
		}
		put(f, prefix+".path", p)
		put(f, prefix+".name", baseName(p))
	}
	putString(f, "registry.path", w.s("TargetObject"))
	putString(f, "service.name", w.s("ServiceName"))
}

// winUser is one account as Windows names it.
type winUser struct{ name, domain, id string }

func (w winData) users(e winEntry) {
	target := winUser{w.s("TargetUserName"), w.s("TargetDomainName"), firstOf(w.s("TargetUserSid"), w.s("TargetSid"))}
	subject := winUser{w.s("SubjectUserName"), w.s("SubjectDomainName"), w.s("SubjectUserSid")}
	if w.id == "4740" {
		target.domain = "" // the caller computer's name
	}
	switch {
	case e.group:
		w.putUser("user", subject)
		putString(w.f, "group.name", target.name)
		putString(w.f, "group.domain", target.domain)
		putString(w.f, "group.id", target.id)
	case e.actor:
		w.putUser("user", subject)
		w.putUser("user.target", target)
	case target.name != "":
		w.putUser("user", target)
	case w.s("User") != "":
		w.putUser("user", winUser{name: w.s("User")})
	default:
		w.putUser("user", subject)
	}
}

func (w winData) putUser(prefix string, u winUser) {
	if u.name == "" {
		return
	}
	if i := strings.IndexByte(u.name, '\\'); i >= 0 {
		if u.domain == "" {
			u.domain = u.name[:i]
		}
		u.name = u.name[i+1:]
	}
	putString(w.f, prefix+".name", u.name)
	putString(w.f, prefix+".domain", u.domain)
	putString(w.f, prefix+".id", u.id)
	appendUnique(w.f, "related.user", u.name)
}

// putExecutable sets <prefix>.executable and <prefix>.name from a path.
func putExecutable(f map[string]any, prefix, path string) {
	put(f, prefix+".executable", path)
	put(f, prefix+".name", baseName(path))
}

// baseName is the last element of a Windows or Unix path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// putHashes maps Sysmon's "SHA1=…,MD5=…,SHA256=…,IMPHASH=…" to
// <prefix>.hash.* (lower-case hex) and <prefix>.pe.imphash.
func putHashes(f map[string]any, prefix, hashes string) {
	for part := range strings.SplitSeq(hashes, ",") {
		algo, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || value == "" {
			continue
		}
		value = strings.ToLower(value)
		switch algo = strings.ToLower(algo); algo {
		case "md5", "sha1", "sha256", "sha384", "sha512":
			put(f, prefix+".hash."+algo, value)
		case "imphash":
			put(f, prefix+".pe.imphash", value)
		}
	}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
