package normalize

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// A syslog line arrives as the "message" of an object, alone or next to
// other fields ({"message": "<38>Jan  5 10:00:01 web1 sshd[1234]: …",
// "host": "10.0.0.5"}). Recognised headers:
//
//   - RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG, "-"
//     for nil values, structured data [id k="v"…] with \" \\ \] escapes, an
//     optional BOM before MSG;
//   - RFC 3164, with or without <PRI>: "Jan  5 10:00:01" (also "Jan 05",
//     fractional seconds, a year before the time), or an RFC 3339 time as
//     rsyslog's high-precision format writes it (Debian 12, Ubuntu 24.04);
//     then an optional HOSTNAME and a TAG "program[pid]:" or "program:".
//     Without <PRI> the TAG is required, so that an application's own
//     "2026-11-26T10:00:00Z GET /x 200" is not taken for syslog.
//
// Fields: log.syslog.priority, log.syslog.facility.code and .name,
// log.syslog.severity.code and .name, log.syslog.hostname → also host.name;
// APP-NAME or TAG → process.name (and log.syslog.appname for 5424); a
// numeric PROCID or [pid] → process.pid (log.syslog.procid for 5424);
// log.syslog.msgid, log.syslog.version, log.syslog.structured_data
// ({id: {param: value}}); message becomes the free text (MSG), the full line
// staying in Original["message"]. A line that matches no header is left
// alone.
//
// The shipper's own fields win over the header: a string "host" becomes
// host.name (host.ip when it is an address) before the header is read, and
// @timestamp, when present, is the event time.
//
// journald exports (journalctl -o json, Fluent Bit's systemd input) are
// recognised by MESSAGE or __REALTIME_TIMESTAMP: MESSAGE → message,
// _HOSTNAME → host.name, SYSLOG_IDENTIFIER → process.name, _PID or
// SYSLOG_PID → process.pid, PRIORITY and SYSLOG_FACILITY →
// log.syslog.severity.code and .facility.code, __REALTIME_TIMESTAMP
// (microseconds) → the event time.

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var severityNames = [...]string{
	"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
}

// syslogMsg is a parsed syslog line.
type syslogMsg struct {
	pri                      int // -1 when absent
	version                  int // 1 for RFC 5424, 0 for RFC 3164
	time                     time.Time
	hasTime                  bool
	host, app, procID, msgID string
	sd                       map[string]any
	msg                      string
}

// syslog reads a syslog header in message, when there is one.
func (n *normalizer) syslog() error {
	f := n.fields
	line, ok := f["message"].(string)
	if !ok {
		return nil
	}
	n.text = line
	m, ok, err := parseSyslog(line, n.received, n.lim.MaxFields)
	if err != nil || !ok {
		return err
	}
	f["message"] = m.msg
	n.text = m.msg
	if m.pri >= 0 {
		put(f, "log.syslog.priority", json.Number(strconv.Itoa(m.pri)))
		putFacility(f, m.pri/8)
		putSeverity(f, m.pri%8)
	}
	if m.host != "" {
		put(f, "log.syslog.hostname", m.host)
		put(f, "host.name", m.host)
	}
	if m.app != "" {
		n.program = m.app
		put(f, "process.name", m.app)
	}
	if p, ok := parsePID(m.procID); ok && !strings.HasPrefix(m.procID, "0x") {
		put(f, "process.pid", p)
	}
	if m.version > 0 {
		put(f, "log.syslog.version", json.Number(strconv.Itoa(m.version)))
		putString(f, "log.syslog.appname", m.app)
		putString(f, "log.syslog.procid", m.procID)
		putString(f, "log.syslog.msgid", m.msgID)
		if len(m.sd) > 0 {
			put(f, "log.syslog.structured_data", m.sd)
		}
	}
	if m.hasTime {
		n.setEventTime(m.time, "message", "syslog header time")
	}
	return nil
}

