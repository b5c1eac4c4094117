package detect

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/bradleyjkemp/sigma-go"
	"gopkg.in/yaml.v3"
)

// sigma-go v0.6.6 parses the whole Sigma grammar but its evaluator runs only
// part of it. What it lacks, normalise supplies by rewriting a parsed rule
// into what the evaluator does run, before the evaluator sees it:
//
//   - Condition patterns with digits ("1 of selection_1_*", "all of set1*")
//     do not lex, and "1 of <name>" panics at evaluation: conditions are
//     rewritten with explicit names ("them" leaving out _names), selections
//     renamed s0, s1... so any selection name parses, and unknown names are
//     reported rather than read as false.
//   - Values written %like-this% are taken for placeholders even without
//     |expand: an expander gives them back as literals (sigma.go).
//   - Wildcards (* and ?, escaped with \) are compared literally: values
//     become contains/startswith/endswith when the wildcards are at the ends,
//     an anchored regular expression otherwise.
//   - Keyword lists fail ("keywords unsupported"): they match the event's
//     text (see keywordText) through a synthetic field.
//   - windash, base64offset, utf16le/utf16be/utf16/wide, cased, exists,
//     fieldref and re's i/m/s flags are unknown to it: values are expanded at
//     compile time, or the check becomes a synthetic field the flattened
//     event answers (exists, fieldref).
//   - null values make Matches fail: they become "field does not exist".
//   - Lists in events are compared only through field mappings, so every
//     field gets an identity mapping (identityMappings).
//   - Aggregations need a counting backend and a timeframe sigma-go cannot
//     even parse: they are refused (use a THRESHOLD rule).

// maxAlternatives bounds how many matchers one selection may expand into
// (windash and mixed wildcard values multiply them).
const maxAlternatives = 512

var conditionToken = regexp.MustCompile(`\(|\)|[^\s()]+`)

// prepareDetection renames the selections of a detection node to s0, s1...
// and rewrites its condition(s) to use the new names, with "1 of"/"all of"
// spelled out. It returns the original name of each alias.
func prepareDetection(detection *yaml.Node) (map[string]string, error) {
	if detection.Kind != yaml.MappingNode {
		return nil, errors.New("detection: expected a mapping of selections and a condition")
	}
	alias := map[string]string{}
	original := map[string]string{}
	var names []string
	var conditions []*yaml.Node
	for i := 0; i+1 < len(detection.Content); i += 2 {
		key, value := detection.Content[i], detection.Content[i+1]
		switch key.Value {
		case "condition":
			conditions = append(conditions, value)
		case "timeframe":
			return nil, unsupported("aggregation conditions are not supported: use a THRESHOLD rule (timeframe)")
		default:
			if _, dup := alias[key.Value]; dup {
				return nil, fmt.Errorf("detection: selection %q is defined twice", key.Value)
			}
			a := "s" + strconv.Itoa(len(names))
			alias[key.Value] = a
			original[a] = key.Value
			names = append(names, key.Value)
			key.Value = a
		}
	}
	if len(conditions) == 0 {
		return nil, errors.New("detection: condition missing")
	}
	for _, c := range conditions {
		switch c.Kind {
		case yaml.ScalarNode:
			rewritten, err := rewriteCondition(c.Value, names, alias)
			if err != nil {
				return nil, err
			}
			c.Value = rewritten
		case yaml.SequenceNode:
			for _, item := range c.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, errors.New("detection: condition must be a string or a list of strings")
				}
				rewritten, err := rewriteCondition(item.Value, names, alias)
				if err != nil {
					return nil, err
				}
				item.Value = rewritten
			}
		default:
			return nil, errors.New("detection: condition must be a string or a list of strings")
		}
	}
	return original, nil
}

