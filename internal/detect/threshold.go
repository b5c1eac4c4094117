package detect

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/event"
	"gopkg.in/yaml.v3"
)

// ThresholdRule counts matching events per group over a sliding window:
// brute force (many failures from one address), password spraying (many
// distinct users from one address), success after failures. Compile one
// with CompileThreshold; it is immutable and safe for concurrent use.
//
// The definition is YAML (JSON is valid YAML):
//
//	filter:                  # required; every key must hold for an event to count
//	  event.category: authentication
//	  event.outcome: failure
//	  process.name: [sshd, sshd-session]     # a list: any of the values
//	exclude:                 # optional; an event for which every key holds is not counted
//	  source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16]
//	group_by: [source.ip]    # optional; the fields that key a group (a single string works)
//	threshold: 10            # required, >= 2: at least this many events in one window...
//	distinct: user.name      # optional: ...or this many distinct values of this field
//	window: 5m               # required, Go duration from 1s to 24h
//	followed_by:             # optional: report at an event matching this, when at least
//	  event.outcome: success #   threshold counted events precede it within the window
//
// A key of filter, exclude or followed_by is an ECS field path, optionally
// with one modifier: "field" (equals), "field|contains", "field|startswith",
// "field|endswith" or "field|cidr". Values are strings, numbers, booleans,
// null (the field is absent) or a list of them (any of). Strings compare
// case-insensitively; a list-valued event field holds when any element
// does. A field is read from the ECS fields, then from the original event.
//
// An event matching followed_by is a follow-up, never a counted event.
// exclude applies to follow-ups too.
type ThresholdRule struct {
	filter     []condition
	exclude    []condition
	followedBy []condition
	groupBy    []string
	threshold  int
	distinct   string
	window     time.Duration
}

const (
	minThresholdWindow = time.Second
	maxThresholdWindow = 24 * time.Hour
	maxThreshold       = 1_000_000
)

var thresholdKeys = []string{"filter", "exclude", "group_by", "threshold", "distinct", "window", "followed_by"}

// CompileThreshold parses and checks a threshold rule definition. Errors name
// the key at fault: `window: "5x" is not a duration`, `threshold must be >= 2`,
// `group_by: field "" is empty`.
func CompileThreshold(def []byte) (*ThresholdRule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("threshold rule: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("threshold rule: expected a mapping of filter, group_by, threshold and window")
	}
	root := doc.Content[0]
	r := &ThresholdRule{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i].Value, root.Content[i+1]
		if !slices.Contains(thresholdKeys, key) {
			return nil, fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(thresholdKeys, ", "))
		}
		seen[key] = true
		var err error
		switch key {
		case "filter":
			r.filter, err = parseConditions(key, value)
		case "exclude":
			r.exclude, err = parseConditions(key, value)
		case "followed_by":
			r.followedBy, err = parseConditions(key, value)
		case "group_by":
			r.groupBy, err = parseGroupBy(value)
		case "threshold":
			r.threshold, err = parseThreshold(value)
		case "distinct":
			if value.Kind != yaml.ScalarNode || strings.TrimSpace(value.Value) == "" {
				err = fmt.Errorf("distinct: field %q is empty", value.Value)
			}
			r.distinct = strings.TrimSpace(value.Value)
		case "window":
			r.window, err = parseWindow(value)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, required := range []string{"filter", "threshold", "window"} {
		if !seen[required] {
			return nil, fmt.Errorf("%s: missing", required)
		}
	}
	if slices.Contains(r.groupBy, r.distinct) && r.distinct != "" {
		return nil, fmt.Errorf("distinct: %q is also a group_by field, so it has one value per group", r.distinct)
	}
	return r, nil
}

func parseThreshold(n *yaml.Node) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil {
		return 0, fmt.Errorf("threshold: %q is not a whole number", n.Value)
	}
	if v < 2 {
		return 0, errors.New("threshold must be >= 2")
	}
	if v > maxThreshold {
		return 0, fmt.Errorf("threshold must be <= %d", maxThreshold)
	}
	return v, nil
}

func parseWindow(n *yaml.Node) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil {
		return 0, fmt.Errorf("window: %q is not a duration (e.g. 90s, 5m, 1h)", n.Value)
	}
	if d < minThresholdWindow || d > maxThresholdWindow {
		return 0, fmt.Errorf("window: %s is out of range (%s to %s)", d, minThresholdWindow, maxThresholdWindow)
	}
	return d, nil
}

func parseGroupBy(n *yaml.Node) ([]string, error) {
	var fields []string
	switch n.Kind {
	case yaml.ScalarNode:
		fields = []string{n.Value}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, errors.New("group_by: expected field names")
			}
			fields = append(fields, item.Value)
		}
	default:
		return nil, errors.New("group_by: expected a field name or a list of them")
	}
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("group_by: field %q is empty", fields[i])
		}
		if slices.Contains(fields[:i], f) {
			return nil, fmt.Errorf("group_by: field %q is listed twice", f)
		}
		fields[i] = f
	}
	return fields, nil
}

