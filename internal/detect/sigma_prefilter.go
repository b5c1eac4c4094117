package detect

import (
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/vigilhq/vigil/internal/event"
)

// sigma-go evaluates every selection of a rule and allocates on every field
// comparison (it builds the comparator, the expected values and the actual
// values each time, and compiles regular expressions per comparison): over a
// thousand process_creation rules cost milliseconds per event. Most rules
// fail on a cheap comparison ("Image ends with \certutil.exe"), so each rule
// gets a prefilter: the positive part of its condition, evaluated without
// allocating over the same flattened event, before sigma-go runs the rule.
//
// The prefilter over-approximates the rule: "not x" counts as true, as does
// a field comparison it cannot make (cidr, gt...). So a rule whose prefilter
// fails cannot match, and sigma-go's verdict stays the only one that makes
// a match. TestPrefilterNeverHidesAMatch holds it to that.

// preNode is a node of a prefilter: and, or, or a conjunction of checks.
type preNode struct {
	op     preOp
	kids   []*preNode
	checks []quickCheck // preChecks: all must hold
}

type preOp uint8

const (
	preTrue preOp = iota
	preAnd
	preOr
	preChecks
)

// quickCheck is one field comparison, as sigma-go's case-sensitive
// comparators make it (equality ignores case).
type quickCheck struct {
	field      fieldRef
	comparator string // "", contains, startswith, endswith, re
	all        bool   // every value must hold, else any
	values     []string
	regexps    []*regexp.Regexp // re
	// required holds, per regular expression, literals any match contains:
	// tested before the expression, which costs far more.
	required [][]literal
	// starts, for contains checks with many values, marks how the values
	// begin: a string holding no such beginning contains none of the values,
	// found in one pass (lists of emoji or lookalike letters run to hundreds
	// of values that plain text never holds).
	starts *valueStarts
}

// literal is text a regular expression's matches contain; fold: compared
// ignoring ASCII case (a case-folded literal on a raw field).
type literal struct {
	text string
	fold bool
}

// valueStarts marks the first byte of one-byte values and the first two
// bytes of longer ones.
type valueStarts struct {
	single [256]bool
	pair   [65536 / 64]uint64
}

func (v *valueStarts) add(s string) {
	if len(s) == 1 {
		v.single[s[0]] = true
		return
	}
	p := uint16(s[0])<<8 | uint16(s[1])
	v.pair[p/64] |= 1 << (p % 64)
}

// in reports whether text holds the start of a value.
func (v *valueStarts) in(text string) bool {
	for i := 0; i < len(text); i++ {
		if v.single[text[i]] {
			return true
		}
		if i+1 < len(text) {
			p := uint16(text[i])<<8 | uint16(text[i+1])
			if v.pair[p/64]&(1<<(p%64)) != 0 {
				return true
			}
		}
	}
	return false
}

// manyValues is the size from which a contains check tests first bytes
// before its values.
const manyValues = 16

// buildPrefilter derives the prefilter of a normalised rule, nil when it
// would always pass.
func buildPrefilter(rule sigma.Rule, fields []fieldRef) *preNode {
	byKey := make(map[string]fieldRef, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
	}
	b := prefilterBuilder{rule: rule, byKey: byKey, selections: map[string]*preNode{}}
	var conditions []*preNode
	for _, c := range rule.Detection.Conditions {
		conditions = append(conditions, b.node(c.Search))
	}
	root := simplify(&preNode{op: preOr, kids: conditions})
	if root.op == preTrue {
		return nil
	}
	return root
}

type prefilterBuilder struct {
	rule       sigma.Rule
	byKey      map[string]fieldRef
	selections map[string]*preNode
}

