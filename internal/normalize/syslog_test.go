package normalize_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/normalize"
)

func TestSyslog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"RFC 3164 with PRI", "<38>Nov 26 10:00:01 web1 sshd[1234]: Failed password for root from 203.0.113.7 port 52144 ssh2", map[string]any{
			"@timestamp":               "2026-11-26T10:00:01Z",
			"log.syslog.priority":      num("38"),
			"log.syslog.facility.code": num("4"),
			"log.syslog.facility.name": "auth",
			"log.syslog.severity.code": num("6"),
			"log.syslog.severity.name": "informational",
			"log.syslog.hostname":      "web1",
			"host.name":                "web1",
			"process.name":             "sshd",
			"process.pid":              num("1234"),
			"message":                  "Failed password for root from 203.0.113.7 port 52144 ssh2",
			"log.syslog.version":       absent,
		}},
		{"RFC 3164 without PRI", "Nov  6 07:08:09 db-2 postgres[771]: LOG:  checkpoint starting: time", map[string]any{
			"@timestamp":          "2026-11-06T07:08:09Z",
			"host.name":           "db-2",
			"process.name":        "postgres",
			"process.pid":         num("771"),
			"message":             "LOG:  checkpoint starting: time",
			"log.syslog.priority": absent,
		}},
		{"RFC 3164 without hostname", "<86>Nov 26 10:00:01 sshd[1234]: Accepted publickey for alice from 198.51.100.23 port 50022 ssh2", map[string]any{
			"host.name":    absent,
			"process.name": "sshd",
			"process.pid":  num("1234"),
			"message":      "Accepted publickey for alice from 198.51.100.23 port 50022 ssh2",
		}},
		{"RFC 3164 tag without pid", "<4>Nov 26 09:59:59 fw01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9", map[string]any{
			"host.name":                "fw01",
			"process.name":             "kernel",
			"process.pid":              absent,
			"log.syslog.facility.name": "kern",
			"log.syslog.severity.name": "warning",
			"message":                  "[UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9",
		}},
		{"RFC 3164 without tag", "<13>Nov 26 10:00:00 printer1 paper jam in tray 2", map[string]any{
			"host.name":    "printer1",
			"process.name": absent,
			"message":      "paper jam in tray 2",
		}},
		{"RFC 3164 zero-padded day, fraction, year", "<190>Nov 06 2025 10:00:00.250 core-sw1 %LINK-3-UPDOWN: Interface Gi1/0/1, changed state to down", map[string]any{
			"@timestamp":   "2025-11-06T10:00:00.25Z",
			"host.name":    "core-sw1",
			"process.name": "%LINK-3-UPDOWN",
			"message":      "Interface Gi1/0/1, changed state to down",
		}},
		{"PRI and tag only", "<38>sshd[99]: Server listening on :: port 22.", map[string]any{
			"@timestamp":   "2026-11-26T10:30:00Z", // received
			"process.name": "sshd",
			"process.pid":  num("99"),
			"message":      "Server listening on :: port 22.",
		}},
		{"rsyslog high precision (Debian 12)", "2026-11-26T11:00:05.123456+01:00 bastion sshd[40245]: Invalid user admin from 203.0.113.7 port 40000", map[string]any{
			"@timestamp":   "2026-11-26T10:00:05.123456Z",
			"host.name":    "bastion",
			"process.name": "sshd",
			"message":      "Invalid user admin from 203.0.113.7 port 40000",
		}},
		{"RFC 5424", "<165>1 2026-11-26T10:00:00.123Z mymachine.example.com evntslog 4711 ID47 " +
			`[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] ` + "\ufeffAn application event log entry...", map[string]any{
			"@timestamp":               "2026-11-26T10:00:00.123Z",
			"log.syslog.version":       num("1"),
			"log.syslog.priority":      num("165"),
			"log.syslog.facility.name": "local4",
			"log.syslog.severity.name": "notice",
			"log.syslog.hostname":      "mymachine.example.com",
			"log.syslog.appname":       "evntslog",
			"log.syslog.procid":        "4711",
			"log.syslog.msgid":         "ID47",
			"log.syslog.structured_data": map[string]any{
				"exampleSDID@32473":     map[string]any{"iut": "3", "eventSource": "Application", "eventID": "1011"},
				"examplePriority@32473": map[string]any{"class": "high"},
			},
			"host.name":    "mymachine.example.com",
			"process.name": "evntslog",
			"process.pid":  num("4711"),
			"message":      "An application event log entry...",
		}},
		{"RFC 5424 nil values", "<34>1 - - - - - -", map[string]any{
			"@timestamp":                 "2026-11-26T10:30:00Z",
			"log.syslog.priority":        num("34"),
			"log.syslog.hostname":        absent,
			"log.syslog.appname":         absent,
			"log.syslog.structured_data": absent,
			"host.name":                  absent,
			"process.name":               absent,
			"message":                    "",
		}},
		{"RFC 5424 offset time, no message", `<14>1 2026-11-26T11:00:00+01:00 h app - - [origin@48577 ip="192.0.2.1" software="x"]`, map[string]any{
			"@timestamp":        "2026-11-26T10:00:00Z",
			"process.pid":       absent,
			"log.syslog.procid": absent,
			"log.syslog.structured_data.origin@48577": map[string]any{"ip": "192.0.2.1", "software": "x"},
			"message": "",
		}},
		{"RFC 5424 escapes", `<14>1 2026-11-26T10:00:00Z h app 12 - [a@1 q="say \"hi\"" b="c:\\dir" r="\]" k="back\slash"] text`, map[string]any{
			"log.syslog.structured_data": map[string]any{"a@1": map[string]any{"q": `say "hi"`, "b": `c:\dir`, "r": "]", "k": `back\slash`}},
			"message":                    "text",
		}},
		{"RFC 5424 malformed structured data kept in the message", `<14>1 2026-11-26T10:00:00Z h app - - [a@1 q=unquoted] text`, map[string]any{
			"log.syslog.structured_data": absent,
			"log.syslog.appname":         "app",
			"message":                    `[a@1 q=unquoted] text`,
		}},
		{"not syslog", "GET /index.html 200", map[string]any{
			"message":    "GET /index.html 200",
			"log":        absent,
			"process":    absent,
			"@timestamp": "2026-11-26T10:30:00Z",
		}},
		{"application line with an RFC 3339 time", "2026-11-26T10:00:00Z GET /index.html 200", map[string]any{
			"message": "2026-11-26T10:00:00Z GET /index.html 200", "log": absent, "host": absent, "@timestamp": "2026-11-26T10:30:00Z",
		}},
		{"application line with a BSD time", "Nov 26 10:00:00 backup finished in 42s", map[string]any{
			"message": "Nov 26 10:00:00 backup finished in 42s", "log": absent, "host": absent,
		}},
		{"PRI out of range", "<999>Nov 26 10:00:01 web1 x: y", map[string]any{"message": "<999>Nov 26 10:00:01 web1 x: y", "log": absent}},
		{"RFC 5424 with a bad time is not a header", "<14>1 yesterday h app - - - text", map[string]any{"message": "<14>1 yesterday h app - - - text", "log": absent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := setup(t).normalize(t, syslogObject(tt.line))
			checkFields(t, ev, tt.want)
			if ev.Original["message"] != tt.line {
				t.Errorf("Original message = %q, want the full line", ev.Original["message"])
			}
		})
	}
}

