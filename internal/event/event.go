// Package event owns Vigil's normalised event: the shape every ingest door
// produces and every detector reads. Fields use ECS names in nested objects
// ("event": {"category": [...]}, "source": {"ip": ...}); Original keeps what
// the shipper sent, untouched. It does not parse or store events: that is
// internal/ingest.
package event

import (
	"strings"
	"time"
)

// Event is one normalised event.
type Event struct {
	// ID is the producer's id for the event ("event.id" or "id"), empty when
	// the producer gave none. A tenant stores an id once.
	ID string
	// Timestamp is the event time in UTC ("@timestamp").
	Timestamp time.Time
	// Fields is the ECS document, nested by dots: Fields["source"]["ip"].
	Fields map[string]any
	// Original holds the fields as received (for a raw syslog line:
	// {"message": line}).
	Original map[string]any
}

// Get looks a dotted ECS path up in Fields ("source.ip"). A key that itself
// contains dots ("@timestamp", or a flat "source.ip" left by a shipper) is
// found too.
func (e Event) Get(path string) (any, bool) { return Lookup(e.Fields, path) }

// String returns the ECS field at path when it is a string.
func (e Event) String(path string) string {
	v, _ := e.Get(path)
	s, _ := v.(string)
	return s
}

// Lookup finds a dotted path in a nested map, trying the longest flat key
// first at each level so {"a.b": 1} and {"a": {"b": 1}} both answer "a.b".
func Lookup(m map[string]any, path string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := strings.LastIndexByte(path, '.'); i > 0; i = strings.LastIndexByte(path[:i], '.') {
		head, rest := path[:i], path[i+1:]
		child, ok := m[head].(map[string]any)
		if !ok {
			continue
		}
		if v, ok := Lookup(child, rest); ok {
			return v, true
		}
	}
	return nil, false
}

// Set stores v at a dotted path in a nested map, creating objects on the way.
func Set(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		child, ok := m[p].(map[string]any)
		if !ok {
			child = map[string]any{}
			m[p] = child
		}
		m = child
	}
	m[parts[len(parts)-1]] = v
}