func (b *prefilterBuilder) node(expr sigma.SearchExpr) *preNode {
	switch e := expr.(type) {
	case sigma.SearchIdentifier:
		return b.selection(e.Name)
	case sigma.Or:
		n := &preNode{op: preOr}
		for _, sub := range e {
			n.kids = append(n.kids, b.node(sub))
		}
		return simplify(n)
	case sigma.And:
		n := &preNode{op: preAnd}
		for _, sub := range e {
			n.kids = append(n.kids, b.node(sub))
		}
		return simplify(n)
	case sigma.OneOfThem:
		n := &preNode{op: preOr}
		for _, name := range b.names() {
			n.kids = append(n.kids, b.selection(name))
		}
		return simplify(n)
	case sigma.AllOfThem:
		n := &preNode{op: preAnd}
		for _, name := range b.names() {
			n.kids = append(n.kids, b.selection(name))
		}
		return simplify(n)
	}
	// Not, and anything else: may be true.
	return &preNode{op: preTrue}
}

func (b *prefilterBuilder) names() []string {
	names := make([]string, 0, len(b.rule.Detection.Searches))
	for name := range b.rule.Detection.Searches {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// selection: any of its matcher maps, each needing all its checkable fields.
func (b *prefilterBuilder) selection(name string) *preNode {
	if n, ok := b.selections[name]; ok {
		return n
	}
	search, ok := b.rule.Detection.Searches[name]
	n := &preNode{op: preTrue}
	// sigma-go takes a selection without matcher maps as true.
	if ok && len(search.EventMatchers) > 0 {
		or := &preNode{op: preOr}
		for _, em := range search.EventMatchers {
			conj := &preNode{op: preChecks}
			for _, fm := range em {
				if c, ok := b.check(fm); ok {
					conj.checks = append(conj.checks, c)
				}
			}
			if len(conj.checks) == 0 {
				conj.op = preTrue
			}
			sortChecks(conj.checks)
			or.kids = append(or.kids, conj)
		}
		n = simplify(or)
	}
	b.selections[name] = n
	return n
}

// sortChecks puts the cheapest checks first, so a failing conjunction
// usually fails on its cheapest comparison.
func sortChecks(checks []quickCheck) {
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].cost() < checks[j].cost() })
}

// cost estimates what a check costs: comparisons weighted by kind.
func (c *quickCheck) cost() int {
	switch c.comparator {
	case "":
		return 1 * len(c.values)
	case "startswith", "endswith":
		return 2 * len(c.values)
	case "contains":
		return 8 * len(c.values)
	}
	return 40 * len(c.regexps)
}

// cost estimates what evaluating n costs when it fails early.
func (n *preNode) cost() int {
	switch n.op {
	case preChecks:
		return n.checks[0].cost()
	case preAnd:
		c := n.kids[0].cost()
		for _, k := range n.kids[1:] {
			c = min(c, k.cost())
		}
		return c
	case preOr:
		c := 0
		for _, k := range n.kids {
			c += k.cost()
		}
		return c
	}
	return 0
}

// check turns a normalised field matcher into a quick check when its
// comparison is one the prefilter makes.
func (b *prefilterBuilder) check(fm sigma.FieldMatcher) (quickCheck, bool) {
	f, ok := b.byKey[fm.Field]
	if !ok || len(fm.Values) == 0 {
		return quickCheck{}, false
	}
	c := quickCheck{field: f}
	mods := fm.Modifiers
	if len(mods) > 0 && mods[len(mods)-1] == "all" {
		c.all, mods = true, mods[:len(mods)-1]
	}
	switch len(mods) {
	case 0:
	case 1:
		c.comparator = mods[0]
		switch c.comparator {
		case "contains", "startswith", "endswith", "re":
		default:
			return quickCheck{}, false
		}
	default:
		return quickCheck{}, false
	}
	for _, v := range fm.Values {
		s, ok := v.(string)
		if !ok {
			return quickCheck{}, false
		}
		if c.comparator == "re" {
			re, err := regexp.Compile(s)
			if err != nil {
				return quickCheck{}, false
			}
			c.regexps = append(c.regexps, re)
			c.required = append(c.required, requiredLiterals(s, f))
			continue
		}
		c.values = append(c.values, s)
	}
	if c.comparator == "contains" && !c.all && len(c.values) >= manyValues {
		c.starts = new(valueStarts)
		for _, v := range c.values {
			if v == "" {
				c.starts = nil // "" is in every string
				break
			}
			c.starts.add(v)
		}
	}
	return c, true
}

