package graph

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/vigilhq/vigil/graph/model"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/ingest"
)

// maxGraphQLEvents bounds ingestEvents; bulk goes through POST /v1/events.
const maxGraphQLEvents = 1000

// recheckEvery is how often an open subscription re-checks its caller's
// rights even when no access change was announced (a backstop: changes are
// announced at once).
const recheckEvery = 30 * time.Second

// ErrAccessRevoked ends a subscription whose caller lost the right to it.
var ErrAccessRevoked = errors.New("access revoked: the session ended or the role no longer allows alert subscriptions")

func ingestResult(res *ingest.Result) *model.IngestResult {
	out := &model.IngestResult{
		Accepted: res.Accepted, Rejected: res.Rejected, Duplicates: res.Duplicates,
		Errors: make([]*model.IngestError, 0, len(res.Errors)),
	}
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, &model.IngestError{Line: e.Line, Message: e.Message})
	}
	if res.BatchID != "" {
		id := res.BatchID
		out.BatchID = &id
	}
	return out
}

// maySubscribe is the right to alertEvents: alert:subscribe for the role and,
// for API keys, the alerts:subscribe scope.
func (r *Resolver) maySubscribe(c *caller.Caller) bool {
	if c == nil {
		return false
	}
	if c.Has(caller.CapAllTenants) {
		return true
	}
	return c.TenantID != "" && c.HasScope("alerts:subscribe") && r.Authz.Allowed(c.Role, c.TenantID, "alert:subscribe")
}

func (r *Resolver) alertEvents(ctx context.Context, after *string, filter *model.AlertEventFilter) (<-chan *model.AlertEvent, error) {
	c := caller.From(ctx)
	if c == nil {
		return nil, caller.ErrNoCaller
	}
	if !r.maySubscribe(c) || c.TenantID == "" {
		return nil, forbidden("your role or key may not subscribe to alerts (needs alert:subscribe and the alerts:subscribe scope)")
	}
	var cursor string
	if after != nil {
		cursor = *after
	}
	seq, from, err := alertstream.ParseCursor(cursor)
	if err != nil {
		return nil, badInput("after: %v", err)
	}
	sub, err := r.Hub.Subscribe(ctx, c.TenantID, seq, from, r.subscriptionGuard(c, filter))
	if err != nil {
		return nil, err
	}
	out := make(chan *model.AlertEvent)
	go func() {
		defer close(out)
		for ev := range sub.Events {
			select {
			case out <- &model.AlertEvent{Cursor: alertstream.Cursor(ev.Seq), Kind: model.AlertEventKind(ev.Kind), Alert: ev.Alert}:
			case <-ctx.Done():
				return
			}
		}
		if r.OnSubscriptionEnd != nil {
			r.OnSubscriptionEnd(ctx, sub.Err())
		}
	}()
	return out, nil
}

// subscriptionGuard authorises each event for one subscriber at delivery:
// the caller's session or key must still be valid and its role must still
// allow subscriptions (re-checked when access changes anywhere, and every
// recheckEvery), and the event must pass the subscriber's filter.
func (r *Resolver) subscriptionGuard(c *caller.Caller, filter *model.AlertEventFilter) alertstream.Guard {
	current := c
	checked := time.Now()
	return func(ctx context.Context, ev *alertstream.Event) (bool, error) {
		if ev == nil || time.Since(checked) > recheckEvery {
			if r.Auth != nil && c.Kind != caller.KindSystem {
				nc, err := r.Auth.Recheck(ctx, current)
				if err != nil {
					return false, ErrAccessRevoked
				}
				current = nc
			}
			checked = time.Now()
		}
		if !r.maySubscribe(current) {
			return false, ErrAccessRevoked
		}
		if ev == nil {
			return false, nil
		}
		return matchesFilter(filter, ev), nil
	}
}

func matchesFilter(f *model.AlertEventFilter, ev *alertstream.Event) bool {
	if f == nil {
		return true
	}
	a := ev.Alert
	switch {
	case len(f.Severities) > 0 && !slices.Contains(f.Severities, a.Severity),
		len(f.Statuses) > 0 && !slices.Contains(f.Statuses, a.Status),
		f.MinRiskScore != nil && a.RiskScore < *f.MinRiskScore,
		len(f.Kinds) > 0 && !slices.Contains(f.Kinds, model.AlertEventKind(ev.Kind)),
		len(f.RuleIds) > 0 && (a.RuleID == nil || !slices.Contains(f.RuleIds, *a.RuleID)):
		return false
	}
	return true
}

// edgePermissions guard fields that lead from one type to another that
// needs its own permission: a partner receives alerts on its subscription,
// but may not read their rule, assignee or comments through them.
// It is keyed by type, then field, so the check on every resolved field
// allocates nothing.
var edgePermissions = map[string]map[string]string{
	"Alert":        {"rule": "rule:read", "assignee": "member:read", "comments": "alert:read"},
	"AlertComment": {"author": "member:read", "alert": "alert:read"},
}

// FieldGuard is gqlgen field middleware enforcing edgePermissions.
func (r *Resolver) FieldGuard(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Field.Field != nil {
		if perm, ok := edgePermissions[fc.Object][fc.Field.Name]; ok {
			if _, err := r.require(ctx, perm); err != nil {
				return nil, err
			}
		}
	}
	return next(ctx)
}