// condition is one "field|modifier: values" of filter, exclude or
// followed_by.
type condition struct {
	field    string
	modifier string // "", contains, startswith, endswith, cidr
	values   []string
	absent   bool // null among the values: the field may be absent
	prefixes []netip.Prefix
}

func parseConditions(section string, n *yaml.Node) ([]condition, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: expected a mapping of field: value", section)
	}
	if len(n.Content) == 0 {
		return nil, fmt.Errorf("%s: at least one condition is required", section)
	}
	var out []condition
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i].Value, n.Content[i+1]
		field, modifier, _ := strings.Cut(key, "|")
		c := condition{field: strings.TrimSpace(field), modifier: modifier}
		if c.field == "" {
			return nil, fmt.Errorf("%s: %q has no field name", section, key)
		}
		switch modifier {
		case "", "contains", "startswith", "endswith", "cidr":
		default:
			return nil, fmt.Errorf("%s: %q: unknown modifier %q (use contains, startswith, endswith or cidr)", section, key, modifier)
		}
		var items []*yaml.Node
		switch value.Kind {
		case yaml.ScalarNode:
			items = []*yaml.Node{value}
		case yaml.SequenceNode:
			items = value.Content
		default:
			return nil, fmt.Errorf("%s: %q: value must be a string, number, boolean, null or a list of them", section, key)
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("%s: %q: the list is empty", section, key)
		}
		for _, item := range items {
			if item.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: %q: value must be a string, number, boolean, null or a list of them", section, key)
			}
			if item.Tag == "!!null" {
				if modifier != "" {
					return nil, fmt.Errorf("%s: %q: null takes no modifier", section, key)
				}
				c.absent = true
				continue
			}
			if modifier == "cidr" {
				p, err := netip.ParsePrefix(item.Value)
				if err != nil {
					return nil, fmt.Errorf("%s: %q: %q is not a CIDR", section, key, item.Value)
				}
				c.prefixes = append(c.prefixes, p.Masked())
				continue
			}
			c.values = append(c.values, strings.ToLower(item.Value))
		}
		out = append(out, c)
	}
	return out, nil
}

// holds reports whether the condition holds for ev.
func (c *condition) holds(ev event.Event) bool {
	v, ok := thresholdField(ev, c.field)
	if !ok || v == nil {
		return c.absent
	}
	if list, isList := v.([]any); isList {
		for _, e := range list {
			if c.holdsValue(e) {
				return true
			}
		}
		return false
	}
	return c.holdsValue(v)
}

func (c *condition) holdsValue(v any) bool {
	s := valueString(v)
	if c.modifier == "cidr" {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		addr = addr.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(addr) {
				return true
			}
		}
		return false
	}
	s = strings.ToLower(s)
	for _, want := range c.values {
		switch c.modifier {
		case "contains":
			if strings.Contains(s, want) {
				return true
			}
		case "startswith":
			if strings.HasPrefix(s, want) {
				return true
			}
		case "endswith":
			if strings.HasSuffix(s, want) {
				return true
			}
		default:
			if s == want {
				return true
			}
		}
	}
	return false
}

// thresholdField reads an ECS path, then the same path in the original.
func thresholdField(ev event.Event, path string) (any, bool) {
	if v, ok := ev.Get(path); ok {
		return v, true
	}
	return event.Lookup(ev.Original, path)
}

func allHold(conds []condition, ev event.Event) bool {
	for i := range conds {
		if !conds[i].holds(ev) {
			return false
		}
	}
	return true
}

func (r *ThresholdRule) excluded(ev event.Event) bool {
	return len(r.exclude) > 0 && allHold(r.exclude, ev)
}

// Filter reports whether ev counts for the rule: filter holds, exclude does
// not, and ev is not a follow-up.
func (r *ThresholdRule) Filter(ev event.Event) bool {
	return allHold(r.filter, ev) && !r.excluded(ev) && !r.IsFollowUp(ev)
}

// IsFollowUp reports whether ev matches followed_by (false when the rule has
// none, or exclude holds).
func (r *ThresholdRule) IsFollowUp(ev event.Event) bool {
	return len(r.followedBy) > 0 && allHold(r.followedBy, ev) && !r.excluded(ev)
}

