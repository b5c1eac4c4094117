package authz

import "context"

// SetReloadHook calls f after every successful reload of a, so tests can
// wait for one instead of sleeping. Call it before Watch.
func SetReloadHook(a *Authz, f func()) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.onReload = f
}

// Stale reports whether the policy table moved since a last loaded it.
func Stale(ctx context.Context, a *Authz) (bool, error) { return a.stale(ctx) }

// Enforce asks casbin directly, past the memo of Can.
func Enforce(a *Authz, role string, tenant string, p Permission) bool {
	ok, _ := a.enforcer.Enforce(subject(role), tenant, p.Resource, p.Action)
	return ok
}