// rewriteCondition checks a condition against the selection names and
// returns it with aliases, "x of pattern" expanded and keywords normalised.
func rewriteCondition(cond string, names []string, alias map[string]string) (string, error) {
	if strings.Contains(cond, "|") {
		return "", unsupported("aggregation conditions are not supported: use a THRESHOLD rule")
	}
	tokens := conditionToken.FindAllString(cond, -1)
	if len(tokens) == 0 {
		return "", errors.New("detection: condition is empty")
	}
	out := make([]string, 0, len(tokens))
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		lower := strings.ToLower(tok)
		switch {
		case lower == "and" || lower == "or" || lower == "not" || tok == "(" || tok == ")":
			out = append(out, lower)
		case (lower == "1" || lower == "all") && i+1 < len(tokens) && strings.EqualFold(tokens[i+1], "of"):
			if i+2 >= len(tokens) {
				return "", fmt.Errorf("detection: condition %q: %q needs a selection, a pattern or \"them\"", cond, tok+" of")
			}
			target := tokens[i+2]
			i += 2
			join := " or "
			if lower == "all" {
				join = " and "
			}
			var members []string
			switch {
			case strings.EqualFold(target, "them"):
				// As in pySigma, "them" leaves out selections named _x.
				for _, n := range names {
					if !strings.HasPrefix(n, "_") {
						members = append(members, n)
					}
				}
				if len(members) == 0 {
					return "", fmt.Errorf("detection: condition %q: no selection for \"them\"", cond)
				}
			case strings.Contains(target, "*"):
				for _, n := range names {
					if ok, err := path.Match(target, n); err == nil && ok {
						members = append(members, n)
					}
				}
				if len(members) == 0 {
					return "", fmt.Errorf("detection: condition pattern %q matches no selection", target)
				}
			default:
				if _, ok := alias[target]; !ok {
					return "", fmt.Errorf("detection: condition references unknown selection %q", target)
				}
				members = []string{target}
			}
			parts := make([]string, len(members))
			for j, m := range members {
				parts[j] = alias[m]
			}
			out = append(out, "( "+strings.Join(parts, join)+" )")
		case lower == "of" || lower == "them" || lower == "1" || lower == "all":
			return "", fmt.Errorf("detection: condition %q: unexpected %q", cond, tok)
		default:
			a, ok := alias[tok]
			if !ok {
				return "", fmt.Errorf("detection: condition references unknown selection %q", tok)
			}
			out = append(out, a)
		}
	}
	return strings.Join(out, " "), nil
}

// normaliseDetection rewrites every selection of rule into matchers
// sigma-go's evaluator runs, and returns the flattened-event keys they read.
func normaliseDetection(rule *sigma.Rule, original map[string]string) ([]fieldRef, error) {
	n := normaliser{seen: map[string]bool{}}
	aliases := make([]string, 0, len(rule.Detection.Searches))
	for a := range rule.Detection.Searches {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		search := rule.Detection.Searches[a]
		name := original[a]
		if name == "" {
			name = a
		}
		var matchers []sigma.EventMatcher
		if len(search.Keywords) > 0 {
			values := make([]any, len(search.Keywords))
			for i, k := range search.Keywords {
				values[i] = k
			}
			em, err := n.eventMatcher(name, sigma.EventMatcher{{Values: values}})
			if err != nil {
				return nil, err
			}
			matchers = append(matchers, em...)
		}
		for _, em := range search.EventMatchers {
			expanded, err := n.eventMatcher(name, em)
			if err != nil {
				return nil, err
			}
			matchers = append(matchers, expanded...)
			if len(matchers) > maxAlternatives {
				return nil, fmt.Errorf("detection: selection %q expands to more than %d alternatives", name, maxAlternatives)
			}
		}
		rule.Detection.Searches[a] = sigma.Search{EventMatchers: matchers}
	}
	return n.fields, nil
}

// normaliser collects the flattened-event keys while rewriting matchers.
type normaliser struct {
	fields []fieldRef
	seen   map[string]bool
}

func (n *normaliser) use(f fieldRef) string {
	if !n.seen[f.key] {
		n.seen[f.key] = true
		n.fields = append(n.fields, f)
	}
	return f.key
}