func putFacility(f map[string]any, code int) {
	if code < 0 || code >= len(facilityNames) {
		return
	}
	put(f, "log.syslog.facility.code", json.Number(strconv.Itoa(code)))
	put(f, "log.syslog.facility.name", facilityNames[code])
}

func putSeverity(f map[string]any, code int) {
	if code < 0 || code >= len(severityNames) {
		return
	}
	put(f, "log.syslog.severity.code", json.Number(strconv.Itoa(code)))
	put(f, "log.syslog.severity.name", severityNames[code])
}

// journald maps journald's native field names.
func (n *normalizer) journald() {
	f := n.fields
	msg, hasMsg := f["MESSAGE"].(string)
	rt, hasTime := f["__REALTIME_TIMESTAMP"]
	if !hasMsg && !hasTime {
		return
	}
	if hasMsg {
		put(f, "message", msg)
	}
	str := func(k string) string { s, _ := scalarString(f[k]); return s }
	putString(f, "host.name", str("_HOSTNAME"))
	putString(f, "process.name", str("SYSLOG_IDENTIFIER"))
	if p, ok := parsePID(firstOf(str("_PID"), str("SYSLOG_PID"))); ok {
		put(f, "process.pid", p)
	}
	if c, err := strconv.Atoi(str("PRIORITY")); err == nil {
		putSeverity(f, c)
	}
	if c, err := strconv.Atoi(str("SYSLOG_FACILITY")); err == nil {
		putFacility(f, c)
	}
	if s, ok := scalarString(rt); ok {
		if us, err := strconv.ParseInt(s, 10, 64); err == nil && us > 0 && us < 1e17 {
			n.setEventTime(time.UnixMicro(us).UTC(), "__REALTIME_TIMESTAMP", "")
		}
	}
}

// parseSyslog parses an RFC 5424 or RFC 3164 line. ok is false when the
// line has no recognisable header; err reports structured data beyond
// maxParams parameters.
func parseSyslog(s string, received time.Time, maxParams int) (m syslogMsg, ok bool, err error) {
	m.pri = -1
	rest := s
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 2 || end > 4 {
			return m, false, nil
		}
		p, j, ok := digits(rest, 1, end-1, end-1)
		if !ok || j != end || p > 191 {
			return m, false, nil
		}
		m.pri, rest = p, rest[end+1:]
		if strings.HasPrefix(rest, "1 ") {
			return parse5424(m, rest[2:], maxParams)
		}
	}
	if t, r, ok := parseBSDTime(rest, received); ok {
		m.time, m.hasTime, rest = t, true, r
	} else if t, r, ok := parseRFC3339Prefix(rest); ok {
		m.time, m.hasTime, rest = t, true, r
	} else if m.pri < 0 {
		return m, false, nil
	}
	tok, after, _ := strings.Cut(rest, " ")
	if app, pid, ok := parseTag(tok); ok {
		m.app, m.procID, rest = app, pid, after
	} else if m.hasTime && isHostname(tok) {
		m.host, rest = tok, after
		tok, after, _ = strings.Cut(rest, " ")
		if app, pid, ok := parseTag(tok); ok {
			m.app, m.procID, rest = app, pid, after
		}
	}
	if m.pri < 0 && m.app == "" {
		// Without <PRI>, only a tag tells a syslog line from an
		// application's own "2026-11-26T10:00:00Z GET /x 200".
		return m, false, nil
	}
	m.msg = rest
	return m, true, nil
}