// TestSyslogYear: a year-less time takes the latest year that is not more
// than 24h after the time received.
func TestSyslogYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stamp, received, want string
	}{
		{"same day", "Nov 26 10:00:01", "2026-11-26T10:30:00Z", "2026-11-26T10:00:01Z"},
		{"sender a little ahead", "Nov 26 10:30:05", "2026-11-26T10:30:00Z", "2026-11-26T10:30:05Z"},
		{"sender in UTC+14", "Nov 27 00:30:00", "2026-11-26T10:30:00Z", "2026-11-27T00:30:00Z"},
		{"two days ahead is last year", "Nov 28 10:30:00", "2026-11-26T10:30:00Z", "2025-11-28T10:30:00Z"},
		{"new year's eve received on new year", "Dec 31 23:59:58", "2027-01-01T00:00:03Z", "2026-12-31T23:59:58Z"},
		{"new year sent before midnight received", "Jan  1 00:00:02", "2026-12-31T23:59:59Z", "2027-01-01T00:00:02Z"},
		{"old backlog", "Mar  3 03:03:03", "2026-01-05T00:00:00Z", "2025-03-03T03:03:03Z"},
		{"Feb 29 needs a leap year", "Feb 29 12:00:00", "2026-03-01T00:00:00Z", "2024-02-29T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.received, _ = time.Parse(time.RFC3339, tt.received)
			ev := b.normalize(t, syslogObject("<38>"+tt.stamp+" web1 sshd[1]: x"))
			if got := ev.String("@timestamp"); got != tt.want {
				t.Errorf("@timestamp = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSyslogWithShipperFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"Logstash/Vector host address", `{"message":"<38>Nov 26 10:00:01 web1 sshd[1234]: x","host":"10.0.0.5"}`, map[string]any{
			"host.ip": list("10.0.0.5"), "host.name": "web1", "log.syslog.hostname": "web1",
		}},
		{"host name from the shipper wins", `{"message":"<38>Nov 26 10:00:01 web1 sshd[1234]: x","host":"relay-1"}`, map[string]any{
			"host.name": "relay-1", "log.syslog.hostname": "web1",
		}},
		{"Filebeat: its @timestamp wins", `{"@timestamp":"2026-11-26T10:00:02.345Z","message":"Nov 26 10:00:01 web1 sshd[1234]: Failed password for root from 203.0.113.7 port 52144 ssh2","log":{"file":{"path":"/var/log/auth.log"}},"host":{"name":"web1.corp"},"agent":{"type":"filebeat"}}`, map[string]any{
			"@timestamp": "2026-11-26T10:00:02.345Z", "host.name": "web1.corp", "process.name": "sshd", "log.file.path": "/var/log/auth.log",
			"event.outcome": "failure", "source.ip": "203.0.113.7",
		}},
		{"journald export", `{"__REALTIME_TIMESTAMP":"1795687200123456","_HOSTNAME":"bastion","SYSLOG_IDENTIFIER":"sshd","_PID":"812","PRIORITY":"6","SYSLOG_FACILITY":"10","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"Failed password for invalid user pi from 192.0.2.33 port 40022 ssh2"}`, map[string]any{
			"@timestamp": "2026-11-26T10:00:00.123456Z", "host.name": "bastion", "process.name": "sshd", "process.pid": num("812"),
			"log.syslog.severity.name": "informational", "log.syslog.facility.name": "authpriv",
			"message": "Failed password for invalid user pi from 192.0.2.33 port 40022 ssh2", "event.action": "ssh_login", "user.name": "pi",
		}},
		{"Fluent Bit syslog parser", `{"pri":"38","time":"Nov 26 10:00:01","host":"web1","ident":"sshd","pid":"1234","message":"Invalid user test from 192.0.2.8 port 1022"}`, map[string]any{
			"@timestamp": "2026-11-26T10:00:01Z", "host.name": "web1", "process.name": "sshd", "event.action": "ssh_login", "user.name": "test",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFields(t, setup(t).normalize(t, tt.line), tt.want)
		})
	}
}

func TestSyslogErrors(t *testing.T) {
	t.Parallel()
	_, err := setup(t).try(syslogObject("<14>1 2027-06-01T00:00:00Z h app - - - from the future"))
	wantError(t, err, "message", `field "message" has a syslog header time of 2027-06-01T00:00:00Z, more than 24h after the time received`)

	var sd strings.Builder
	sd.WriteString("<14>1 - h app - - [x@1")
	for i := range 1001 {
		sd.WriteString(" p" + strconv.Itoa(i) + `="v"`)
	}
	sd.WriteString("] m")
	_, err = setup(t).try(syslogObject(sd.String()))
	wantError(t, err, "message", `field "message" has more than 1000 structured data parameters, limit 1000`)
	if !errors.Is(err, normalize.ErrLimit) {
		t.Error("structured data over the limit is not ErrLimit")
	}
}
