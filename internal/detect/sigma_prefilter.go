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
	required [][]string
}

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
	return c, true
}

// requiredLiterals returns literals every match of the expression contains:
// those of its top-level concatenation. Case-folded literals count only on
// lower-cased fields, lower-cased.
func requiredLiterals(expr string, f fieldRef) []string {
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
	var out []string
	for _, p := range parts {
		if p.Op != syntax.OpLiteral || len(p.Rune) < 2 {
			continue
		}
		lit := string(p.Rune)
		if p.Flags&syntax.FoldCase != 0 {
			if f.raw {
				continue
			}
			lit = strings.ToLower(lit)
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

func (c *quickCheck) holdsOne(i int, actual string) bool {
	if c.comparator == "re" {
		for _, lit := range c.required[i] {
			if !strings.Contains(actual, lit) {
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

// anchors of one check: equality gives its values; endswith gives the last
// path segment of values that contain a separator (if v ends with
// "\powershell.exe", its last segment is "powershell.exe"); contains gives
// its values when each is at least gramSize long.
func (c *quickCheck) anchors() ([]anchor, bool) {
	values := c.values
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
			out = append(out, anchor{field: c.field, kind: anchorExact, value: v})
		case "endswith":
			i := strings.LastIndexAny(v, `\/`)
			if i < 0 {
				return nil, false
			}
			out = append(out, anchor{field: c.field, kind: anchorSegment, value: v[i+1:]})
		case "contains":
			if len(v) < gramSize {
				return nil, false
			}
			out = append(out, anchor{field: c.field, kind: anchorSubstring, value: v})
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