// GroupKey returns the group ev belongs to: a stable key and the values of
// the group_by fields. ok is false when a group_by field is missing or
// empty. Without group_by, every event is in the group "".
func (r *ThresholdRule) GroupKey(ev event.Event) (key string, values map[string]string, ok bool) {
	values = make(map[string]string, len(r.groupBy))
	parts := make([]string, 0, len(r.groupBy))
	for _, f := range r.groupBy {
		v, found := thresholdField(ev, f)
		s := groupValue(v)
		if !found || s == "" {
			return "", nil, false
		}
		values[f] = s
		parts = append(parts, f+"="+strconv.Quote(s))
	}
	return strings.Join(parts, " "), values, true
}

func groupValue(v any) string {
	if list, ok := v.([]any); ok {
		parts := make([]string, 0, len(list))
		for _, e := range list {
			if s := valueString(e); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return valueString(v)
}

// DistinctValue returns the value of the distinct field for ev (false when
// the rule counts events, or ev lacks the field). Values compare exactly.
func (r *ThresholdRule) DistinctValue(ev event.Event) (string, bool) {
	if r.distinct == "" {
		return "", false
	}
	v, ok := thresholdField(ev, r.distinct)
	s := groupValue(v)
	return s, ok && s != ""
}

// Hit is what the caller stores for an event that counts for the rule or
// follows up on it (see ThresholdRule.Hit).
type Hit struct {
	At       time.Time
	EventID  string
	Distinct string // the distinct field's value (distinct rules)
	FollowUp bool   // the event matched followed_by
}

// Hit returns the hit to store for ev, which must pass Filter or IsFollowUp.
func (r *ThresholdRule) Hit(ev event.Event) Hit {
	d, _ := r.DistinctValue(ev)
	return Hit{At: ev.Timestamp, EventID: ev.ID, Distinct: d, FollowUp: r.IsFollowUp(ev)}
}

// Burst is a run of hits of one group that reached the threshold.
type Burst struct {
	From, To time.Time
	// Count is the number of counted hits (follow-ups excluded).
	Count int
	// EventIDs are the ids of every hit in the burst, follow-ups included,
	// in time order.
	EventIDs []string
	// Distinct are the distinct values counted (distinct rules), sorted.
	Distinct []string
	// FollowUps are the ids of the follow-up events (followed_by rules).
	FollowUps []string
}

// Window is the rule's window width.
func (r *ThresholdRule) Window() time.Duration { return r.window }

// Threshold is how many events (or distinct values) a window needs.
func (r *ThresholdRule) Threshold() int { return r.threshold }

// GroupBy returns the group_by fields.
func (r *ThresholdRule) GroupBy() []string { return slices.Clone(r.groupBy) }

// Distinct is the field whose distinct values are counted, "" when events
// are.
func (r *ThresholdRule) Distinct() string { return r.distinct }

// HasFollowUp reports whether the rule has followed_by.
func (r *ThresholdRule) HasFollowUp() bool { return len(r.followedBy) > 0 }

// Evaluate finds the bursts among the hits of one group.
//
// A window is any span of event time shorter than r.Window(): hits at t1 <=
// t2 share a window when t2-t1 < Window. Windows slide (every hit starts
// one), so a burst across what tumbling buckets would split is found.
// Hits may come in any order; Evaluate sorts them and keeps one hit per
// non-empty EventID.
//
// Only windows holding at least one hit whose EventID is in fresh are
// considered (nil fresh means every hit is fresh): the caller passes the
// newly arrived hits as fresh together with the stored hits within one
// window of them, so a late event re-opens its neighbourhood and an old
// burst is not reported again unless a new hit joins it. Qualifying windows
// that share hits merge into one Burst: a stream of 100 failures is one
// burst, not 90.
//
// With distinct, a window qualifies when it holds threshold distinct
// values; hits without a value do not count. With followed_by, a burst is
// reported at a follow-up event preceded (at or before it, within the
// window) by threshold counted hits; follow-ups whose counted hits overlap
// merge into one burst.
func (r *ThresholdRule) Evaluate(hits []Hit, fresh map[string]bool) []Burst {
	hs := prepareHits(hits, r.distinct != "")
	isFresh := func(h Hit) bool { return fresh == nil || (h.EventID != "" && fresh[h.EventID]) }
	if r.HasFollowUp() {
		return r.evaluateSequence(hs, isFresh)
	}
	var counted []Hit
	for _, h := range hs {
		if !h.FollowUp {
			counted = append(counted, h)
		}
	}
	return r.evaluateCount(counted, isFresh)
}

// prepareHits sorts by time then id, drops repeated ids and, for distinct
// rules, counted hits without a value.
func prepareHits(hits []Hit, distinct bool) []Hit {
	hs := make([]Hit, 0, len(hits))
	for _, h := range hits {
		if distinct && !h.FollowUp && h.Distinct == "" {
			continue
		}
		hs = append(hs, h)
	}
	slices.SortStableFunc(hs, func(a, b Hit) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	seen := make(map[string]bool, len(hs))
	out := hs[:0]
	for _, h := range hs {
		if h.EventID != "" {
			if seen[h.EventID] {
				continue
			}
			seen[h.EventID] = true
		}
		out = append(out, h)
	}
	return out
}

// windowCounter counts hits, or distinct values, in a sliding range.
type windowCounter struct {
	distinct bool
	events   int
	values   map[string]int
}

func (c *windowCounter) add(h Hit) {
	c.events++
	if c.distinct {
		c.values[h.Distinct]++
	}
}

func (c *windowCounter) remove(h Hit) {
	c.events--
	if c.distinct {
		if c.values[h.Distinct]--; c.values[h.Distinct] == 0 {
			delete(c.values, h.Distinct)
		}
	}
}

func (c *windowCounter) value() int {
	if c.distinct {
		return len(c.values)
	}
	return c.events
}

// evaluateCount slides a window over the counted hits: for each hit j, the
// widest window ending at j starts at the first hit i with t_j-t_i < window.
// Every qualifying window is inside such a widest one, which then qualifies
// too, so merging the qualifying widest windows that hold a fresh hit and
// share hits gives the bursts.
func (r *ThresholdRule) evaluateCount(hs []Hit, isFresh func(Hit) bool) []Burst {
	freshBefore := freshPrefix(hs, isFresh)
	counter := &windowCounter{distinct: r.distinct != "", values: map[string]int{}}
	var bursts []Burst
	lo, hi := -1, -1
	i := 0
	for j := range hs {
		counter.add(hs[j])
		for hs[j].At.Sub(hs[i].At) >= r.window {
			counter.remove(hs[i])
			i++
		}
		if counter.value() < r.threshold || freshBefore[j+1]-freshBefore[i] == 0 {
			continue
		}
		if lo >= 0 && i <= hi {
			hi = j
			continue
		}
		if lo >= 0 {
			bursts = append(bursts, r.burst(hs[lo:hi+1], nil))
		}
		lo, hi = i, j
	}
	if lo >= 0 {
		bursts = append(bursts, r.burst(hs[lo:hi+1], nil))
	}
	return bursts
}

// evaluateSequence reports, at each follow-up, the counted hits at or
// before it within the window when they reach the threshold.
func (r *ThresholdRule) evaluateSequence(hs []Hit, isFresh func(Hit) bool) []Burst {
	var counted, follow []Hit
	for _, h := range hs {
		if h.FollowUp {
			follow = append(follow, h)
		} else {
			counted = append(counted, h)
		}
	}
	freshBefore := freshPrefix(counted, isFresh)
	counter := &windowCounter{distinct: r.distinct != "", values: map[string]int{}}
	var bursts []Burst
	lo, hi := -1, -1 // counted hits of the current burst
	var followUps []Hit
	i, j := 0, 0 // counted[i:j] precede the current follow-up within the window
	for _, u := range follow {
		for j < len(counted) && !counted[j].At.After(u.At) {
			counter.add(counted[j])
			j++
		}
		for i < j && u.At.Sub(counted[i].At) >= r.window {
			counter.remove(counted[i])
			i++
		}
		if counter.value() < r.threshold || (!isFresh(u) && freshBefore[j]-freshBefore[i] == 0) {
			continue
		}
		if lo >= 0 && i <= hi {
			hi = j - 1
			followUps = append(followUps, u)
			continue
		}
		if lo >= 0 {
			bursts = append(bursts, r.burst(counted[lo:hi+1], followUps))
		}
		lo, hi, followUps = i, j-1, []Hit{u}
	}
	if lo >= 0 {
		bursts = append(bursts, r.burst(counted[lo:hi+1], followUps))
	}
	return bursts
}

func freshPrefix(hs []Hit, isFresh func(Hit) bool) []int {
	out := make([]int, len(hs)+1)
	for i, h := range hs {
		out[i+1] = out[i]
		if isFresh(h) {
			out[i+1]++
		}
	}
	return out
}

// burst describes counted hits (sorted) and the follow-ups that closed them.
func (r *ThresholdRule) burst(counted, followUps []Hit) Burst {
	b := Burst{From: counted[0].At, To: counted[len(counted)-1].At, Count: len(counted)}
	all := append(slices.Clone(counted), followUps...)
	slices.SortStableFunc(all, func(a, b Hit) int { return a.At.Compare(b.At) })
	for _, h := range all {
		b.EventIDs = append(b.EventIDs, h.EventID)
	}
	for _, u := range followUps {
		b.FollowUps = append(b.FollowUps, u.EventID)
		if u.At.After(b.To) {
			b.To = u.At
		}
	}
	if r.distinct != "" {
		for _, h := range counted {
			b.Distinct = append(b.Distinct, h.Distinct)
		}
		slices.Sort(b.Distinct)
		b.Distinct = slices.Compact(b.Distinct)
	}
	return b
}
