package detect

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/vigilhq/vigil/internal/event"
)

// sigma-go's evaluator reads fields from a flat map[string]any by the rule's
// field names: it has no hook to look a field up in an event of ours. So the
// set flattens each event into such a map, holding exactly the keys its
// candidate rules read, each resolved once per event by resolveSigmaField.

type fieldKind uint8

const (
	fieldPlain    fieldKind = iota // a Sigma field name: Image, CommandLine, source.ip
	fieldKeywords                  // the event's text, for keyword lists
	fieldExists                    // "true" or "false": does field exist
	fieldRefCmp                    // "true" or "false": field compared to another field
)

// fieldRef is one key of the flattened event and how to compute it.
type fieldRef struct {
	key        string
	kind       fieldKind
	raw        bool   // plain and keywords: keep the case (else lower-cased)
	name       string // the Sigma field name
	other      string // fieldref: the other field
	comparator string // fieldref: "", contains, startswith or endswith
}

func plainRef(name string, raw bool) fieldRef {
	if raw {
		return fieldRef{key: "\x00raw\x00" + name, kind: fieldPlain, raw: true, name: name}
	}
	return fieldRef{key: name, kind: fieldPlain, name: name}
}

func keywordRef(raw bool) fieldRef {
	if raw {
		return fieldRef{key: "\x00raw\x00keywords", kind: fieldKeywords, raw: true}
	}
	return fieldRef{key: "\x00keywords", kind: fieldKeywords}
}

func existsRef(name string) fieldRef {
	if name == "" {
		return fieldRef{key: "\x00exists\x00", kind: fieldExists}
	}
	return fieldRef{key: "\x00exists\x00" + name, kind: fieldExists, name: name}
}
func fieldrefRef(name, comparator, other string) fieldRef {
	return fieldRef{
		key:  "\x00fieldref\x00" + name + "\x00" + comparator + "\x00" + other,
		kind: fieldRefCmp, name: name, other: other, comparator: comparator,
	}
}

// missingValue stands for a field the event lacks. sigma-go would otherwise
// see nil, print it as "<nil>" and let "contains: nil" match a missing field.
const missingValue = "\x00"

// identityMappings gives every key a field mapping to itself: sigma-go
// splits list values ("event.category": ["process", "start"]) into elements
// only for mapped fields.
func identityMappings(fields []fieldRef) sigma.Config {
	m := make(map[string]sigma.FieldMapping, len(fields))
	for _, f := range fields {
		m[f.key] = sigma.FieldMapping{TargetNames: []string{f.key}}
	}
	return sigma.Config{Title: "vigil identity mappings", FieldMappings: m}
}

// compute returns the flattened value of f for ev.
func (f fieldRef) compute(ev event.Event) any {
	switch f.kind {
	case fieldKeywords:
		text := keywordText(ev)
		if text == "" {
			return missingValue
		}
		if !f.raw {
			text = strings.ToLower(text)
		}
		return text
	case fieldExists:
		if f.name == "" {
			return boolString(keywordText(ev) != "")
		}
		v, ok := resolveSigmaField(ev, f.name)
		return boolString(ok && v != nil)
	case fieldRefCmp:
		a, okA := resolveSigmaField(ev, f.name)
		b, okB := resolveSigmaField(ev, f.other)
		if !okA || !okB || a == nil || b == nil {
			return "false"
		}
		x, y := strings.ToLower(valueString(a)), strings.ToLower(valueString(b))
		switch f.comparator {
		case "contains":
			return boolString(strings.Contains(x, y))
		case "startswith":
			return boolString(strings.HasPrefix(x, y))
		case "endswith":
			return boolString(strings.HasSuffix(x, y))
		default:
			return boolString(x == y)
		}
	default:
		v, ok := resolveSigmaField(ev, f.name)
		if !ok || v == nil {
			return missingValue
		}
		return flatValue(v, !f.raw)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// flatValue renders a resolved value as the evaluator compares it: a
// string (lower-cased unless raw is wanted), or a list of strings for a list.
// Integers print without exponent (4688, not 4688.0 or 1e+06).
func flatValue(v any, lower bool) any {
	switch list := v.(type) {
	case []any:
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = flatValue(e, lower)
		}
		return out
	case []string:
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = flatValue(e, lower)
		}
		return out
	}
	s := valueString(v)
	if lower {
		s = strings.ToLower(s)
	}
	return s
}

// valueString renders a scalar as text; other values as JSON.
func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return string(x)
	case []string:
		return strings.Join(x, ",")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return strings.Trim(string(b), `"`)
	}
}

// resolveSigmaField looks a Sigma field name up in a Vigil event, first hit
// wins:
//
//  1. Original, as the shipper sent it (native names: Image, CommandLine,
//     EventID; dotted paths into nested JSON: gcp.audit.method_name);
//  2. Fields.winlog.event_data (Windows native names kept by the normaliser);
//  3. Windows Security spellings of Sysmon names (Image → NewProcessName,
//     ParentImage → ParentProcessName, Details → NewValue, LogonId →
//     SubjectLogonId), as Sigma's windows-audit pipeline maps them;
//  4. the ECS field Sigma's name stands for (sigmaToECS: CommandLine →
//     process.command_line, User → user.name, ...);
//  5. the name itself as a dotted ECS path (source.ip).
func resolveSigmaField(ev event.Event, name string) (any, bool) {
	if v, ok := event.Lookup(ev.Original, name); ok {
		return v, true
	}
	if data, ok := eventData(ev); ok {
		if v, ok := data[name]; ok {
			return v, true
		}
	}
	if alt, ok := windowsAuditNames[name]; ok {
		if v, ok := ev.Original[alt]; ok {
			return v, true
		}
		if data, ok := eventData(ev); ok {
			if v, ok := data[alt]; ok {
				return v, true
			}
		}
	}
	for _, path := range sigmaToECS[name] {
		if v, ok := ev.Get(path); ok {
			return v, true
		}
	}
	return ev.Get(name)
}

