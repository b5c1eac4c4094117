package detect

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/event"
)

// Events in the shape internal/ingest's normaliser produces, for tests.

var testTime = time.Date(2026, 8, 5, 10, 0, 0, 0, time.UTC)

// windowsEvent is a Windows event log record as a Sysmon/Security JSON
// shipper sends it (native names, flat) after normalisation: the natives in
// Original and under winlog.event_data, the envelope in ECS.
func windowsEvent(channel string, eventID int, data map[string]any) event.Event {
	original := map[string]any{
		"EventID":  eventID,
		"Channel":  channel,
		"Computer": "WS01.corp.example",
	}
	eventData := map[string]any{}
	for k, v := range data {
		original[k] = v
		eventData[k] = v
	}
	fields := map[string]any{
		"@timestamp": testTime.Format(time.RFC3339Nano),
		"host":       map[string]any{"name": "WS01.corp.example", "os": map[string]any{"type": "windows"}},
		"winlog": map[string]any{
			"channel":    channel,
			"event_id":   eventID,
			"event_data": eventData,
		},
		"event": map[string]any{"code": eventID},
	}
	if strings.Contains(channel, "Sysmon") {
		event.Set(fields, "event.provider", "Microsoft-Windows-Sysmon")
	}
	for sigmaName, ecs := range map[string]string{
		"Image": "process.executable", "CommandLine": "process.command_line",
		"ParentImage": "process.parent.executable", "User": "user.name",
		"NewProcessName": "process.executable", "ParentProcessName": "process.parent.executable",
	} {
		if v, ok := data[sigmaName]; ok {
			event.Set(fields, ecs, v)
		}
	}
	if eventID == 1 || eventID == 4688 {
		event.Set(fields, "event.category", []any{"process"})
		event.Set(fields, "event.type", []any{"start"})
	}
	return event.Event{Timestamp: testTime, Fields: fields, Original: original}
}

const (
	sysmonChannel   = "Microsoft-Windows-Sysmon/Operational"
	securityChannel = "Security"
)

// sysmonProcess is a Sysmon process creation (event id 1).
func sysmonProcess(image, commandLine, parentImage, user string) event.Event {
	base := image[strings.LastIndexByte(image, '\\')+1:]
	return windowsEvent(sysmonChannel, 1, map[string]any{
		"Image":             image,
		"CommandLine":       commandLine,
		"ParentImage":       parentImage,
		"ParentCommandLine": parentImage,
		"User":              user,
		"OriginalFileName":  base,
		"IntegrityLevel":    "Medium",
		"CurrentDirectory":  `C:\Users\alice\`,
		"Hashes":            "SHA256=0000000000000000000000000000000000000000000000000000000000000000",
		"ProcessId":         4242,
		"ParentProcessId":   4000,
	})
}

// securityProcess is a Security 4688 process creation (native names differ
// from Sysmon's: NewProcessName, ParentProcessName, SubjectUserName).
func securityProcess(image, commandLine, parentImage, user string) event.Event {
	return windowsEvent(securityChannel, 4688, map[string]any{
		"NewProcessName":    image,
		"CommandLine":       commandLine,
		"ParentProcessName": parentImage,
		"SubjectUserName":   user,
		"MandatoryLabel":    "S-1-16-8192",
	})
}

// syslogEvent is a raw syslog line after normalisation: the line in
// Original.message, the free text in message, the program in process.name.
func syslogEvent(program, text string, extra map[string]any) event.Event {
	line := "Aug  5 10:00:00 web01 " + program + "[811]: " + text
	fields := map[string]any{
		"@timestamp": testTime.Format(time.RFC3339Nano),
		"message":    text,
		"host":       map[string]any{"name": "web01", "hostname": "web01"},
		"process":    map[string]any{"name": program, "pid": 811},
		"log":        map[string]any{"syslog": map[string]any{"appname": program}},
	}
	for k, v := range extra {
		event.Set(fields, k, v)
	}
	return event.Event{Timestamp: testTime, Fields: fields, Original: map[string]any{"message": line}}
}

// sshFailure is an sshd authentication failure as the normaliser shapes it.
func sshFailure(user, ip string, at time.Time) event.Event {
	ev := syslogEvent("sshd", "Failed password for "+user+" from "+ip+" port 52311 ssh2", map[string]any{
		"event.category": []any{"authentication"},
		"event.outcome":  "failure",
		"event.action":   "ssh_login",
		"source.ip":      ip,
		"user.name":      user,
	})
	ev.Timestamp = at
	return ev
}

// ecsEvent is an ECS JSON event as a Beats/Agent shipper sends it.
func ecsEvent(fields map[string]any) event.Event {
	nested := map[string]any{}
	for k, v := range fields {
		event.Set(nested, k, v)
	}
	return event.Event{Timestamp: testTime, Fields: nested, Original: fields}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
