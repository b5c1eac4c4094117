package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Attack is the MITRE ATT&CK Enterprise catalogue of techniques and
// tactics, read from the reduced JSON Vigil ships
// (enterprise-attack-techniques.json: {"tactics": [{id, name, shortname}],
// "techniques": [{id, name, tactics, subtechnique, revoked, deprecated,
// platforms}]}). It turns rule tags into names. A nil *Attack knows no
// names but still parses tags.
type Attack struct {
	source     string
	techniques map[string]Technique
	tactics    map[string]Tactic // by shortname
}

// Technique is an ATT&CK technique or sub-technique. Name is empty for an
// id the catalogue does not know.
type Technique struct {
	ID         string   // T1110 or T1110.001
	Name       string   // Password Guessing
	ParentName string   // Brute Force, for a sub-technique
	Tactics    []string // tactic shortnames: credential-access
	Platforms  []string
	Revoked    bool // replaced by another technique; kept so old rules still read
	Deprecated bool
}

// DisplayName is how ATT&CK writes the technique: "Brute Force: Password
// Guessing" for a sub-technique, the name otherwise, the id when unknown.
func (t Technique) DisplayName() string {
	switch {
	case t.Name == "":
		return t.ID
	case t.ParentName != "":
		return t.ParentName + ": " + t.Name
	}
	return t.Name
}

// URL is the technique's page on attack.mitre.org.
func (t Technique) URL() string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t.ID, ".", "/") + "/"
}

// Tactic is an ATT&CK tactic. ID and Name are empty for a shortname the
// catalogue does not know.
type Tactic struct {
	ID        string // TA0006
	Name      string // Credential Access
	Shortname string // credential-access
}

// LoadAttack reads the ATT&CK catalogue from path.
func LoadAttack(path string) (*Attack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load ATT&CK: %w", err)
	}
	a, err := ParseAttack(data)
	if err != nil {
		return nil, fmt.Errorf("load ATT&CK %s: %w", path, err)
	}
	return a, nil
}

// ParseAttack reads the ATT&CK catalogue from its JSON.
func ParseAttack(data []byte) (*Attack, error) {
	var doc struct {
		Source  string `json:"source"`
		Tactics []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Shortname string `json:"shortname"`
		} `json:"tactics"`
		Techniques []struct {
			ID           string   `json:"id"`
			Name         string   `json:"name"`
			Tactics      []string `json:"tactics"`
			Platforms    []string `json:"platforms"`
			Subtechnique bool     `json:"subtechnique"`
			Revoked      bool     `json:"revoked"`
			Deprecated   bool     `json:"deprecated"`
		} `json:"techniques"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Techniques) == 0 {
		return nil, errors.New("no techniques")
	}
	a := &Attack{source: doc.Source, techniques: map[string]Technique{}, tactics: map[string]Tactic{}}
	for _, t := range doc.Tactics {
		a.tactics[strings.ToLower(t.Shortname)] = Tactic{ID: t.ID, Name: t.Name, Shortname: strings.ToLower(t.Shortname)}
	}
	for _, t := range doc.Techniques {
		id := strings.ToUpper(strings.TrimSpace(t.ID))
		if !techniqueID.MatchString(id) {
			return nil, fmt.Errorf("technique id %q is not an ATT&CK technique id", t.ID)
		}
		a.techniques[id] = Technique{ID: id, Name: t.Name, Tactics: t.Tactics, Platforms: t.Platforms, Revoked: t.Revoked, Deprecated: t.Deprecated}
	}
	for id, t := range a.techniques {
		if parent, _, sub := strings.Cut(id, "."); sub {
			t.ParentName = a.techniques[parent].Name
			a.techniques[id] = t
		}
	}
	return a, nil
}

// Source says which ATT&CK release the catalogue holds.
func (a *Attack) Source() string {
	if a == nil {
		return ""
	}
	return a.source
}

// Len is the number of techniques and sub-techniques known.
func (a *Attack) Len() int {
	if a == nil {
		return 0
	}
	return len(a.techniques)
}

var (
	techniqueID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	tacticTag   = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
)

// Technique looks an id (T1110.001, t1110.001) up; an unknown id comes back
// with an empty name and false.
func (a *Attack) Technique(id string) (Technique, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if a != nil {
		if t, ok := a.techniques[id]; ok {
			return t, true
		}
	}
	return Technique{ID: id}, false
}

// Techniques turns rule tags into techniques, in tag order without repeats:
// "attack.t1110.001" → {ID: "T1110.001", Name: "Password Guessing"}. Tags
// that name no technique (tactics, groups, software, cve.*) are skipped;
// unknown technique ids are kept with an empty name.
func (a *Attack) Techniques(tags []string) []Technique {
	var out []Technique
	seen := map[string]bool{}
	for _, tag := range tags {
		rest, ok := cutAttackTag(tag)
		if !ok {
			continue
		}
		id := strings.ToUpper(rest)
		if !techniqueID.MatchString(id) || seen[id] {
			continue
		}
		seen[id] = true
		t, _ := a.Technique(id)
		out = append(out, t)
	}
	return out
}

// Tactics turns rule tags into tactics, in tag order without repeats:
// "attack.credential-access" → {ID: "TA0006", Name: "Credential Access"}.
// A tactic-like tag the catalogue does not know (a newer release's, such as
// attack.stealth) is kept with its shortname only; technique, group (g0032)
// and software (s0002) tags are skipped.
func (a *Attack) Tactics(tags []string) []Tactic {
	var out []Tactic
	seen := map[string]bool{}
	for _, tag := range tags {
		rest, ok := cutAttackTag(tag)
		if !ok {
			continue
		}
		short := strings.ToLower(rest)
		if !tacticTag.MatchString(short) || seen[short] {
			continue
		}
		seen[short] = true
		t := Tactic{Shortname: short}
		if a != nil {
			if known, ok := a.tactics[short]; ok {
				t = known
			}
		}
		out = append(out, t)
	}
	return out
}

func cutAttackTag(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if len(tag) < len("attack.")+1 || !strings.EqualFold(tag[:len("attack.")], "attack.") {
		return "", false
	}
	return tag[len("attack."):], true
}
