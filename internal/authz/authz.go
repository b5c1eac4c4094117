// Package authz owns role permissions: what each membership role may do in a
// tenant, decided by casbin (RBAC with domains, a domain being a tenant id)
// over policies stored in the CasbinRule table. It does not know who holds
// which role (memberships are the source of truth, read per request by the
// caller of Can), does not filter lists (the ent interceptors do), and does
// not decide who may change policies (its callers do).
//
// # Policies
//
// A policy line is (subject, domain, resource, action), the subject being
// "role:OWNER" and so on. The default permissions of Matrix are stored with
// the domain "*" and hold in every tenant; a tenant may be granted more with
// lines in its own domain (Grant). Grants only add: there is no deny effect,
// so a tenant cannot be given less than the defaults short of revoking a
// default line for everyone. New seeds the defaults when the table holds no
// line at all, so an operator's later revocations survive restarts; the
// flip side is that a permission added to Matrix in a later release reaches
// an existing database only through a migration or Grant.
//
// The role_definition g (role, role, domain) is not used by the defaults: it
// is there so a tenant-defined role can later inherit a built-in one in its
// own domain without changing the model.
//
// # Keeping replicas current
//
// The database is the source of truth; every replica holds the whole policy
// (a few hundred lines) in one synced enforcer and reloads it all when told
// it changed:
//
//   - Grant and Revoke write through the Adapter, then reload the local
//     enforcer, so the caller reads its own write at once on both databases.
//   - On PostgreSQL they then notify the channel vigil_authz (pg_notify,
//     empty payload). Watch takes one connection out of db.Pool for LISTEN,
//     reloads on every notification (bursts are coalesced), and after a
//     dropped connection re-listens with exponential backoff and reloads
//     once, since notifications sent meanwhile are lost.
//   - On SQLite there is one process, so the local reload is the whole story.
//   - On both, Watch polls a fingerprint of the table (row count and largest
//     id) every Options.PollInterval and reloads when it moved: a safety net
//     for policies edited by another process that does not notify, such as
//     the CLI or SQL by hand. Ids are time-ordered ULIDs and the Adapter
//     updates by delete-and-insert, so any insert or delete moves the
//     fingerprint; an UPDATE in place by hand does not, and needs a restart
//     or a Grant/Revoke to be seen.
//
// # Checks
//
// casbin's Enforce scans every policy line: about 20 µs and 250 allocations
// for the default matrix (BenchmarkCan). Can memoises its answers per loaded
// policy, which brings a repeated check to a map lookup (tens of ns); see
// the decisions type for why this is not casbin's cached enforcer.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/casbinrule"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/pulid"
)

// Model is the casbin model. The matcher compares the cheap strings first
// and calls g() last, only for the few lines that name the permission asked.
const Model = `[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && r.act == p.act && (p.dom == "*" || p.dom == r.dom) && g(r.sub, p.sub, r.dom)
`

// AllTenants is the domain of lines that hold in every tenant.
const AllTenants = "*"

// Channel is the PostgreSQL notification channel that announces a policy change.
const Channel = "vigil_authz"

// DefaultPollInterval is how often Watch checks the table when Options do not say.
const DefaultPollInterval = 30 * time.Second

// Errors that callers of Grant and Revoke branch on (bad input).
var (
	ErrUnknownRole       = errors.New("unknown role")
	ErrUnknownPermission = errors.New("unknown permission")
	ErrInvalidTenant     = errors.New(`tenant must be "*" or a tenant id`)
)

// Options tune an Authz.
type Options struct {
	// PollInterval is how often Watch compares the policy table's
	// fingerprint with the loaded one; DefaultPollInterval when zero.
	PollInterval time.Duration
	// Logger receives Watch's troubles; nil discards them.
	Logger *slog.Logger
}

// Authz answers permission questions from the policies in the database.
// Its methods are safe for concurrent use.
type Authz struct {
	db       *database.DB
	adapter  *Adapter
	enforcer *casbin.SyncedEnforcer
	poll     time.Duration
	log      *slog.Logger

	decided atomic.Pointer[decisions] // memo of the policies loaded last
	// loads is odd while a reload is under way: a seqlock, so that Can
	// stores only answers computed from the policy its memo belongs to.
	loads atomic.Uint64

	reloadMu sync.Mutex  // serialises reloads, so an older read never wins
	seen     fingerprint // of the table as last loaded; guarded by reloadMu
	onReload func()      // test hook; guarded by reloadMu
}

