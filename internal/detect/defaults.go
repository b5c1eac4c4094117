package detect

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// Rule kinds and severities, as the API and the database spell them.
const (
	KindSigma     = "SIGMA"
	KindThreshold = "THRESHOLD"

	SeverityLow      = "LOW"
	SeverityMedium   = "MEDIUM"
	SeverityHigh     = "HIGH"
	SeverityCritical = "CRITICAL"
)

// DefaultRule is a rule of the pack every tenant starts with. Key is
// stable: tenants' copies and their alerts refer to it, so a key is never
// renamed or reused (TestDefaultRuleKeys pins them).
type DefaultRule struct {
	Key         string
	Name        string
	Kind        string // KindSigma or KindThreshold
	Severity    string // SeverityLow ... SeverityCritical
	Definition  string // the Sigma YAML, or the threshold definition
	Tags        []string
	Description string
}

//go:embed rules/sigma/*.yml
var defaultSigmaFiles embed.FS

// defaultThresholds are the pack's threshold rules.
var defaultThresholds = []DefaultRule{
	{
		Key:      "threshold.ssh_brute_force",
		Name:     "Brute Force From One Address",
		Kind:     KindThreshold,
		Severity: SeverityHigh,
		Definition: `filter:
  event.category: authentication
  event.outcome: failure
group_by: [source.ip]
threshold: 10
window: 5m
`,
		Tags:        []string{"attack.credential-access", "attack.t1110.001"},
		Description: "At least 10 failed logins (SSH, PAM, any authentication source) from one source address within 5 minutes: password guessing.",
	},
	{
		Key:      "threshold.password_spraying",
		Name:     "Password Spraying From One Address",
		Kind:     KindThreshold,
		Severity: SeverityHigh,
		Definition: `filter:
  event.category: authentication
  event.outcome: failure
group_by: [source.ip]
distinct: user.name
threshold: 5
window: 10m
`,
		Tags:        []string{"attack.credential-access", "attack.t1110.003"},
		Description: "Failed logins for at least 5 different user names from one source address within 10 minutes: a few common passwords tried across many accounts.",
	},
	{
		Key:      "threshold.success_after_failures",
		Name:     "Successful Login After Repeated Failures",
		Kind:     KindThreshold,
		Severity: SeverityCritical,
		Definition: `filter:
  event.category: authentication
  event.outcome: failure
group_by: [source.ip]
threshold: 5
window: 10m
followed_by:
  event.category: authentication
  event.outcome: success
`,
		Tags:        []string{"attack.credential-access", "attack.t1110", "attack.initial-access", "attack.t1078"},
		Description: "A successful login from a source address that failed at least 5 times within the 10 minutes before: the guessing worked.",
	},
}

// DefaultRules returns the default rule pack: the threshold rules above and
// the Sigma rules embedded from rules/sigma (written for Vigil), sorted by
// key. The caller gets its own copy.
func DefaultRules() []DefaultRule {
	rules := defaultRules()
	out := make([]DefaultRule, len(rules))
	for i, r := range rules {
		r.Tags = slices.Clone(r.Tags)
		out[i] = r
	}
	return out
}

var defaultRules = sync.OnceValue(func() []DefaultRule {
	rules := slices.Clone(defaultThresholds)
	files, err := fs.Glob(defaultSigmaFiles, "rules/sigma/*.yml")
	if err != nil {
		panic(err)
	}
	for _, name := range files {
		src, err := defaultSigmaFiles.ReadFile(name)
		if err != nil {
			panic(err)
		}
		// The embedded rules are compiled by the tests: a failure here is a
		// build defect, not an input error.
		r, err := CompileSigma(src)
		if err != nil {
			panic(fmt.Sprintf("default rule %s does not compile: %v", name, err))
		}
		rules = append(rules, DefaultRule{
			Key:         "sigma." + strings.TrimSuffix(path.Base(name), ".yml"),
			Name:        r.Title,
			Kind:        KindSigma,
			Severity:    SeverityOfLevel(r.Level),
			Definition:  string(src),
			Tags:        r.Tags,
			Description: r.Description,
		})
	}
	slices.SortFunc(rules, func(a, b DefaultRule) int { return strings.Compare(a.Key, b.Key) })
	return rules
})

// SeverityOfLevel maps a Sigma level to a Vigil severity: informational and
// low → LOW, medium → MEDIUM, high → HIGH, critical → CRITICAL; anything
// else → MEDIUM.
func SeverityOfLevel(level string) string {
	switch strings.ToLower(level) {
	case "informational", "low":
		return SeverityLow
	case "high":
		return SeverityHigh
	case "critical":
		return SeverityCritical
	}
	return SeverityMedium
}