// requiredLiterals returns literals every match of the expression contains:
// those of its top-level concatenation. Case-folded literals count only on
// lower-cased fields, lower-cased.
func requiredLiterals(expr string, f fieldRef) []literal {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	var out []literal
	for _, p := range parts {
		if p.Op != syntax.OpLiteral || len(p.Rune) < 2 {
			continue
		}
		lit := literal{text: string(p.Rune)}
		if p.Flags&syntax.FoldCase != 0 {
			if !isASCII(lit.text) {
				continue // Unicode folding is more than lower-casing
			}
			lit.text = strings.ToLower(lit.text)
			// A lower-cased field holds lower-case text already.
			lit.fold = f.raw
		}
		out = append(out, lit)
	}
	return out
}

// simplify folds constant kids: true in an or makes it true, true in an and
// is dropped; single kids replace their parent.
func simplify(n *preNode) *preNode {
	switch n.op {
	case preOr:
		for _, k := range n.kids {
			if k.op == preTrue {
				return &preNode{op: preTrue}
			}
		}
	case preAnd:
		kept := n.kids[:0:0]
		for _, k := range n.kids {
			if k.op != preTrue {
				kept = append(kept, k)
			}
		}
		if len(kept) == 0 {
			return &preNode{op: preTrue}
		}
		// Cheapest conjunct first: it usually decides.
		sort.SliceStable(kept, func(i, j int) bool { return kept[i].cost() < kept[j].cost() })
		n.kids = kept
	default:
		return n
	}
	if len(n.kids) == 1 {
		return n.kids[0]
	}
	return n
}

// pass evaluates the prefilter on the flattened event, computing into flat
// the fields it reads.
func (n *preNode) pass(flat map[string]any, ev event.Event) bool {
	switch n.op {
	case preAnd:
		for _, k := range n.kids {
			if !k.pass(flat, ev) {
				return false
			}
		}
		return true
	case preOr:
		for _, k := range n.kids {
			if k.pass(flat, ev) {
				return true
			}
		}
		return false
	case preChecks:
		for i := range n.checks {
			c := &n.checks[i]
			v, ok := flat[c.field.key]
			if !ok {
				v = c.field.compute(ev)
				flat[c.field.key] = v
			}
			if !c.holds(v) {
				return false
			}
		}
		return true
	}
	return true
}

// holds applies the check to a flattened value (a string or a list of
// strings): like sigma-go, each expected value is compared with each actual.
func (c *quickCheck) holds(v any) bool {
	if c.starts != nil && !c.mayContain(v) {
		return false
	}
	n := len(c.values) + len(c.regexps)
	for i := 0; i < n; i++ {
		matched := false
		switch x := v.(type) {
		case string:
			matched = c.holdsOne(i, x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok && c.holdsOne(i, s) {
					matched = true
					break
				}
			}
		}
		if matched && !c.all {
			return true
		}
		if !matched && c.all {
			return false
		}
	}
	return c.all
}

// mayContain reports whether a flattened value holds one of the values'
// first bytes.
func (c *quickCheck) mayContain(v any) bool {
	switch x := v.(type) {
	case string:
		return c.starts.in(x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && c.mayContain(s) {
				return true
			}
		}
	}
	return false
}

func (c *quickCheck) holdsOne(i int, actual string) bool {
	if c.comparator == "re" {
		for _, lit := range c.required[i] {
			if lit.fold && !containsFoldASCII(actual, lit.text) || !lit.fold && !strings.Contains(actual, lit.text) {
				return false
			}
		}
		return c.regexps[i].MatchString(actual)
	}
	want := c.values[i]
	switch c.comparator {
	case "contains":
		return strings.Contains(actual, want)
	case "startswith":
		return strings.HasPrefix(actual, want)
	case "endswith":
		return strings.HasSuffix(actual, want)
	default:
		return strings.EqualFold(actual, want)
	}
}

// anchor is an indexable necessary condition: the rule can match only if
// the flattened field equals value (anchorExact), its last path segment,
// after the last \ or /, equals value (anchorSegment), or it contains value
// (anchorSubstring, indexed by one of the value's 4-byte grams).
type anchor struct {
	field fieldRef
	kind  anchorKind
	value string
}

