package detect

import (
	"context"
	"slices"
	"sync"

	"github.com/vigilhq/vigil/internal/event"
)

// SigmaSet is a compiled set of Sigma rules indexed by logsource. It is
// immutable and safe for concurrent use.
//
// An event meets only the rules whose logsource can apply to it (see
// LogsourceOf). Within a logsource, rules are further indexed by an anchor
// when they have one, a value the event must hold for the rule to match
// ("Image ends with \certutil.exe", "OriginalFileName is CertUtil.exe"):
// an event meets the anchored rules its own values point at, and the rules
// without an anchor. Then each rule's prefilter, then sigma-go, decides.
type SigmaSet struct {
	rules []*SigmaRule
	// byLogsource holds the rules under their exact (product, category,
	// service); empty attributes are wildcards, so an event looks up every
	// combination of its values and "".
	byLogsource map[Logsource]*ruleBucket
	flats       sync.Pool
}

// ruleBucket is the rules of one logsource, indexed by anchor.
type ruleBucket struct {
	all        []int // every rule, in set order
	unanchored []int
	// anchorFields are the (field, kind) pairs anchored rules use, each
	// with its rules by anchor value. Substring anchors are filed under one
	// gram of their value, the rarest among the bucket's substring values.
	anchorFields []*anchorField
}

type anchorField struct {
	field fieldRef
	kind  anchorKind
	rules map[string][]int
}

func (b *ruleBucket) anchorField(f fieldRef, kind anchorKind) *anchorField {
	for _, af := range b.anchorFields {
		if af.field.key == f.key && af.kind == kind {
			return af
		}
	}
	af := &anchorField{field: f, kind: kind, rules: map[string][]int{}}
	b.anchorFields = append(b.anchorFields, af)
	return af
}

// SigmaMatch is a rule that matched an event.
type SigmaMatch struct{ Rule *SigmaRule }

// NewSigmaSet indexes rules. Nil rules are ignored.
func NewSigmaSet(rules []*SigmaRule) *SigmaSet {
	s := &SigmaSet{byLogsource: map[Logsource]*ruleBucket{}}
	anchorsOf := map[int][]anchor{}
	for _, r := range rules {
		if r == nil {
			continue
		}
		i := len(s.rules)
		s.rules = append(s.rules, r)
		b := s.byLogsource[r.Logsource]
		if b == nil {
			b = &ruleBucket{}
			s.byLogsource[r.Logsource] = b
		}
		b.all = append(b.all, i)
		if r.pre == nil {
			b.unanchored = append(b.unanchored, i)
			continue
		}
		anchors, ok := r.pre.anchors()
		if !ok {
			b.unanchored = append(b.unanchored, i)
			continue
		}
		anchorsOf[i] = anchors
	}
	for _, b := range s.byLogsource {
		b.index(anchorsOf)
	}
	s.flats.New = func() any { return map[string]any{} }
	return s
}

// index files the bucket's anchored rules under their anchors. A substring
// anchor is filed under the gram of its value that fewest other substring
// values of the field share, so an event's grams hit few rules.
func (b *ruleBucket) index(anchorsOf map[int][]anchor) {
	gramValues := map[string]map[string]int{} // field key → gram → values having it
	for _, i := range b.all {
		seen := map[string]bool{}
		for _, a := range anchorsOf[i] {
			if a.kind != anchorSubstring || seen[a.field.key+"\x00"+a.value] {
				continue
			}
			seen[a.field.key+"\x00"+a.value] = true
			counts := gramValues[a.field.key]
			if counts == nil {
				counts = map[string]int{}
				gramValues[a.field.key] = counts
			}
			for g := range grams(a.value) {
				counts[g]++
			}
		}
	}
	for _, i := range b.all {
		for _, a := range anchorsOf[i] {
			value := a.value
			if a.kind == anchorSubstring {
				counts := gramValues[a.field.key]
				best := ""
				for g := range grams(a.value) {
					if best == "" || counts[g] < counts[best] {
						best = g
					}
				}
				value = best
			}
			af := b.anchorField(a.field, a.kind)
			if list := af.rules[value]; len(list) == 0 || list[len(list)-1] != i {
				af.rules[value] = append(list, i)
			}
		}
	}
}

// grams yields the distinct gramSize-byte substrings of s, in order.
func grams(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for i := 0; i+gramSize <= len(s); i++ {
			g := s[i : i+gramSize]
			if seen[g] {
				continue
			}
			seen[g] = true
			if !yield(g) {
				return
			}
		}
	}
}

