package detect

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedAttack loads the ATT&CK catalogue kept next to the repository, with
// the same rule as the Sigma rule set: required under CI, noted elsewhere.
func sharedAttack(t *testing.T) (*Attack, bool) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "data", "attack", "enterprise-attack-techniques.json")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared ATT&CK catalogue is missing under CI: %v", err)
		}
		t.Logf("NOT RUN: the shared ATT&CK catalogue is missing (%v); CI always has it", err)
		return nil, false
	}
	a, err := LoadAttack(path)
	if err != nil {
		t.Fatal(err)
	}
	return a, true
}

func TestAttackSharedCatalogue(t *testing.T) {
	t.Parallel()
	a, ok := sharedAttack(t)
	if !ok {
		return
	}
	if a.Len() < 800 || a.Source() == "" {
		t.Errorf("catalogue has %d techniques, source %q", a.Len(), a.Source())
	}
	tests := []struct {
		name    string
		tags    []string
		want    []string // ID=DisplayName
		tactics []string // ID=Shortname
	}{
		{
			name:    "sub-technique and technique",
			tags:    []string{"attack.credential-access", "attack.t1110.001", "attack.t1110"},
			want:    []string{"T1110.001=Brute Force: Password Guessing", "T1110=Brute Force"},
			tactics: []string{"TA0006=credential-access"},
		},
		{
			name:    "case, repeats and other tags",
			tags:    []string{"attack.T1059.001", "attack.t1059.001", "attack.execution", "attack.s0002", "attack.g0032", "cve.2021-44228", "detection.threat-hunting"},
			want:    []string{"T1059.001=Command and Scripting Interpreter: PowerShell"},
			tactics: []string{"TA0002=execution"},
		},
		{
			name:    "unknown ids and newer tactics are kept",
			tags:    []string{"attack.t9999", "attack.t1003.999", "attack.stealth"},
			want:    []string{"T9999=T9999", "T1003.999=T1003.999"},
			tactics: []string{"=stealth"},
		},
		{name: "no tags", tags: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, tech := range a.Techniques(tt.tags) {
				got = append(got, tech.ID+"="+tech.DisplayName())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Techniques = %v, want %v", got, tt.want)
			}
			var tactics []string
			for _, tac := range a.Tactics(tt.tags) {
				tactics = append(tactics, tac.ID+"="+tac.Shortname)
			}
			if !slices.Equal(tactics, tt.tactics) {
				t.Errorf("Tactics = %v, want %v", tactics, tt.tactics)
			}
		})
	}

	pg, ok := a.Technique("t1110.001")
	if !ok || pg.Name != "Password Guessing" || !slices.Contains(pg.Tactics, "credential-access") || pg.URL() != "https://attack.mitre.org/techniques/T1110/001/" {
		t.Errorf("Technique(t1110.001) = %+v %v", pg, ok)
	}
	if old, ok := a.Technique("T1002"); !ok || !old.Revoked {
		t.Errorf("revoked T1002 = %+v %v", old, ok)
	}
}

// TestAttackCoversSharedRuleTags: the technique tags of the SigmaHQ rules
// are nearly all known to the catalogue.
func TestAttackCoversSharedRuleTags(t *testing.T) {
	t.Parallel()
	a, ok := sharedAttack(t)
	if !ok {
		return
	}
	if _, ok := sharedSigmaRules(t); !ok {
		return
	}
	set, err := sharedSet()
	if err != nil {
		t.Fatal(err)
	}
	known, unknown := 0, map[string]bool{}
	for _, r := range set.Rules() {
		for _, tech := range a.Techniques(r.Tags) {
			if tech.Name == "" {
				unknown[tech.ID] = true
			} else {
				known++
			}
		}
	}
	t.Logf("%d technique tags named, %d unknown ids: %v", known, len(unknown), unknown)
	if known < 2000 || len(unknown) > 20 {
		t.Errorf("%d named, %d unknown", known, len(unknown))
	}
}

func TestAttackParse(t *testing.T) {
	t.Parallel()
	if _, err := ParseAttack([]byte(`{"techniques": [{"id": "X1"}]}`)); err == nil {
		t.Error("bad technique id accepted")
	}
	if _, err := ParseAttack([]byte(`{"techniques": []}`)); err == nil {
		t.Error("empty catalogue accepted")
	}
	if _, err := ParseAttack([]byte(`not json`)); err == nil {
		t.Error("not JSON accepted")
	}
	var none *Attack
	if got := none.Techniques([]string{"attack.t1078"}); len(got) != 1 || got[0].ID != "T1078" || got[0].Name != "" {
		t.Errorf("nil Attack Techniques = %+v", got)
	}
}
