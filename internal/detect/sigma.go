package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"gopkg.in/yaml.v3"
)

// ErrSigmaUnsupported is wrapped by CompileSigma's errors for valid Sigma
// that Vigil does not run (aggregations, correlations, placeholders...), as
// opposed to a rule that is wrong. Callers branch on it with errors.Is.
var ErrSigmaUnsupported = errors.New("sigma feature not supported")

// unsupportedError reads as its message alone and matches ErrSigmaUnsupported.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }
func (e *unsupportedError) Unwrap() error { return ErrSigmaUnsupported }

func unsupported(format string, args ...any) error {
	return &unsupportedError{msg: fmt.Sprintf(format, args...)}
}

// Logsource is the part of a Sigma rule that says which events it is written
// for, lower-cased. An empty attribute matches any event.
type Logsource struct{ Product, Category, Service string }

// SigmaRule is one compiled Sigma rule. It is immutable and safe for
// concurrent use once CompileSigma returns it.
type SigmaRule struct {
	ID, Title, Level, Status, Description, Author string
	Tags                                          []string
	References                                    []string
	Logsource                                     Logsource

	// eval is sigma-go's evaluator for the rule after normalise rewrote it
	// into what the evaluator runs (see sigma_normalise.go).
	eval *evaluator.RuleEvaluator
	// fields are the keys eval reads from the flattened event, with how to
	// resolve each from a Vigil event (see sigma_fields.go).
	fields []fieldRef
	// pre is a cheap necessary condition tried before eval; nil when the
	// condition gives none (see sigma_prefilter.go).
	pre *preNode
}

// CompileSigma parses one Sigma rule (a single YAML document) and compiles it
// for evaluation. Errors name the part that is wrong
// ("detection: condition references unknown selection \"sel2\"",
// "detection: selection \"sel\": unsupported modifier \"foo\" on field \"Image\"").
// Errors for valid Sigma that Vigil does not run wrap ErrSigmaUnsupported:
// aggregation conditions (`| count() by x > 5`, `timeframe`), correlation and
// filter rules, placeholders (`|expand`), multi-document rule collections.
func CompileSigma(src []byte) (*SigmaRule, error) {
	root, err := decodeSingleDocument(src)
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("rule: expected a YAML mapping at the top level")
	}
	if mappingValue(root, "correlation") != nil {
		return nil, unsupported("correlation rules are not supported: use a THRESHOLD rule")
	}
	detection := mappingValue(root, "detection")
	if detection == nil {
		if mappingValue(root, "filter") != nil {
			return nil, unsupported("Sigma filter rules (meta filters) are not supported: add the exclusion to the rule itself")
		}
		return nil, errors.New("detection: missing")
	}
	names, err := prepareDetection(detection)
	if err != nil {
		return nil, err
	}

	var parsed sigma.Rule
	if err := root.Decode(&parsed); err != nil {
		return nil, fmt.Errorf("rule: %w", err)
	}
	if strings.TrimSpace(parsed.Title) == "" {
		return nil, errors.New("title: missing")
	}
	if len(parsed.Detection.Searches) == 0 {
		return nil, errors.New("detection: no selection is defined")
	}

	fields, err := normaliseDetection(&parsed, names)
	if err != nil {
		return nil, err
	}
	eval := evaluator.ForRule(parsed,
		evaluator.WithConfig(identityMappings(fields)),
		// sigma-go takes any value written %like-this% for a placeholder,
		// with or without |expand: literal "%TEMP%" must stay itself.
		evaluator.WithPlaceholderExpander(literalPlaceholder),
		// Values are lower-cased once on both sides (see stringMatcher).
		evaluator.CaseSensitive,
	)
	// The evaluator checks modifiers and values only while matching: one dry
	// run on an empty event surfaces what normalise did not catch.
	if _, err := eval.Matches(context.Background(), map[string]any{}); err != nil {
		return nil, fmt.Errorf("detection: %w", err)
	}

	return &SigmaRule{
		ID:          parsed.ID,
		Title:       parsed.Title,
		Level:       strings.ToLower(parsed.Level),
		Status:      strings.ToLower(parsed.Status),
		Description: strings.TrimSpace(parsed.Description),
		Author:      parsed.Author,
		Tags:        parsed.Tags,
		References:  parsed.References,
		Logsource: Logsource{
			Product:  strings.ToLower(strings.TrimSpace(parsed.Logsource.Product)),
			Category: strings.ToLower(strings.TrimSpace(parsed.Logsource.Category)),
			Service:  strings.ToLower(strings.TrimSpace(parsed.Logsource.Service)),
		},
		eval:   eval,
		fields: fields,
		pre:    buildPrefilter(parsed, fields),
	}, nil
}

func literalPlaceholder(_ context.Context, value string) ([]string, error) {
	return []string{value}, nil
}

// decodeSingleDocument parses src as exactly one YAML document.
func decodeSingleDocument(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("rule: empty document")
		}
		return nil, fmt.Errorf("rule: %w", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, unsupported("multi-document rule collections (action: global) are not supported: one rule per file")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// mappingValue returns the value node under key in a mapping node.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// LoadFailure is a rule file LoadSigmaDir could not compile, with why.
type LoadFailure struct{ Path, Reason string }

// LoadSigmaDir compiles every *.yml and *.yaml file under dir, recursively,
// in lexical order. A file that does not compile is a LoadFailure, never a
// silent omission; err is only for I/O on dir itself (missing, unreadable).
func LoadSigmaDir(dir string) (rules []*SigmaRule, failures []LoadFailure, err error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load sigma rules: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("load sigma rules: %s is not a directory", dir)
	}
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			failures = append(failures, LoadFailure{Path: path, Reason: err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".yml" && ext != ".yaml" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			failures = append(failures, LoadFailure{Path: path, Reason: err.Error()})
			return nil
		}
		rule, err := CompileSigma(src)
		if err != nil {
			failures = append(failures, LoadFailure{Path: path, Reason: err.Error()})
			return nil
		}
		rules = append(rules, rule)
		return nil
	})
	if walkErr != nil {
		return nil, nil, fmt.Errorf("load sigma rules: %w", walkErr)
	}
	sort.SliceStable(failures, func(i, j int) bool { return failures[i].Path < failures[j].Path })
	return rules, failures, nil
}