// eventMatcher rewrites one map of field conditions (all must hold) into
// one or more (any may hold): a field whose values need different
// comparators becomes alternatives, multiplied out.
func (n *normaliser) eventMatcher(selection string, em sigma.EventMatcher) ([]sigma.EventMatcher, error) {
	out := []sigma.EventMatcher{{}}
	for _, fm := range em {
		conjuncts, err := n.fieldMatcher(fm)
		if err != nil {
			return nil, fmt.Errorf("detection: selection %q: %w", selection, err)
		}
		for _, alternatives := range conjuncts {
			if len(out)*len(alternatives) > maxAlternatives {
				return nil, fmt.Errorf("detection: selection %q expands to more than %d alternatives", selection, maxAlternatives)
			}
			next := make([]sigma.EventMatcher, 0, len(out)*len(alternatives))
			for _, partial := range out {
				for _, alt := range alternatives {
					m := make(sigma.EventMatcher, len(partial), len(partial)+1)
					copy(m, partial)
					next = append(next, append(m, alt))
				}
			}
			out = next
		}
	}
	return out, nil
}

// modifierSet is a field's modifiers, sorted by role.
type modifierSet struct {
	comparator string   // contains, startswith, endswith, re, cidr, gt, gte, lt, lte or "" (equals)
	transforms []string // windash, base64, base64offset, utf16le, utf16be, utf16, wide, in order
	reFlags    string   // i, m, s
	all        bool
	cased      bool
	exists     bool
	fieldref   bool
}

func parseModifiers(field string, mods []string) (modifierSet, error) {
	var m modifierSet
	for _, mod := range mods {
		switch mod {
		case "contains", "startswith", "endswith", "re", "cidr", "gt", "gte", "lt", "lte":
			if m.comparator != "" {
				return m, fmt.Errorf("field %q: modifiers %q and %q cannot be combined", field, m.comparator, mod)
			}
			m.comparator = mod
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide":
			m.transforms = append(m.transforms, mod)
		case "i", "m", "s":
			m.reFlags += mod
		case "expand":
			return m, unsupported("unsupported modifier %q on field %q: placeholders (%%name%%) are not configured", mod, field)
		default:
			return m, unsupported("unsupported modifier %q on field %q", mod, field)
		}
	}
	switch {
	case m.reFlags != "" && m.comparator != "re":
		return m, fmt.Errorf("field %q: modifier %q needs re", field, m.reFlags[:1])
	case m.exists && (m.comparator != "" || len(m.transforms) > 0 || m.fieldref || m.cased || m.all):
		return m, fmt.Errorf("field %q: exists cannot be combined with other modifiers", field)
	case m.fieldref && (len(m.transforms) > 0 || m.cased || (m.comparator != "" && m.comparator != "contains" && m.comparator != "startswith" && m.comparator != "endswith")):
		return m, fmt.Errorf("field %q: fieldref combines only with contains, startswith, endswith and all", field)
	case len(m.transforms) > 0 && !isStringComparator(m.comparator):
		return m, fmt.Errorf("field %q: %s cannot be combined with %s", field, m.transforms[0], m.comparator)
	case m.cased && !isStringComparator(m.comparator):
		return m, fmt.Errorf("field %q: cased cannot be combined with %s", field, m.comparator)
	}
	return m, nil
}

func isStringComparator(c string) bool {
	return c == "" || c == "contains" || c == "startswith" || c == "endswith"
}

