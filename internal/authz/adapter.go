package authz

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/casbinrule"
	"github.com/vigilhq/vigil/ent/predicate"
	"github.com/vigilhq/vigil/internal/caller"
)

// The adapter implements casbin's storage interfaces, with and without a context.
var (
	_ persist.BatchAdapter            = (*Adapter)(nil)
	_ persist.UpdatableAdapter        = (*Adapter)(nil)
	_ persist.ContextBatchAdapter     = (*Adapter)(nil)
	_ persist.ContextUpdatableAdapter = (*Adapter)(nil)
)

// Adapter stores casbin policy lines in the CasbinRule table through ent.
//
// Policies are platform data that only a caller with caller.CapAllTenants
// may read, so the adapter acts as the system caller "authz" whatever caller
// the context carries: deciding who may change policies is the job of the
// code that calls it. It opens its own transactions on the root client, so
// it must not be called inside another ent transaction on SQLite (the one
// connection belongs to that transaction).
//
// Writes are idempotent: adding a line that exists is not an error (the
// unique index on ptype, v0…v5 keeps one copy), nor is removing one that
// does not. An update is a delete and an insert, so the updated line gets a
// new id and the fingerprint that Authz.Watch polls notices it.
type Adapter struct {
	client  *ent.Client
	timeout time.Duration

	mu      sync.Mutex
	loadCtx context.Context // the context of the Reload in progress, if any
	loaded  fingerprint     // of the lines last loaded
}

// NewAdapter returns an adapter over client.
func NewAdapter(client *ent.Client) *Adapter {
	return &Adapter{client: client, timeout: 30 * time.Second}
}

// fields are the value columns of a line, in order.
const fields = 6

// insertBatch bounds the rows per INSERT: SQLite refuses statements with too
// many variables (8 per row here).
const insertBatch = 500

// system returns ctx acting as the authz system caller.
func system(ctx context.Context) context.Context {
	return caller.With(ctx, caller.System("authz"))
}

// background is the context of the calls that casbin makes without one.
func (a *Adapter) background() (context.Context, context.CancelFunc) {
	a.mu.Lock()
	ctx := a.loadCtx
	a.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, a.timeout)
}

// loadingWith makes LoadPolicy, which casbin calls without a context, use
// ctx until the returned function is called.
func (a *Adapter) loadingWith(ctx context.Context) (done func()) {
	a.mu.Lock()
	a.loadCtx = ctx
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		a.loadCtx = nil
		a.mu.Unlock()
	}
}

// LoadPolicy implements persist.Adapter.
func (a *Adapter) LoadPolicy(m model.Model) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.LoadPolicyCtx(ctx, m)
}

// LoadPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	rows, err := a.client.CasbinRule.Query().Order(casbinrule.ByID()).All(system(ctx))
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	fp := fingerprint{count: len(rows)}
	for _, r := range rows {
		line := lineOf(r, m)
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return fmt.Errorf("load policy line %v: %w", line, err)
		}
		fp.maxID = max(fp.maxID, string(r.ID))
	}
	a.mu.Lock()
	a.loaded = fp
	a.mu.Unlock()
	return nil
}

// lastLoaded returns the fingerprint of the lines that LoadPolicy read last.
func (a *Adapter) lastLoaded() fingerprint {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loaded
}

// lineOf returns r as casbin's [ptype, v0, …], as long as the model's
// definition of ptype (trailing empty values are dropped for unknown ones).
func lineOf(r *ent.CasbinRule, m model.Model) []string {
	vs := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	n := len(vs)
	if ast, ok := m[r.Ptype[:1]][r.Ptype]; ok && len(ast.Tokens) <= fields {
		n = len(ast.Tokens)
	} else {
		for n > 0 && vs[n-1] == "" {
			n--
		}
	}
	return append([]string{r.Ptype}, vs[:n]...)
}

// SavePolicy implements persist.Adapter: it replaces every stored line with
// the model's, in one transaction.
func (a *Adapter) SavePolicy(m model.Model) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.SavePolicyCtx(ctx, m)
}

// SavePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var lines [][]string
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			for _, rule := range ast.Policy {
				lines = append(lines, append([]string{ptype}, rule...))
			}
		}
	}
	return a.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if _, err := tx.CasbinRule.Delete().Exec(ctx); err != nil {
			return fmt.Errorf("clear policies: %w", err)
		}
		return insert(ctx, tx, lines)
	})
}