// Len is the number of rules in the set.
func (s *SigmaSet) Len() int { return len(s.rules) }

// Rules returns the set's rules in the order given to NewSigmaSet.
func (s *SigmaSet) Rules() []*SigmaRule { return append([]*SigmaRule(nil), s.rules...) }

// Candidates returns the rules whose logsource can apply to ev, in set
// order: no other rule is evaluated for ev.
func (s *SigmaSet) Candidates(ev event.Event) []*SigmaRule {
	var idx []int
	for _, b := range s.buckets(LogsourceOf(ev)) {
		idx = append(idx, b.all...)
	}
	slices.Sort(idx)
	out := make([]*SigmaRule, len(idx))
	for i, j := range idx {
		out[i] = s.rules[j]
	}
	return out
}

// buckets returns the buckets of every logsource that applies to src.
func (s *SigmaSet) buckets(src EventSource) []*ruleBucket {
	products := []string{""}
	if src.Product != "" {
		products = append(products, src.Product)
	}
	var out []*ruleBucket
	for _, p := range products {
		for ci := -1; ci < len(src.Categories); ci++ {
			c := ""
			if ci >= 0 {
				c = src.Categories[ci]
			}
			for si := -1; si < len(src.Services); si++ {
				sv := ""
				if si >= 0 {
					sv = src.Services[si]
				}
				if b := s.byLogsource[Logsource{Product: p, Category: c, Service: sv}]; b != nil {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// Match returns the rules that match ev, in set order. Only rules whose
// logsource can apply to ev are evaluated. When ctx ends it stops between
// rules: the caller must then treat the result as incomplete (check
// ctx.Err()).
func (s *SigmaSet) Match(ctx context.Context, ev event.Event) []SigmaMatch {
	buckets := s.buckets(LogsourceOf(ev))
	if len(buckets) == 0 {
		return nil
	}
	flat := s.flats.Get().(map[string]any)
	defer func() {
		clear(flat)
		s.flats.Put(flat)
	}()

	var idx []int
	for _, b := range buckets {
		idx = append(idx, b.unanchored...)
		for _, af := range b.anchorFields {
			v, ok := flat[af.field.key]
			if !ok {
				v = af.field.compute(ev)
				flat[af.field.key] = v
			}
			switch x := v.(type) {
			case string:
				idx = af.anchoredBy(idx, x)
			case []any:
				for _, e := range x {
					if s, ok := e.(string); ok {
						idx = af.anchoredBy(idx, s)
					}
				}
			}
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)

	var matches []SigmaMatch
	for n, i := range idx {
		if n%64 == 0 && ctx.Err() != nil {
			return matches
		}
		if r := s.rules[i]; r.matchFlat(ctx, flat, ev) {
			matches = append(matches, SigmaMatch{Rule: r})
		}
	}
	return matches
}

// anchoredBy appends the rules an event value points at through af.
func (af *anchorField) anchoredBy(idx []int, value string) []int {
	switch af.kind {
	case anchorSegment:
		return append(idx, af.rules[lastSegment(value)]...)
	case anchorSubstring:
		for i := 0; i+gramSize <= len(value); i++ {
			idx = append(idx, af.rules[value[i:i+gramSize]]...)
		}
		return idx
	}
	return append(idx, af.rules[value]...)
}

// matchFlat runs the prefilter, then sigma-go, filling flat with the fields
// they read.
func (r *SigmaRule) matchFlat(ctx context.Context, flat map[string]any, ev event.Event) bool {
	if r.pre != nil && !r.pre.pass(flat, ev) {
		return false
	}
	for _, f := range r.fields {
		if _, done := flat[f.key]; !done {
			flat[f.key] = f.compute(ev)
		}
	}
	res, err := r.eval.Matches(ctx, flat)
	// Compilation ran the evaluator once, so an error here cannot come from
	// the rule; a rule that cannot be evaluated does not match.
	return err == nil && res.Match
}

// Matches reports whether the rule matches ev, whatever ev's logsource: for
// trying a rule on its own. SigmaSet.Match also checks the logsource.
func (r *SigmaRule) Matches(ctx context.Context, ev event.Event) bool {
	return r.matchFlat(ctx, make(map[string]any, len(r.fields)), ev)
}