// fieldMatcher rewrites one "field|modifiers: values" into conjuncts, each a
// list of alternative sigma-go field matchers.
func (n *normaliser) fieldMatcher(fm sigma.FieldMatcher) ([][]sigma.FieldMatcher, error) {
	display := fm.Field
	if display == "" {
		display = "keywords"
	}
	mods, err := parseModifiers(display, fm.Modifiers)
	if err != nil {
		return nil, err
	}
	if len(fm.Values) == 0 {
		return nil, fmt.Errorf("field %q: no value", display)
	}
	for _, v := range fm.Values {
		switch v.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("field %q: values must be strings, numbers, booleans or null", display)
		}
	}

	switch {
	case mods.exists:
		want, ok := fm.Values[0].(bool)
		if len(fm.Values) != 1 || !ok {
			return nil, fmt.Errorf("field %q: exists takes true or false", display)
		}
		key := n.use(existsRef(fm.Field))
		return [][]sigma.FieldMatcher{{{Field: key, Values: []any{strconv.FormatBool(want)}}}}, nil

	case mods.fieldref:
		var perValue [][]sigma.FieldMatcher
		for _, v := range fm.Values {
			other, ok := v.(string)
			if !ok || other == "" {
				return nil, fmt.Errorf("field %q: fieldref takes field names", display)
			}
			key := n.use(fieldrefRef(fm.Field, mods.comparator, other))
			perValue = append(perValue, []sigma.FieldMatcher{{Field: key, Values: []any{"true"}}})
		}
		return combine(perValue, mods.all), nil

	case mods.comparator == "re":
		values := make([]any, len(fm.Values))
		for i, v := range fm.Values {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("field %q: re takes strings", display)
			}
			if mods.reFlags != "" {
				s = "(?" + mods.reFlags + ")" + s
			}
			if _, err := regexp.Compile(s); err != nil {
				return nil, fmt.Errorf("field %q: regular expression %q is not valid in Go's RE2 syntax: %v", display, s, unwrapRegexpError(err))
			}
			values[i] = s
		}
		key := n.use(n.plainOrKeyword(fm.Field, true))
		return [][]sigma.FieldMatcher{{withAll(sigma.FieldMatcher{Field: key, Modifiers: []string{"re"}, Values: values}, mods.all)}}, nil

	case mods.comparator == "cidr":
		for _, v := range fm.Values {
			s, _ := v.(string)
			if _, _, err := net.ParseCIDR(s); err != nil {
				return nil, fmt.Errorf("field %q: %v is not a CIDR", display, v)
			}
		}
		key := n.use(n.plainOrKeyword(fm.Field, false))
		return [][]sigma.FieldMatcher{{withAll(sigma.FieldMatcher{Field: key, Modifiers: []string{"cidr"}, Values: fm.Values}, mods.all)}}, nil

	case mods.comparator == "gt" || mods.comparator == "gte" || mods.comparator == "lt" || mods.comparator == "lte":
		for _, v := range fm.Values {
			switch v.(type) {
			case int, float64:
			default:
				return nil, fmt.Errorf("field %q: %s takes numbers", display, mods.comparator)
			}
		}
		key := n.use(n.plainOrKeyword(fm.Field, false))
		return [][]sigma.FieldMatcher{{withAll(sigma.FieldMatcher{Field: key, Modifiers: []string{mods.comparator}, Values: fm.Values}, mods.all)}}, nil
	}

	// String comparisons: equals, contains, startswith, endswith.
	comparator := mods.comparator
	if fm.Field == "" && comparator == "" {
		comparator = "contains" // keywords match anywhere in the text
	}
	if comparator == "" && containsString(mods.transforms, "base64offset") {
		comparator = "contains" // offset encodings are fragments by construction
	}
	var perValue [][]sigma.FieldMatcher
	for _, v := range fm.Values {
		if v == nil {
			if comparator != "" || len(mods.transforms) > 0 {
				return nil, fmt.Errorf("field %q: null cannot take modifiers", display)
			}
			key := n.use(existsRef(fm.Field))
			perValue = append(perValue, []sigma.FieldMatcher{{Field: key, Values: []any{"false"}}})
			continue
		}
		variants, binary, err := expandValue(scalarString(v), mods.transforms)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", display, err)
		}
		var alts []sigma.FieldMatcher
		for _, text := range variants {
			alts = append(alts, n.stringMatcher(fm.Field, comparator, text, binary, mods.cased))
		}
		perValue = append(perValue, groupMatchers(alts))
	}
	return combine(perValue, mods.all), nil
}

