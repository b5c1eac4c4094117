// Package normalize owns the step from what log shippers send to Vigil's
// event.Event: decoding one NDJSON line within Limits, recognising the
// format, and mapping it to ECS fields. It does not read request bodies,
// store events, deduplicate ids or decide what is suspicious (that is
// internal/ingest and internal/detect), and it keeps no state: every
// function is safe for concurrent use.
//
// # Formats
//
// The format is told from the object's fields, and several can apply to one
// object (Filebeat's ECS event whose message is a raw auth.log line):
//
//   - ECS JSON (Elastic Agent, Filebeat, Winlogbeat), nested or with flat
//     dotted keys, which become nested objects. source/destination/client/
//     server .ip must be IP addresses and .port port numbers, process.pid and
//     process.parent.pid integers; event.category and event.type become
//     arrays of strings (fields.go).
//   - Windows Security, Sysmon, System and PowerShell events with native
//     names, from NXLog, Winlogbeat or XML-to-JSON converters: winlog.*,
//     ECS process, user, source, destination, file, dns fields and a
//     categorisation table; native fields stay under winlog.event_data for
//     Sigma rules (windows.go).
//   - Raw syslog lines in message, RFC 3164 and RFC 5424, and journald
//     exports (syslog.go).
//   - sshd, PAM, sudo and su lines, from syslog or any object that names
//     the program, as authentication events (auth.go).
//   - Anything else that is a JSON object is kept as it is, with its time
//     taken from "timestamp" or "time" when they parse.
//
// Derived fields never overwrite what the shipper sent: the only rewrites
// are canonical forms (IPs, ports, pids, arrays, winlog.event_id as a
// string, event.id as a string, @timestamp in RFC 3339 UTC) and message,
// which becomes the free text of a syslog line.
//
// # Values
//
// DecodeLine returns numbers as json.Number, so that 64-bit Windows keywords
// (-9223372036854775808), record ids and epoch milliseconds survive exactly.
// In Event.Fields every number is a json.Number, including numbers Normalize
// derives from text (ports, pids, syslog codes, event.count) and numbers that
// reached Normalize as float64 or int from another decoder; every array is a
// []any. Event.Original is the map Normalize was given, untouched.
//
// # Time
//
// @timestamp is, in this order: the object's own "@timestamp" (which must
// parse); the time the format carries (Windows TimeCreated, EventTime or
// UtcTime; journald __REALTIME_TIMESTAMP; the syslog header); "timestamp" or
// "time" when they parse; otherwise the time received. The shipper's
// @timestamp wins because the agent knew the host's time zone, which an
// RFC 3164 header does not say. Strings are RFC 3339 (also with a space for
// "T"; without a zone they are UTC); numbers are epoch milliseconds, or epoch
// seconds below 1e11 (as milliseconds that would be before March 1973, so no
// real event is misread). A year-less RFC 3164 time gets the latest year
// that puts it at most 24 h after the time received, the skew Normalize
// allows any event (hosts east of UTC log local times that look ahead).
// Events before 1970 or more than 24 h after the time received are refused.
//
// # Errors
//
// Errors are *Error: the message names the field and what was wrong
// (`field "source.ip" is "999.1.1.1", not an IP address`), Field holds its
// dotted path, and errors.Is(err, ErrLimit) tells a violated limit from
// malformed content. One line's error says nothing about its neighbours.
package normalize