// New returns an Authz on db: it seeds the default policies of Matrix when
// the table holds none (idempotent, and safe when replicas start together)
// and loads the policies. Call Watch to keep it current.
func New(ctx context.Context, db *database.DB, opts Options) (*Authz, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := model.NewModelFromString(Model)
	if err != nil {
		return nil, fmt.Errorf("authz model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("authz enforcer: %w", err)
	}
	ad := NewAdapter(db.Ent)
	e.SetAdapter(ad)
	a := &Authz{db: db, adapter: ad, enforcer: e, poll: opts.PollInterval, log: opts.Logger}
	if err := a.seed(ctx); err != nil {
		return nil, err
	}
	if err := a.Reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// DefaultPolicies returns the policy lines of Matrix, as stored:
// [role:ROLE, *, resource, action].
func DefaultPolicies() [][]string {
	var lines [][]string
	for _, r := range Matrix {
		for _, role := range r.Roles {
			lines = append(lines, []string{subject(role), AllTenants, r.Permission.Resource, r.Permission.Action})
		}
	}
	return lines
}

func (a *Authz) seed(ctx context.Context) error {
	n, err := a.db.Ent.CasbinRule.Query().Count(system(ctx))
	if err != nil {
		return fmt.Errorf("count policies: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := a.adapter.AddPoliciesCtx(ctx, "p", "p", DefaultPolicies()); err != nil {
		return fmt.Errorf("seed default policies: %w", err)
	}
	return nil
}

// subjects avoids building "role:X" on every check.
var subjects = func() map[string]string {
	m := make(map[string]string, len(Roles))
	for _, r := range Roles {
		m[r] = "role:" + r
	}
	return m
}()

func subject(role string) string {
	if s, ok := subjects[role]; ok {
		return s
	}
	return "role:" + role
}

// Can reports whether role may do p in tenant. An empty role or tenant may
// do nothing: roles exist only within a tenant.
func (a *Authz) Can(role string, tenant pulid.ID, p Permission) bool {
	if role == "" || tenant == "" || tenant == AllTenants {
		return false
	}
	seq := a.loads.Load()
	d := a.decided.Load()
	key := decisionKey{role: role, p: p}
	if d.own[string(tenant)] {
		key.domain = string(tenant)
	}
	if ok, found := d.get(key); found {
		return ok
	}
	ok, err := a.enforcer.Enforce(subject(role), string(tenant), p.Resource, p.Action)
	if err != nil {
		a.log.Error("authz: enforce", "role", role, "tenant", string(tenant), "permission", p.String(), "err", err)
		return false
	}
	if _, known := subjects[role]; known && seq%2 == 0 && a.loads.Load() == seq {
		d.put(key, ok)
	}
	return ok
}

// decisions memoises casbin's answers for one loaded policy; a reload
// replaces it whole, so no answer outlives the policy it came from, and a
// check that overlaps a reload stores nothing (Authz.loads).
//
// casbin's own cached enforcer keys by the whole request, so it grows with
// every tenant, and clears its cache before loading, so a check that runs
// during the load can cache the old answer for good. Here tenants without
// lines of their own share one key, as their answers are the same: the memo
// holds at most roles × permissions × (tenants with own lines + 1) answers.
type decisions struct {
	own      map[string]bool // domains with lines of their own (p or g)
	disabled bool            // memoise nothing

	mu      sync.RWMutex
	answers map[decisionKey]bool
}

// decisionKey names a check; domain is empty for tenants without own lines.
type decisionKey struct {
	role   string
	domain string
	p      Permission
}

// maxAnswers bounds the memo whatever callers ask.
const maxAnswers = 1 << 16

func newDecisions(e *casbin.SyncedEnforcer) (*decisions, error) {
	d := &decisions{own: map[string]bool{}, answers: map[decisionKey]bool{}}
	ps, err := e.GetPolicy()
	if err != nil {
		return nil, err
	}
	for _, l := range ps {
		if l[1] != AllTenants {
			d.own[l[1]] = true
		}
	}
	gs, err := e.GetGroupingPolicy()
	if err != nil {
		return nil, err
	}
	for _, l := range gs {
		if len(l) > 2 {
			d.own[l[2]] = true
		}
	}
	return d, nil
}

func (d *decisions) get(k decisionKey) (ok, found bool) {
	d.mu.RLock()
	ok, found = d.answers[k]
	d.mu.RUnlock()
	return ok, found
}

func (d *decisions) put(k decisionKey, ok bool) {
	if d.disabled {
		return
	}
	d.mu.Lock()
	if len(d.answers) < maxAnswers {
		d.answers[k] = ok
	}
	d.mu.Unlock()
}

// Permissions returns what role may do in tenant, defaults and the tenant's
// own grants, sorted by their string form (for viewer.permissions).
func (a *Authz) Permissions(role string, tenant pulid.ID) []Permission {
	lines, err := a.enforcer.GetPolicy()
	if err != nil {
		a.log.Error("authz: list policies", "err", err)
		return nil
	}
	seen := make(map[Permission]bool)
	var ps []Permission
	for _, l := range lines {
		p := Permission{Resource: l[2], Action: l[3]}
		if seen[p] {
			continue
		}
		seen[p] = true
		if a.Can(role, tenant, p) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(x, y Permission) int { return strings.Compare(x.String(), y.String()) })
	return ps
}

// Grant lets role do p in tenant ("*" for every tenant). Granting what is
// granted already is not an error. The local enforcer sees the grant when
// Grant returns; other replicas as soon as their Watch hears of it.
//
// Do not call it inside an ent transaction: it writes in its own.
func (a *Authz) Grant(ctx context.Context, role, tenant string, p Permission) error {
	line, err := policyLine(role, tenant, p)
	if err != nil {
		return err
	}
	if err := a.adapter.AddPolicyCtx(ctx, "p", "p", line); err != nil {
		return fmt.Errorf("grant %s to %s in %s: %w", p, role, tenant, err)
	}
	return a.changed(ctx)
}

// Revoke removes the line that lets role do p in tenant ("*" for the
// default line of every tenant). Revoking what is not granted is not an
// error. A tenant line cannot take away a default: revoke "*" for that.
func (a *Authz) Revoke(ctx context.Context, role, tenant string, p Permission) error {
	line, err := policyLine(role, tenant, p)
	if err != nil {
		return err
	}
	if err := a.adapter.RemovePolicyCtx(ctx, "p", "p", line); err != nil {
		return fmt.Errorf("revoke %s from %s in %s: %w", p, role, tenant, err)
	}
	return a.changed(ctx)
}

func policyLine(role, tenant string, p Permission) ([]string, error) {
	switch {
	case !IsRole(role):
		return nil, fmt.Errorf("%w %q (one of %s)", ErrUnknownRole, role, strings.Join(Roles, ", "))
	case !Known(p):
		return nil, fmt.Errorf("%w %q", ErrUnknownPermission, p)
	case tenant != AllTenants && pulid.ID(tenant).Prefix() != "tnt":
		return nil, fmt.Errorf("%w, not %q", ErrInvalidTenant, tenant)
	}
	return []string{subject(role), tenant, p.Resource, p.Action}, nil
}

// changed makes a write visible: here at once, elsewhere by notification.
// Replicas are told even when the local reload fails.
func (a *Authz) changed(ctx context.Context) error {
	err := a.Reload(ctx)
	if a.db.Dialect == dialect.Postgres && a.db.Pool != nil {
		if _, nerr := a.db.Pool.Exec(ctx, "SELECT pg_notify($1, '')", Channel); nerr != nil {
			// The write is committed; replicas still see it at their next poll.
			err = errors.Join(err, fmt.Errorf("policy saved, but notifying replicas failed: %w", nerr))
		}
	}
	return err
}

// Reload replaces the loaded policies with the table's.
func (a *Authz) Reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.loads.Add(1) // odd: Can must not memoise until the new memo is out
	defer a.loads.Add(1)
	done := a.adapter.loadingWith(ctx)
	err := a.enforcer.LoadPolicy()
	done()
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	// The fingerprint of exactly the rows loaded, not of the table a moment
	// before or after: a change in between must still look like a change.
	a.seen = a.adapter.lastLoaded()
	// Publish the memo only now that the enforcer holds the new policy.
	d, err := newDecisions(a.enforcer)
	if err != nil {
		a.decided.Store(&decisions{disabled: true}) // the old memo no longer matches
		return fmt.Errorf("index policies: %w", err)
	}
	a.decided.Store(d)
	if a.onReload != nil {
		a.onReload()
	}
	return nil
}

// fingerprint is a cheap summary of the policy table (or of the lines
// loaded from it) that any insert or delete changes.
type fingerprint struct {
	count int
	maxID string
}

func (a *Authz) fingerprint(ctx context.Context) (fingerprint, error) {
	var v []struct {
		Count int     `json:"count"`
		Max   *string `json:"max"`
	}
	err := a.db.Ent.CasbinRule.Query().
		Aggregate(ent.Count(), ent.Max(casbinrule.FieldID)).
		Scan(system(ctx), &v)
	if err != nil {
		return fingerprint{}, fmt.Errorf("read policy fingerprint: %w", err)
	}
	if len(v) != 1 {
		return fingerprint{}, fmt.Errorf("read policy fingerprint: %d rows", len(v))
	}
	fp := fingerprint{count: v[0].Count}
	if v[0].Max != nil {
		fp.maxID = *v[0].Max
	}
	return fp, nil
}

// stale reports whether the table moved since the last reload.
func (a *Authz) stale(ctx context.Context) (bool, error) {
	fp, err := a.fingerprint(ctx)
	if err != nil {
		return false, err
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	return fp != a.seen, nil
}