// combine turns per-value alternatives into conjuncts: with all, every value
// must match (one conjunct per value); without, any value may (one conjunct).
func combine(perValue [][]sigma.FieldMatcher, all bool) [][]sigma.FieldMatcher {
	if !all {
		var flat []sigma.FieldMatcher
		for _, alts := range perValue {
			flat = append(flat, alts...)
		}
		return [][]sigma.FieldMatcher{groupMatchers(flat)}
	}
	// One matcher per value, all on the same key and comparator: sigma-go's
	// own "all" says it in one matcher.
	single := len(perValue) > 1
	for _, alts := range perValue {
		if len(alts) != 1 || matcherGroup(alts[0]) != matcherGroup(perValue[0][0]) {
			single = false
			break
		}
	}
	if single {
		m := perValue[0][0]
		m.Values = nil
		for _, alts := range perValue {
			m.Values = append(m.Values, alts[0].Values...)
		}
		return [][]sigma.FieldMatcher{{withAll(m, true)}}
	}
	return perValue
}

func withAll(m sigma.FieldMatcher, all bool) sigma.FieldMatcher {
	if all && len(m.Values) > 1 {
		m.Modifiers = append(append([]string(nil), m.Modifiers...), "all")
	}
	return m
}

func matcherGroup(m sigma.FieldMatcher) string {
	return m.Field + "\x00" + strings.Join(m.Modifiers, "|")
}

// groupMatchers merges alternatives that share field and comparator into
// one matcher with several values (sigma-go ORs a matcher's values).
func groupMatchers(alts []sigma.FieldMatcher) []sigma.FieldMatcher {
	var out []sigma.FieldMatcher
	index := map[string]int{}
	for _, a := range alts {
		g := matcherGroup(a)
		if i, ok := index[g]; ok {
			out[i].Values = append(out[i].Values, a.Values...)
			continue
		}
		index[g] = len(out)
		out = append(out, sigma.FieldMatcher{Field: a.Field, Modifiers: a.Modifiers, Values: append([]any(nil), a.Values...)})
	}
	return out
}

func (n *normaliser) plainOrKeyword(field string, raw bool) fieldRef {
	if field == "" {
		return keywordRef(raw)
	}
	return plainRef(field, raw)
}

// stringMatcher builds the sigma-go matcher for one value compared with
// equals/contains/startswith/endswith. Sigma wildcards are interpreted
// unless the value is binary (an encoding: base64, utf16...).
//
// Sigma compares case-insensitively; sigma-go does so by lower-casing both
// sides of every comparison, every time. Instead the evaluator runs
// case-sensitive and both sides are lower-cased once: rule values here, event
// values when the event is flattened. What must stay case-sensitive (cased,
// encodings, and user regular expressions) reads the raw key.
func (n *normaliser) stringMatcher(field, comparator, text string, binary, cased bool) sigma.FieldMatcher {
	parts := []sigmaPart{{literal: text}}
	if !binary {
		parts = parseSigmaString(text)
	}
	lead, trail := false, false
	for len(parts) > 0 && parts[0].wildcard == '*' {
		lead, parts = true, parts[1:]
	}
	for len(parts) > 0 && parts[len(parts)-1].wildcard == '*' {
		trail, parts = true, parts[:len(parts)-1]
	}
	if len(parts) == 0 && (lead || trail) {
		// "*" alone: any value, that is the field exists.
		return sigma.FieldMatcher{Field: n.use(existsRef(field)), Values: []any{"true"}}
	}
	effective := comparator
	switch comparator {
	case "":
		switch {
		case lead && trail:
			effective = "contains"
		case lead:
			effective = "endswith"
		case trail:
			effective = "startswith"
		}
	case "startswith":
		if lead {
			effective = "contains"
		}
	case "endswith":
		if trail {
			effective = "contains"
		}
	}
	caseSensitive := cased || binary
	key := n.use(n.plainOrKeyword(field, caseSensitive))

	inner := false
	for _, p := range parts {
		if p.wildcard != 0 {
			inner = true
		}
	}
	// sigma-go's equality ignores case: a case-sensitive equality needs a
	// regular expression, like inner wildcards.
	if !inner && !(caseSensitive && effective == "") {
		var lit strings.Builder
		for _, p := range parts {
			lit.WriteString(p.literal)
		}
		value := lit.String()
		if !caseSensitive {
			value = strings.ToLower(value)
		}
		m := sigma.FieldMatcher{Field: key, Values: []any{value}}
		if effective != "" {
			m.Modifiers = []string{effective}
		}
		return m
	}

	var re strings.Builder
	re.WriteString("(?s)")
	if !caseSensitive {
		re.WriteString("(?i)")
	}
	if effective == "" || effective == "startswith" {
		re.WriteString("^")
	}
	for _, p := range parts {
		switch p.wildcard {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(p.literal))
		}
	}
	if effective == "" || effective == "endswith" {
		re.WriteString("$")
	}
	return sigma.FieldMatcher{Field: key, Modifiers: []string{"re"}, Values: []any{re.String()}}
}

