package detect

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigilhq/vigil/ent"
	entrule "github.com/vigilhq/vigil/ent/rule"
	"github.com/vigilhq/vigil/internal/pulid"
)

// ErrInvalidRule wraps every reason a rule definition is refused.
var ErrInvalidRule = errors.New("invalid rule")

// Rules creates and changes a tenant's rules, validating and compiling each
// definition first.
type Rules struct {
	client *ent.Client
}

// NewRules returns the rule service on client.
func NewRules(client *ent.Client) *Rules { return &Rules{client: client} }

// RuleInput is a new rule.
type RuleInput struct {
	Name        string
	Kind        entrule.Kind
	Definition  string
	Severity    entrule.Severity
	Enabled     bool
	Description string
	DedupFields []string
	Tags        []string // ATT&CK tags (attack.t1110); a Sigma rule's own tags are added
}

// RuleUpdate changes a rule; nil fields stay.
type RuleUpdate struct {
	Name        *string
	Definition  *string
	Severity    *entrule.Severity
	Enabled     *bool
	Description *string
	DedupFields []string
	Tags        []string
}

// Validate compiles a definition of kind and returns the tags it carries.
func Validate(kind entrule.Kind, definition string) (tags []string, err error) {
	switch kind {
	case entrule.KindSIGMA:
		r, err := CompileSigma([]byte(definition))
		if err != nil {
			return nil, fmt.Errorf("%w: sigma: %v", ErrInvalidRule, err)
		}
		return r.Tags, nil
	case entrule.KindTHRESHOLD:
		if _, err := CompileThreshold([]byte(definition)); err != nil {
			return nil, fmt.Errorf("%w: threshold: %v", ErrInvalidRule, err)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: unknown kind %q (SIGMA or THRESHOLD)", ErrInvalidRule, kind)
	}
}

// Create validates and stores a rule in the caller's tenant.
func (s *Rules) Create(ctx context.Context, in RuleInput) (*ent.Rule, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, fmt.Errorf("%w: name is empty", ErrInvalidRule)
	}
	tags, err := Validate(in.Kind, in.Definition)
	if err != nil {
		return nil, err
	}
	if err := checkFields(in.DedupFields); err != nil {
		return nil, err
	}
	return s.client.Rule.Create().
		SetName(in.Name).SetKind(in.Kind).SetDefinition(in.Definition).
		SetSeverity(in.Severity).SetEnabled(in.Enabled).SetDescription(in.Description).
		SetDedupFields(in.DedupFields).SetTags(mergeTags(in.Tags, tags)).
		Save(ctx)
}

// Update validates and applies a change to the caller's rule id.
func (s *Rules) Update(ctx context.Context, id pulid.ID, in RuleUpdate) (*ent.Rule, error) {
	r, err := s.client.Rule.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	u := r.Update().AddVersion(1)
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return nil, fmt.Errorf("%w: name is empty", ErrInvalidRule)
		}
		u.SetName(*in.Name)
	}
	tags := r.Tags
	if in.Definition != nil {
		defTags, err := Validate(r.Kind, *in.Definition)
		if err != nil {
			return nil, err
		}
		u.SetDefinition(*in.Definition)
		tags = mergeTags(tags, defTags)
	}
	if in.Tags != nil {
		tags = mergeTags(in.Tags, nil)
	}
	u.SetTags(tags)
	if in.Severity != nil {
		u.SetSeverity(*in.Severity)
	}
	if in.Enabled != nil {
		u.SetEnabled(*in.Enabled)
	}
	if in.Description != nil {
		u.SetDescription(*in.Description)
	}
	if in.DedupFields != nil {
		if err := checkFields(in.DedupFields); err != nil {
			return nil, err
		}
		u.SetDedupFields(in.DedupFields)
	}
	return u.Save(ctx)
}

// SeedDefaults gives a tenant the default rule pack (rules it already has,
// by key, are left alone). client must act for the tenant, or be a platform
// client with the tenant set on each rule.
func SeedDefaults(ctx context.Context, client *ent.Client, tenantID pulid.ID) error {
	have, err := client.Rule.Query().Where(entrule.TenantID(tenantID), entrule.KeyNotNil()).Select(entrule.FieldKey).Strings(ctx)
	if err != nil {
		return fmt.Errorf("default rules: %w", err)
	}
	known := map[string]bool{}
	for _, k := range have {
		known[k] = true
	}
	var builders []*ent.RuleCreate
	for _, d := range DefaultRules() {
		if known[d.Key] {
			continue
		}
		builders = append(builders, client.Rule.Create().
			SetTenantID(tenantID).SetKey(d.Key).SetName(d.Name).SetKind(entrule.Kind(d.Kind)).
			SetDefinition(d.Definition).SetSeverity(entrule.Severity(d.Severity)).SetEnabled(true).
			SetDescription(d.Description).SetTags(d.Tags))
	}
	if len(builders) == 0 {
		return nil
	}
	if err := client.Rule.CreateBulk(builders...).Exec(ctx); err != nil {
		return fmt.Errorf("default rules: %w", err)
	}
	return nil
}

func checkFields(fields []string) error {
	for _, f := range fields {
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, " \t\n") {
			return fmt.Errorf("%w: dedupFields: %q is not a field name like source.ip", ErrInvalidRule, f)
		}
	}
	return nil
}

func mergeTags(a, b []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range append(append([]string{}, a...), b...) {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