// isHostname accepts host names and IPv4 and IPv6 addresses.
func isHostname(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

// parseRFC3339Prefix reads an RFC 3339 time and one space at the start of
// s.
func parseRFC3339Prefix(s string) (time.Time, string, bool) {
	if len(s) < 20 || s[4] != '-' || s[0] < '0' || s[0] > '9' {
		return time.Time{}, s, false
	}
	tok, rest, _ := strings.Cut(s, " ")
	t, err := time.Parse(time.RFC3339Nano, tok)
	if err != nil {
		return time.Time{}, s, false
	}
	return t.UTC(), rest, true
}

// parseTag reads an RFC 3164 TAG: "program[pid]:" or "program:".
func parseTag(tok string) (app, pid string, ok bool) {
	tok, ok = strings.CutSuffix(tok, ":")
	if !ok || tok == "" {
		return "", "", false
	}
	if i := strings.IndexByte(tok, '['); i >= 0 {
		if i == 0 || !strings.HasSuffix(tok, "]") {
			return "", "", false
		}
		tok, pid = tok[:i], tok[i+1:len(tok)-1]
	}
	if strings.ContainsAny(tok, "[]:") || strings.ContainsAny(pid, "[]") {
		return "", "", false
	}
	return tok, pid, true
}

func parse5424(m syslogMsg, rest string, maxParams int) (syslogMsg, bool, error) {
	m.version = 1
	var parts [5]string
	for i := range parts {
		var ok bool
		parts[i], rest, ok = strings.Cut(rest, " ")
		if !ok && i < len(parts)-1 {
			return m, false, nil
		}
		if parts[i] == "" {
			return m, false, nil
		}
		if parts[i] == "-" {
			parts[i] = ""
		}
	}
	if ts := parts[0]; ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return m, false, nil
		}
		m.time, m.hasTime = t.UTC(), true
	}
	m.host, m.app, m.procID, m.msgID = parts[1], parts[2], parts[3], parts[4]
	switch {
	case strings.HasPrefix(rest, "-"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "["):
		sd, after, ok, err := parseStructuredData(rest, maxParams)
		if err != nil {
			return m, false, err
		}
		if ok {
			m.sd, rest = sd, after
		}
	}
	rest = strings.TrimPrefix(rest, " ")
	m.msg = strings.TrimPrefix(rest, "\ufeff")
	return m, true, nil
}

// parseStructuredData reads SD-ELEMENTs: [id name="value" …]…. ok is false
// when they are malformed; the caller then keeps them in the message.
func parseStructuredData(s string, maxParams int) (sd map[string]any, rest string, ok bool, err error) {
	sd = map[string]any{}
	params := 0
	for len(s) > 0 && s[0] == '[' {
		s = s[1:]
		end := strings.IndexAny(s, " ]")
		if end <= 0 || strings.ContainsAny(s[:end], `="`) {
			return nil, "", false, nil
		}
		id := s[:end]
		s = s[end:]
		elem, _ := sd[id].(map[string]any)
		if elem == nil {
			elem = map[string]any{}
			sd[id] = elem
		}
		for {
			if s == "" {
				return nil, "", false, nil
			}
			if s[0] == ']' {
				s = s[1:]
				break
			}
			if s[0] != ' ' {
				return nil, "", false, nil
			}
			s = s[1:]
			eq := strings.IndexByte(s, '=')
			if eq <= 0 || strings.ContainsAny(s[:eq], ` ]"`) || len(s) < eq+2 || s[eq+1] != '"' {
				return nil, "", false, nil
			}
			name := s[:eq]
			value, after, ok := sdValue(s[eq+2:])
			if !ok {
				return nil, "", false, nil
			}
			if params++; params > maxParams {
				return nil, "", false, limitError("message", "field %q has more than %d structured data parameters, limit %d", "message", maxParams, maxParams)
			}
			elem[name] = value
			s = after
		}
	}
	return sd, s, true, nil
}

// sdValue reads a PARAM-VALUE up to its closing quote, undoing \" \\ \].
// Other backslashes are kept, as RFC 5424 asks.
func sdValue(s string) (value, rest string, ok bool) {
	var b strings.Builder
	escaped := false // b holds the value so far
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if !escaped {
				return s[:i], s[i+1:], true
			}
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']'):
			if !escaped {
				b.WriteString(s[:i])
				escaped = true
			}
			b.WriteByte(s[i+1])
			i++
		case escaped:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
