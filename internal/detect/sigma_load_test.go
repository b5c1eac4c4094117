package detect

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// sharedSigmaRules is the SigmaHQ rule set kept next to the repository
// (../shared/data/sigma/rules from the repository root). ok is false when it
// is absent: CI must have it (the test fails there), a developer machine may
// not (the test says so and passes).
func sharedSigmaRules(t testing.TB) (dir string, ok bool) {
	t.Helper()
	dir, err := sharedRulesPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared Sigma rule set is missing under CI: %v", err)
		}
		t.Logf("NOT RUN: the shared Sigma rule set is missing (%v); CI always has it", err)
		return "", false
	}
	return dir, true
}

func sharedRulesPath() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "data", "sigma", "rules"), nil
}

// repoRoot walks up from the package directory to the directory of go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the package directory")
		}
		dir = parent
	}
}

func TestLoadSigmaDirSharedRuleSet(t *testing.T) {
	t.Parallel()
	dir, ok := sharedSigmaRules(t)
	if !ok {
		return
	}

	start := time.Now()
	rules, failures, err := LoadSigmaDir(dir)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	total := len(rules) + len(failures)
	t.Logf("compiled %d of %d rules in %v (%d failed)", len(rules), total, elapsed.Round(time.Millisecond), len(failures))

	byReason := map[string][]string{}
	for _, f := range failures {
		if f.Path == "" || f.Reason == "" {
			t.Errorf("failure without path or reason: %+v", f)
		}
		rel, _ := filepath.Rel(dir, f.Path)
		byReason[reasonClass(f.Reason)] = append(byReason[reasonClass(f.Reason)], rel+": "+f.Reason)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if len(byReason[reasons[i]]) != len(byReason[reasons[j]]) {
			return len(byReason[reasons[i]]) > len(byReason[reasons[j]])
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		t.Logf("%4d × %s", len(byReason[r]), r)
		for _, f := range byReason[r] {
			t.Logf("       %s", f)
		}
	}

	if total < 1000 {
		t.Fatalf("only %d rule files found under %s", total, dir)
	}
	if limit := total * 5 / 100; len(failures) > limit {
		t.Errorf("%d rules failed to load, more than 5%% (%d)", len(failures), limit)
	}

	set := NewSigmaSet(rules)
	if set.Len() != len(rules) {
		t.Errorf("set holds %d rules, want %d", set.Len(), len(rules))
	}
}

// reasonClass groups failure reasons that differ only in names and values.
func reasonClass(reason string) string {
	for _, prefix := range []string{
		"aggregation conditions are not supported",
		"correlation rules are not supported",
		"multi-document rule collections",
		"Sigma filter rules",
	} {
		if len(reason) >= len(prefix) && reason[:len(prefix)] == prefix {
			return prefix
		}
	}
	if i := indexAfterSelection(reason); i >= 0 {
		reason = reason[i:]
	}
	// Keep the sentence up to the first quoted value.
	for i, c := range reason {
		if c == '"' {
			return reason[:i] + "…"
		}
	}
	return reason
}

// indexAfterSelection skips `detection: selection "x": ` so reasons group
// by what is wrong rather than where.
func indexAfterSelection(reason string) int {
	const p = `detection: selection "`
	if len(reason) < len(p) || reason[:len(p)] != p {
		return -1
	}
	for i := len(p); i+2 < len(reason); i++ {
		if reason[i] == '"' && reason[i+1] == ':' {
			return i + 3
		}
	}
	return -1
}
