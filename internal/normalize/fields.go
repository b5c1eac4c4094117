package normalize

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// expand turns flat dotted keys ("source.ip") into nested objects, in place,
// at every level of m (which must be Normalize's own copy). A key with an
// empty segment ("a..b", ".a") stays as it is. A dotted key that meets a
// value that is not an object, or a leaf given both nested and dotted, is an
// error, as it is for Elasticsearch. prefix is m's own path, for messages.
func expand(m map[string]any, prefix string) (map[string]any, error) {
	var dotted []string
	for k, v := range m {
		if err := expandValue(v, prefix, k); err != nil {
			return nil, err
		}
		if splittable(k) {
			dotted = append(dotted, k)
		}
	}
	slices.Sort(dotted) // deterministic errors
	for _, k := range dotted {
		v := m[k]
		delete(m, k)
		if err := insert(m, prefix, k, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// expandValue expands the objects in v, found at prefix+k; the path is only
// built for containers.
func expandValue(v any, prefix, k string) error {
	switch v := v.(type) {
	case map[string]any:
		_, err := expand(v, prefix+k+".")
		return err
	case []any:
		for i, e := range v {
			switch e.(type) {
			case map[string]any, []any:
				if err := expandValue(e, prefix+k, "["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func splittable(k string) bool {
	return strings.IndexByte(k, '.') >= 0 && k[0] != '.' && k[len(k)-1] != '.' && !strings.Contains(k, "..")
}

// insert stores v at the dotted key k below m.
func insert(m map[string]any, prefix, k string, v any) error {
	rest := k
	for {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		seg := rest[:i]
		rest = rest[i+1:]
		cur, ok := m[seg]
		if !ok {
			child := map[string]any{}
			m[seg] = child
			m = child
			continue
		}
		child, ok := cur.(map[string]any)
		if !ok {
			return fieldError(prefix+k, "conflicts with %q, which is not an object", prefix+k[:len(k)-len(rest)-1])
		}
		m = child
	}
	return merge(m, rest, v, prefix+k)
}

// merge stores v at m[k], merging objects; path is m[k]'s path.
func merge(m map[string]any, k string, v any, path string) error {
	cur, ok := m[k]
	if !ok {
		m[k] = v
		return nil
	}
	cm, ok1 := cur.(map[string]any)
	vm, ok2 := v.(map[string]any)
	if !ok1 || !ok2 {
		return fieldError(path, "is given twice (nested and dotted)")
	}
	keys := make([]string, 0, len(vm))
	for k2 := range vm {
		keys = append(keys, k2)
	}
	slices.Sort(keys)
	for _, k2 := range keys {
		if err := merge(cm, k2, vm[k2], path+"."+k2); err != nil {
			return err
		}
	}
	return nil
}

// get finds a dotted path in nested objects.
func get(m map[string]any, path string) (any, bool) {
	for {
		i := strings.IndexByte(path, '.')
		if i < 0 {
			v, ok := m[path]
			return v, ok
		}
		child, ok := m[path[:i]].(map[string]any)
		if !ok {
			return nil, false
		}
		m, path = child, path[i+1:]
	}
}

// getString is get for string values (json.Number too); "" when absent.
func getString(m map[string]any, path string) string {
	v, _ := get(m, path)
	s, _ := scalarString(v)
	return s
}

// put stores v at a dotted path unless something is there already: derived
// values never overwrite what the shipper sent, nor replace a value that is
// not an object on the way. It reports whether v was stored.
func put(m map[string]any, path string, v any) bool {
	m, leaf, ok := parent(m, path)
	if !ok {
		return false
	}
	if _, exists := m[leaf]; exists {
		return false
	}
	m[leaf] = v
	return true
}

// set stores v at a dotted path, replacing a leaf but not a value on the way
// that is not an object.
func set(m map[string]any, path string, v any) bool {
	m, leaf, ok := parent(m, path)
	if ok {
		m[leaf] = v
	}
	return ok
}

// parent returns the object that holds path's last segment, creating objects
// on the way.
func parent(m map[string]any, path string) (map[string]any, string, bool) {
	for {
		i := strings.IndexByte(path, '.')
		if i < 0 {
			return m, path, true
		}
		seg := path[:i]
		path = path[i+1:]
		cur, ok := m[seg]
		if !ok {
			child := map[string]any{}
			m[seg] = child
			m = child
			continue
		}
		if m, ok = cur.(map[string]any); !ok {
			return nil, "", false
		}
	}
}

// putString puts s unless it is empty or "-", the usual "no value".
func putString(m map[string]any, path, s string) {
	if s != "" && s != "-" {
		put(m, path, s)
	}
}

// appendUnique adds s to the string array at path (ECS related.*).
func appendUnique(m map[string]any, path, s string) {
	if s == "" {
		return
	}
	v, ok := get(m, path)
	if !ok {
		put(m, path, []any{s})
		return
	}
	a, ok := v.([]any)
	if !ok {
		return
	}
	for _, e := range a {
		if e == s {
			return
		}
	}
	set(m, path, append(a, s))
}

// scalarString returns a string or a number as a string.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// canonicalIP returns s as an IP address in canonical form: IPv4-mapped IPv6
// addresses unmapped ("::ffff:10.0.0.5" is "10.0.0.5", as Windows logs
// them), zones dropped.
func canonicalIP(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return a.WithZone("").Unmap().String(), true
}

// parsePort returns a port number (0-65535) as a json.Number.
func parsePort(v any) (json.Number, bool) {
	s, ok := scalarString(v)
	if !ok {
		return "", false
	}
	p, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return "", false
	}
	return json.Number(strconv.FormatUint(p, 10)), true
}

// parsePID returns a process id, decimal or "0x" hexadecimal (Windows
// Security events), as a decimal json.Number.
func parsePID(v any) (json.Number, bool) {
	s, ok := scalarString(v)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base = s[2:], 16
	}
	p, err := strconv.ParseUint(s, base, 63)
	if err != nil {
		return "", false
	}
	return json.Number(strconv.FormatUint(p, 10)), true
}

// putIP stores a valid IP at path (canonical form); anything else that is not
// empty or "-" is stored as a domain at domainPath, when given.
func putIP(m map[string]any, path, domainPath, s string) (ip string) {
	if s == "" || s == "-" {
		return ""
	}
	if ip, ok := canonicalIP(s); ok {
		put(m, path, ip)
		return ip
	}
	if domainPath != "" {
		put(m, domainPath, s)
	}
	return ""
}

// ECS fields whose types Normalize checks and canonicalises wherever they
// come from.
var (
	ecsIPFields   = [...]string{"source.ip", "destination.ip", "client.ip", "server.ip"}
	ecsPortFields = [...]string{"source.port", "destination.port", "client.port", "server.port"}
	ecsPIDFields  = [...]string{"process.pid", "process.parent.pid"}
	ecsListFields = [...]string{"event.category", "event.type"}
)

// validateECS checks and canonicalises the ECS fields the detectors key on:
// IPs (valid, canonical), ports and pids (integers as json.Number, also from
// strings), event.category and event.type (arrays of strings, also from one
// string). A string "host" (Logstash, Vector) becomes host.name, or host.ip
// when it is an address.
func (n *normalizer) validateECS() error {
	f := n.fields
	if h, ok := f["host"].(string); ok {
		delete(f, "host")
		if ip, ok := canonicalIP(h); ok {
			put(f, "host.ip", []any{ip})
		} else if h != "" {
			put(f, "host.name", h)
		}
	}
	for _, p := range ecsIPFields {
		if v, ok := get(f, p); ok {
			s, _ := v.(string)
			ip, ok := canonicalIP(s)
			if !ok {
				return fieldError(p, "is %s, not an IP address", quote(v))
			}
			set(f, p, ip)
		}
	}
	for _, p := range ecsPortFields {
		if v, ok := get(f, p); ok {
			port, ok := parsePort(v)
			if !ok {
				return fieldError(p, "is %s, not a port number (0-65535)", quote(v))
			}
			set(f, p, port)
		}
	}
	for _, p := range ecsPIDFields {
		if v, ok := get(f, p); ok {
			pid, ok := parsePID(v)
			if !ok {
				return fieldError(p, "is %s, not a process id", quote(v))
			}
			set(f, p, pid)
		}
	}
	for _, p := range ecsListFields {
		v, ok := get(f, p)
		if !ok {
			continue
		}
		switch v := v.(type) {
		case string:
			set(f, p, []any{v})
		case []any:
			for _, e := range v {
				if _, ok := e.(string); !ok {
					return fieldError(p, "must be a string or an array of strings, but holds %s", quote(e))
				}
			}
		default:
			return fieldError(p, "must be a string or an array of strings, not %s", quote(v))
		}
	}
	return nil
}

// ecsRoots are ECS's top-level field sets, used to tell ECS fields from
// native Windows names in one object.
var ecsRoots = map[string]bool{
	"@timestamp": true, "agent": true, "as": true, "client": true, "cloud": true,
	"container": true, "data_stream": true, "destination": true, "device": true,
	"dll": true, "dns": true, "ecs": true, "email": true, "error": true,
	"event": true, "faas": true, "file": true, "group": true, "host": true,
	"http": true, "labels": true, "log": true, "message": true, "network": true,
	"observer": true, "orchestrator": true, "organization": true, "package": true,
	"process": true, "registry": true, "related": true, "rule": true,
	"server": true, "service": true, "source": true, "span": true, "tags": true,
	"threat": true, "tls": true, "trace": true, "transaction": true, "url": true,
	"user": true, "user_agent": true, "vulnerability": true, "winlog": true,
}

func isECSKey(k string) bool {
	if i := strings.IndexByte(k, '.'); i >= 0 {
		k = k[:i]
	}
	return ecsRoots[k]
}