// AddPolicy implements persist.Adapter.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.AddPolicyCtx(ctx, sec, ptype, rule)
}

// AddPolicyCtx implements persist.ContextAdapter.
func (a *Adapter) AddPolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.AddPoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// AddPolicies implements persist.BatchAdapter.
func (a *Adapter) AddPolicies(sec, ptype string, rules [][]string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.AddPoliciesCtx(ctx, sec, ptype, rules)
}

// AddPoliciesCtx implements persist.ContextBatchAdapter: all lines or none,
// in one transaction; lines that exist already are skipped.
func (a *Adapter) AddPoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	lines, err := withPtype(ptype, rules)
	if err != nil {
		return err
	}
	return a.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		return insert(ctx, tx, lines)
	})
}

// RemovePolicy implements persist.Adapter.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.RemovePolicyCtx(ctx, sec, ptype, rule)
}

// RemovePolicyCtx implements persist.ContextAdapter.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.RemovePoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// RemovePolicies implements persist.BatchAdapter.
func (a *Adapter) RemovePolicies(sec, ptype string, rules [][]string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.RemovePoliciesCtx(ctx, sec, ptype, rules)
}

// RemovePoliciesCtx implements persist.ContextBatchAdapter, in one transaction.
func (a *Adapter) RemovePoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	lines, err := withPtype(ptype, rules)
	if err != nil {
		return err
	}
	return a.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		return remove(ctx, tx, lines)
	})
}

// RemoveFilteredPolicy implements persist.Adapter.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.RemoveFilteredPolicyCtx(ctx, sec, ptype, fieldIndex, fieldValues...)
}

// RemoveFilteredPolicyCtx implements persist.ContextAdapter. Empty values
// in fieldValues match anything, as casbin expects.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, sec, ptype string, fieldIndex int, fieldValues ...string) error {
	where, err := filter(ptype, fieldIndex, fieldValues)
	if err != nil {
		return err
	}
	if _, err := a.client.CasbinRule.Delete().Where(where).Exec(system(ctx)); err != nil {
		return fmt.Errorf("remove policies: %w", err)
	}
	return nil
}

// UpdatePolicy implements persist.UpdatableAdapter.
func (a *Adapter) UpdatePolicy(sec, ptype string, oldRule, newRule []string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.UpdatePolicyCtx(ctx, sec, ptype, oldRule, newRule)
}

// UpdatePolicyCtx implements persist.ContextUpdatableAdapter.
func (a *Adapter) UpdatePolicyCtx(ctx context.Context, sec, ptype string, oldRule, newRule []string) error {
	return a.UpdatePoliciesCtx(ctx, sec, ptype, [][]string{oldRule}, [][]string{newRule})
}

// UpdatePolicies implements persist.UpdatableAdapter.
func (a *Adapter) UpdatePolicies(sec, ptype string, oldRules, newRules [][]string) error {
	ctx, cancel := a.background()
	defer cancel()
	return a.UpdatePoliciesCtx(ctx, sec, ptype, oldRules, newRules)
}

// UpdatePoliciesCtx implements persist.ContextUpdatableAdapter: the old
// lines are replaced by the new ones in one transaction.
func (a *Adapter) UpdatePoliciesCtx(ctx context.Context, sec, ptype string, oldRules, newRules [][]string) error {
	if len(oldRules) != len(newRules) {
		return fmt.Errorf("update policies: %d old lines but %d new ones", len(oldRules), len(newRules))
	}
	olds, err := withPtype(ptype, oldRules)
	if err != nil {
		return err
	}
	news, err := withPtype(ptype, newRules)
	if err != nil {
		return err
	}
	return a.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if err := remove(ctx, tx, olds); err != nil {
			return err
		}
		return insert(ctx, tx, news)
	})
}

// UpdateFilteredPolicies implements persist.UpdatableAdapter.
func (a *Adapter) UpdateFilteredPolicies(sec, ptype string, newRules [][]string, fieldIndex int, fieldValues ...string) ([][]string, error) {
	ctx, cancel := a.background()
	defer cancel()
	return a.UpdateFilteredPoliciesCtx(ctx, sec, ptype, newRules, fieldIndex, fieldValues...)
}