func eventData(ev event.Event) (map[string]any, bool) {
	v, ok := ev.Get("winlog.event_data")
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// keywordText is what Sigma keyword lists search: the raw line for syslog
// (Original.message), else the ECS message, else every string value the
// shipper sent, one per line, in key order (a full-text search's view).
func keywordText(ev event.Event) string {
	if s, ok := ev.Original["message"].(string); ok && s != "" {
		return s
	}
	if s := ev.String("message"); s != "" {
		return s
	}
	var parts []string
	collectStrings(ev.Original, &parts)
	return strings.Join(parts, "\n")
}

func collectStrings(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		if x != "" {
			*out = append(*out, x)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			collectStrings(x[k], out)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, out)
		}
	}
}

// windowsAuditNames are the Security log's names for fields Sigma rules
// spell the Sysmon way (pySigma's windows_audit_pipeline field mappings).
var windowsAuditNames = map[string]string{
	"Image":       "NewProcessName",
	"ParentImage": "ParentProcessName",
	"Details":     "NewValue",
	"LogonId":     "SubjectLogonId",
}

// sigmaToECS maps Sigma's field names (Sysmon, Windows, web and proxy logs)
// to the ECS fields Vigil's normaliser fills, for events whose shipper did
// not send the native name. Several candidates are tried in order.
var sigmaToECS = map[string][]string{
	// Windows event envelope.
	"EventID":       {"winlog.event_id", "event.code"},
	"Channel":       {"winlog.channel"},
	"Computer":      {"host.name", "winlog.computer_name"},
	"Provider_Name": {"winlog.provider_name", "event.provider"},

	// Processes (Sysmon 1, Security 4688, EDRs).
	"Image":             {"process.executable"},
	"CommandLine":       {"process.command_line"},
	"ProcessId":         {"process.pid"},
	"ProcessGuid":       {"process.entity_id"},
	"CurrentDirectory":  {"process.working_directory"},
	"OriginalFileName":  {"process.pe.original_file_name"},
	"Description":       {"process.pe.description"},
	"Product":           {"process.pe.product"},
	"Company":           {"process.pe.company"},
	"FileVersion":       {"process.pe.file_version"},
	"Hashes":            {"process.hash.sha256", "file.hash.sha256"},
	"ParentImage":       {"process.parent.executable"},
	"ParentCommandLine": {"process.parent.command_line"},
	"ParentProcessId":   {"process.parent.pid"},
	"ParentProcessGuid": {"process.parent.entity_id"},
	"ParentUser":        {"process.parent.user.name"},
	"User":              {"user.name"},
	"LogonId":           {"winlog.logon.id"},

	// Users and logons (Security).
	"SubjectUserName":   {"user.name"},
	"SubjectDomainName": {"user.domain"},
	"TargetUserName":    {"user.target.name", "user.name"},
	"TargetDomainName":  {"user.target.domain"},
	"LogonType":         {"winlog.logon.type"},
	"IpAddress":         {"source.ip"},
	"IpPort":            {"source.port"},
	"WorkstationName":   {"source.domain"},

	// Network (Sysmon 3, firewalls, proxies).
	"SourceIp":            {"source.ip"},
	"SourcePort":          {"source.port"},
	"SourceHostname":      {"source.domain"},
	"DestinationIp":       {"destination.ip"},
	"DestinationPort":     {"destination.port"},
	"DestinationHostname": {"destination.domain"},
	"Protocol":            {"network.transport"},
	"Initiated":           {"network.direction"},
	"dst_ip":              {"destination.ip"},
	"dst_port":            {"destination.port"},
	"src_ip":              {"source.ip"},
	"src_port":            {"source.port"},

	// DNS (Sysmon 22).
	"QueryName":    {"dns.question.name"},
	"QueryResults": {"dns.answers.data"},
	"query":        {"dns.question.name"},

	// Files, images, registry, pipes (Sysmon 7, 11, 12-14, 17-18, 23).
	"TargetFilename": {"file.path"},
	"ImageLoaded":    {"dll.path", "file.path"},
	"Signed":         {"dll.code_signature.signed", "file.code_signature.signed"},
	"Signature":      {"dll.code_signature.subject_name", "file.code_signature.subject_name"},
	"TargetObject":   {"registry.path"},
	"Details":        {"registry.data.strings"},
	"PipeName":       {"file.name"},
	"SourceImage":    {"process.executable"},

	// Services and PowerShell.
	"ServiceName":     {"service.name"},
	"ScriptBlockText": {"powershell.file.script_block_text"},

	// Web servers and proxies (W3C names).
	"c-ip":            {"source.ip"},
	"c-uri":           {"url.original"},
	"c-uri-query":     {"url.query"},
	"c-useragent":     {"user_agent.original"},
	"cs-user-agent":   {"user_agent.original"},
	"cs-method":       {"http.request.method"},
	"cs-uri-query":    {"url.query"},
	"cs-uri-stem":     {"url.path"},
	"cs-host":         {"url.domain", "destination.domain"},
	"cs-referrer":     {"http.request.referrer"},
	"sc-status":       {"http.response.status_code"},
	"r-dns":           {"url.domain", "destination.domain"},
	"c-uri-extension": {"url.extension"},
}