// sigmaPart is a run of literal text or one wildcard ('*' or '?').
type sigmaPart struct {
	literal  string
	wildcard byte
}

// parseSigmaString splits a Sigma string value into literals and wildcards.
// As in pySigma, a backslash escapes *, ? and itself; before any other
// character it is a plain backslash (so C:\Windows needs no doubling).
func parseSigmaString(s string) []sigmaPart {
	var parts []sigmaPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, sigmaPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*', '?':
			flush()
			parts = append(parts, sigmaPart{wildcard: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts
}

// scalarString renders a YAML scalar as Sigma compares it.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// expandValue applies value transforms in order. binary reports that the
// result is encoded text in which * and ? are no longer wildcards.
func expandValue(s string, transforms []string) (values []string, binary bool, err error) {
	values = []string{s}
	for _, t := range transforms {
		var next []string
		for _, v := range values {
			switch t {
			case "windash":
				next = append(next, windashVariants(v)...)
			case "utf16le", "wide":
				next = append(next, encodeUTF16(v, false, false))
			case "utf16be":
				next = append(next, encodeUTF16(v, true, false))
			case "utf16":
				next = append(next, encodeUTF16(v, false, true))
			case "base64":
				next = append(next, base64.StdEncoding.EncodeToString([]byte(v)))
			case "base64offset":
				next = append(next, base64Offsets(v)...)
			}
		}
		if t != "windash" {
			binary = true
		}
		if len(next) > maxAlternatives {
			return nil, false, fmt.Errorf("%s expands a value to more than %d variants", t, maxAlternatives)
		}
		values = next
	}
	return values, binary, nil
}

// windashDashes are what Windows command lines accept in place of "-".
var windashDashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windashVariants expands every "-" or "/" that starts a word (as pySigma's
// \B[-/]\b) into each of windashDashes.
func windashVariants(s string) []string {
	var positions []int
	for i := 0; i < len(s); i++ {
		if (s[i] == '-' || s[i] == '/') && (i == 0 || !isWordByte(s[i-1])) && i+1 < len(s) && isWordByte(s[i+1]) {
			positions = append(positions, i)
		}
	}
	out := []string{""}
	last := 0
	for _, p := range positions {
		next := make([]string, 0, len(out)*len(windashDashes))
		for _, prefix := range out {
			for _, d := range windashDashes {
				next = append(next, prefix+s[last:p]+d)
			}
		}
		out = next
		last = p + 1
	}
	for i := range out {
		out[i] += s[last:]
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func encodeUTF16(s string, bigEndian, bom bool) string {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// base64Offsets returns the three encodings of s as it appears inside a
// longer base64 text, at each offset modulo 3 (as pySigma's base64offset).
func base64Offsets(s string) []string {
	starts := [3]int{0, 2, 3}
	ends := [3]int{0, 3, 2} // characters to drop at the end, by (len+offset)%3
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), s...))
		end := len(enc) - ends[(len(s)+i)%3]
		if starts[i] >= end {
			continue
		}
		out = append(out, enc[starts[i]:end])
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// unwrapRegexpError drops the "error parsing regexp: " prefix Go adds.
func unwrapRegexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}