type anchorKind uint8

const (
	anchorExact anchorKind = iota
	anchorSegment
	anchorSubstring
)

// gramSize is the length of the substrings substring anchors are indexed by.
const gramSize = 4

// anchors returns comparisons of which at least one holds whenever n
// passes, each answerable by a map lookup; false when there are none.
func (n *preNode) anchors() ([]anchor, bool) {
	switch n.op {
	case preChecks:
		var best []anchor
		found := false
		for i := range n.checks {
			a, ok := n.checks[i].anchors()
			if ok && (!found || anchorCost(a) < anchorCost(best)) {
				best, found = a, true
			}
		}
		return best, found
	case preAnd:
		var best []anchor
		found := false
		for _, k := range n.kids {
			a, ok := k.anchors()
			if ok && (!found || anchorCost(a) < anchorCost(best)) {
				best, found = a, true
			}
		}
		return best, found
	case preOr:
		var out []anchor
		for _, k := range n.kids {
			a, ok := k.anchors()
			if !ok {
				return nil, false
			}
			out = append(out, a...)
		}
		return out, true
	}
	return nil, false
}

// anchorCost prefers few, exact anchors: substrings hit more often.
func anchorCost(list []anchor) int {
	c := 0
	for _, a := range list {
		switch a.kind {
		case anchorExact:
			c++
		case anchorSegment:
			c += 2
		default:
			c += 4
		}
	}
	return c
}

// anchors of one check (values are lower-cased on both sides, so the
// Unicode folds strings.EqualFold adds, such as ſ for s, are not honoured
// by the index): equality gives its values; endswith gives the last
// path segment of values that contain a separator (if v ends with
// "\powershell.exe", its last segment is "powershell.exe"); contains gives
// its values when each is at least gramSize long, re the literals its
// matches contain.
func (c *quickCheck) anchors() ([]anchor, bool) {
	values := c.values
	field := c.field
	if c.comparator == "re" {
		// A regular expression anchors by the longest literal every match
		// contains; a case-folded one on a raw field anchors on the
		// lower-cased field.
		values = nil
		for i, lits := range c.required {
			var longest literal
			for _, l := range lits {
				if len(l.text) > len(longest.text) {
					longest = l
				}
			}
			if len(longest.text) < gramSize {
				return nil, false
			}
			f := c.field
			if longest.fold {
				f = lowerRef(c.field)
			}
			if i > 0 && f != field {
				return nil, false // values anchored on two fields: rare, left unanchored
			}
			field = f
			values = append(values, longest.text)
		}
	}
	if c.all && len(values) > 0 {
		// Each value must hold, so any one is necessary: take the longest.
		longest := values[0]
		for _, v := range values[1:] {
			if len(v) > len(longest) {
				longest = v
			}
		}
		values = []string{longest}
	}
	if len(values) == 0 {
		return nil, false
	}
	out := make([]anchor, 0, len(values))
	for _, v := range values {
		switch c.comparator {
		case "":
			out = append(out, anchor{field: field, kind: anchorExact, value: v})
		case "endswith":
			i := strings.LastIndexAny(v, `\/`)
			if i < 0 {
				return nil, false
			}
			out = append(out, anchor{field: field, kind: anchorSegment, value: v[i+1:]})
		case "contains", "re":
			if len(v) < gramSize {
				return nil, false
			}
			out = append(out, anchor{field: field, kind: anchorSubstring, value: v})
		default:
			return nil, false
		}
	}
	return out, true
}

// lastSegment is what a segment anchor compares: the text after the last
// \ or /.
func lastSegment(s string) string {
	return s[strings.LastIndexAny(s, `\/`)+1:]
}

// lowerRef is the lower-cased counterpart of a raw field.
func lowerRef(f fieldRef) fieldRef {
	if f.kind == fieldKeywords {
		return keywordRef(false)
	}
	return plainRef(f.name, false)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether s contains lower (lower-case ASCII)
// ignoring ASCII case.
func containsFoldASCII(s, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}