// UpdateFilteredPoliciesCtx implements persist.ContextUpdatableAdapter: it
// replaces the lines that match the filter with newRules, in one
// transaction, and returns the lines it removed.
func (a *Adapter) UpdateFilteredPoliciesCtx(ctx context.Context, sec, ptype string, newRules [][]string, fieldIndex int, fieldValues ...string) ([][]string, error) {
	where, err := filter(ptype, fieldIndex, fieldValues)
	if err != nil {
		return nil, err
	}
	news, err := withPtype(ptype, newRules)
	if err != nil {
		return nil, err
	}
	var old [][]string
	err = a.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		rows, err := tx.CasbinRule.Query().Where(where).Order(casbinrule.ByID()).All(ctx)
		if err != nil {
			return fmt.Errorf("find policies: %w", err)
		}
		for _, r := range rows {
			vs := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
			n := len(vs)
			for n > 0 && vs[n-1] == "" {
				n--
			}
			old = append(old, vs[:n])
		}
		if _, err := tx.CasbinRule.Delete().Where(where).Exec(ctx); err != nil {
			return fmt.Errorf("remove policies: %w", err)
		}
		return insert(ctx, tx, news)
	})
	if err != nil {
		return nil, err
	}
	return old, nil
}

// inTx runs fn in one transaction as the system caller.
func (a *Adapter) inTx(ctx context.Context, fn func(ctx context.Context, tx *ent.Client) error) error {
	ctx = system(ctx)
	tx, err := a.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin policy transaction: %w", err)
	}
	if err := fn(ctx, tx.Client()); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit policies: %w", err)
	}
	return nil
}

// withPtype turns casbin's rules of one ptype into stored lines.
func withPtype(ptype string, rules [][]string) ([][]string, error) {
	if ptype == "" {
		return nil, fmt.Errorf("policy line without a ptype")
	}
	lines := make([][]string, 0, len(rules))
	for _, rule := range rules {
		if len(rule) > fields {
			return nil, fmt.Errorf("policy line %v has %d values; the table holds %d", rule, len(rule), fields)
		}
		lines = append(lines, append([]string{ptype}, rule...))
	}
	return lines, nil
}

// insert adds lines, skipping those that exist (the unique index decides,
// so two replicas seeding at once leave one copy).
func insert(ctx context.Context, tx *ent.Client, lines [][]string) error {
	for chunk := range slices.Chunk(lines, insertBatch) {
		creates := make([]*ent.CasbinRuleCreate, len(chunk))
		for i, line := range chunk {
			vs := make([]string, fields)
			copy(vs, line[1:])
			creates[i] = tx.CasbinRule.Create().SetPtype(line[0]).
				SetV0(vs[0]).SetV1(vs[1]).SetV2(vs[2]).SetV3(vs[3]).SetV4(vs[4]).SetV5(vs[5])
		}
		if err := tx.CasbinRule.CreateBulk(creates...).OnConflict(entsql.DoNothing()).Exec(ctx); err != nil {
			return fmt.Errorf("add policies: %w", err)
		}
	}
	return nil
}

// remove deletes lines that match exactly.
func remove(ctx context.Context, tx *ent.Client, lines [][]string) error {
	for _, line := range lines {
		vs := make([]string, fields)
		copy(vs, line[1:])
		_, err := tx.CasbinRule.Delete().Where(
			casbinrule.Ptype(line[0]),
			casbinrule.V0(vs[0]), casbinrule.V1(vs[1]), casbinrule.V2(vs[2]),
			casbinrule.V3(vs[3]), casbinrule.V4(vs[4]), casbinrule.V5(vs[5]),
		).Exec(ctx)
		if err != nil {
			return fmt.Errorf("remove policy %v: %w", line, err)
		}
	}
	return nil
}

// filter matches lines of ptype whose values from fieldIndex on equal
// fieldValues, an empty value matching anything.
func filter(ptype string, fieldIndex int, fieldValues []string) (predicate.CasbinRule, error) {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > fields {
		return nil, fmt.Errorf("policy filter at %d with %d values is out of range", fieldIndex, len(fieldValues))
	}
	columns := []string{
		casbinrule.FieldV0, casbinrule.FieldV1, casbinrule.FieldV2,
		casbinrule.FieldV3, casbinrule.FieldV4, casbinrule.FieldV5,
	}
	ps := []predicate.CasbinRule{casbinrule.Ptype(ptype)}
	for i, v := range fieldValues {
		if v != "" {
			ps = append(ps, predicate.CasbinRule(entsql.FieldEQ(columns[fieldIndex+i], v)))
		}
	}
	return casbinrule.And(ps...), nil
}
