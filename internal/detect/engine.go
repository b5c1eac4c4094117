package detect

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	entevent "github.com/vigilhq/vigil/ent/event"
	entrule "github.com/vigilhq/vigil/ent/rule"
	"github.com/vigilhq/vigil/ent/thresholdhit"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/event"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/types"
)

// Engine scores stored batches of events with their tenant's enabled rules
// and raises alerts. It is what the score job runs.
type Engine struct {
	db     *database.DB
	alerts *alerting.Service
	attack *Attack
	log    *slog.Logger

	mu    sync.Mutex
	cache map[pulid.ID]*ruleSet
}

// NewEngine returns an Engine; attack may be nil (techniques keep their ids
// without names).
func NewEngine(db *database.DB, alerts *alerting.Service, attack *Attack, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{db: db, alerts: alerts, attack: attack, log: log, cache: map[pulid.ID]*ruleSet{}}
}

// ruleSet is a tenant's compiled, enabled rules.
type ruleSet struct {
	stamp      string
	sigma      *SigmaSet
	sigmaRules map[*SigmaRule]*ent.Rule
	thresholds []compiledThreshold
}

type compiledThreshold struct {
	rule *ent.Rule
	def  *ThresholdRule
}

// Stats say what one scoring run did.
type Stats struct {
	Events     int
	Detections int
	Created    int
	Updated    int
}

// hitHorizon is how far back threshold hits are kept for late events; the
// maintenance job prunes older ones.
const hitHorizon = 24 * time.Hour

// ScoreBatch scores the events of one ingest batch of tenantID.
func (e *Engine) ScoreBatch(ctx context.Context, tenantID, batchID pulid.ID) (Stats, error) {
	ctx = caller.With(ctx, caller.ForTenant("score", tenantID))
	var st Stats
	err := e.db.WithTx(ctx, func(tx *ent.Tx) error {
		if e.db.Dialect == dialect.Postgres {
			// One scorer per tenant at a time: threshold windows count hits of
			// earlier batches, which a concurrent scorer would not see yet.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "vigil.score."+string(tenantID)); err != nil {
				return fmt.Errorf("lock tenant scoring: %w", err)
			}
		}
		rs, err := e.rules(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		rows, err := tx.Event.Query().Where(entevent.BatchID(string(batchID))).Order(ent.Asc(entevent.FieldTimestamp)).All(ctx)
		if err != nil {
			return fmt.Errorf("load batch %s: %w", batchID, err)
		}
		st.Events = len(rows)
		events := make([]event.Event, len(rows))
		for i, r := range rows {
			events[i] = event.Event{ID: string(r.ID), Timestamp: r.Timestamp, Fields: r.Fields, Original: r.Original}
		}
		dets := e.matchSigma(ctx, rs, events)
		tdets, err := e.matchThresholds(ctx, tx, rs, events)
		if err != nil {
			return err
		}
		dets = append(dets, tdets...)
		st.Detections = len(dets)
		for _, d := range dets {
			_, created, err := e.alerts.Raise(ctx, tx, d)
			if err != nil {
				return err
			}
			if created {
				st.Created++
			} else {
				st.Updated++
			}
		}
		return nil
	})
	return st, err
}

// rules returns the tenant's compiled rules, recompiling when a rule changed.
func (e *Engine) rules(ctx context.Context, tx *ent.Tx, tenantID pulid.ID) (*ruleSet, error) {
	// Every change bumps a rule's version and rules are never deleted, so
	// the count and the sum of versions change with any edit.
	var stamp []struct {
		Count int `json:"count"`
		Sum   int `json:"sum"`
	}
	if err := tx.Rule.Query().Aggregate(ent.Count(), ent.Sum(entrule.FieldVersion)).Scan(ctx, &stamp); err != nil {
		return nil, fmt.Errorf("rule set fingerprint: %w", err)
	}
	key := ""
	if len(stamp) == 1 {
		key = fmt.Sprintf("%d/%d", stamp[0].Count, stamp[0].Sum)
	}
	e.mu.Lock()
	cached := e.cache[tenantID]
	e.mu.Unlock()
	if cached != nil && cached.stamp == key {
		return cached, nil
	}
	all, err := tx.Rule.Query().Where(entrule.Enabled(true)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	rs := &ruleSet{stamp: key, sigmaRules: map[*SigmaRule]*ent.Rule{}}
	var sigmas []*SigmaRule
	for _, r := range all {
		switch r.Kind {
		case entrule.KindSIGMA:
			sr, err := CompileSigma([]byte(r.Definition))
			if err != nil {
				e.log.WarnContext(ctx, "stored sigma rule does not compile; skipped", "rule_id", r.ID, "err", err)
				continue
			}
			sigmas = append(sigmas, sr)
			rs.sigmaRules[sr] = r
		case entrule.KindTHRESHOLD:
			tr, err := CompileThreshold([]byte(r.Definition))
			if err != nil {
				e.log.WarnContext(ctx, "stored threshold rule does not compile; skipped", "rule_id", r.ID, "err", err)
				continue
			}
			rs.thresholds = append(rs.thresholds, compiledThreshold{rule: r, def: tr})
		}
	}
	rs.sigma = NewSigmaSet(sigmas)
	e.mu.Lock()
	e.cache[tenantID] = rs
	e.mu.Unlock()
	return rs, nil
}

// defaultDedupFields group a Sigma rule's detections when the rule names none.
var defaultDedupFields = []string{"host.name"}

func (e *Engine) matchSigma(ctx context.Context, rs *ruleSet, events []event.Event) []alerting.Detection {
	byKey := map[string]*alerting.Detection{}
	var order []string
	for _, ev := range events {
		for _, m := range rs.sigma.Match(ctx, ev) {
			r := rs.sigmaRules[m.Rule]
			if r == nil {
				continue
			}
			fields := r.DedupFields
			if len(fields) == 0 {
				fields = defaultDedupFields
			}
			entities := map[string]any{}
			parts := []string{string(r.ID)}
			for _, f := range fields {
				v := ev.String(f)
				parts = append(parts, f+"="+v)
				if v != "" {
					entities[f] = v
				}
			}
			key := strings.Join(parts, "|")
			d := byKey[key]
			if d == nil {
				d = &alerting.Detection{
					RuleID: r.ID, Title: title(r.Name, entities), Severity: alert.Severity(r.Severity),
					DedupKey: key, Entities: entities, Techniques: e.techniques(r.Tags),
					First: ev.Timestamp, Last: ev.Timestamp,
				}
				byKey[key] = d
				order = append(order, key)
			}
			d.Count++
			d.NewCount++
			d.First, d.Last = earliest(d.First, ev.Timestamp), latest(d.Last, ev.Timestamp)
			if len(d.Samples) < alerting.MaxSamples {
				d.Samples = append(d.Samples, ev.Fields)
			}
		}
	}
	out := make([]alerting.Detection, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// matchThresholds stores the batch's threshold hits, then judges each
// touched group with its stored neighbours inside the rule's window (so late
// events count), and turns every burst into a detection.
func (e *Engine) matchThresholds(ctx context.Context, tx *ent.Tx, rs *ruleSet, events []event.Event) ([]alerting.Detection, error) {
	var out []alerting.Detection
	byID := make(map[string]event.Event, len(events))
	for _, ev := range events {
		byID[ev.ID] = ev
	}
	for _, t := range rs.thresholds {
		type group struct {
			values   map[string]string
			from, to time.Time
		}
		groups := map[string]*group{}
		fresh := map[string]bool{}
		var builders []*ent.ThresholdHitCreate
		for _, ev := range events {
			filter, follow := t.def.Filter(ev), t.def.IsFollowUp(ev)
			if !filter && !follow {
				continue
			}
			key, values, ok := t.def.GroupKey(ev)
			if !ok {
				continue
			}
			g := groups[key]
			if g == nil {
				g = &group{values: values, from: ev.Timestamp, to: ev.Timestamp}
				groups[key] = g
			}
			g.from, g.to = earliest(g.from, ev.Timestamp), latest(g.to, ev.Timestamp)
			fresh[ev.ID] = true
			h := t.def.Hit(ev)
			b := tx.ThresholdHit.Create().
				SetRuleID(t.rule.ID).SetGroupKey(key).SetAt(h.At).
				SetEventID(pulid.ID(h.EventID)).SetFollowUp(h.FollowUp)
			if h.Distinct != "" {
				b.SetDistinct(h.Distinct)
			}
			builders = append(builders, b)
		}
		for i := 0; i < len(builders); i += 500 {
			if err := tx.ThresholdHit.CreateBulk(builders[i:min(i+500, len(builders))]...).Exec(ctx); err != nil {
				return nil, fmt.Errorf("store threshold hits: %w", err)
			}
		}
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w := t.def.Window()
		for _, key := range keys {
			g := groups[key]
			stored, err := tx.ThresholdHit.Query().
				Where(thresholdhit.RuleID(t.rule.ID), thresholdhit.GroupKey(key),
					thresholdhit.AtGTE(g.from.Add(-w)), thresholdhit.AtLTE(g.to.Add(w))).
				All(ctx)
			if err != nil {
				return nil, fmt.Errorf("load threshold hits: %w", err)
			}
			hits := make([]Hit, 0, len(stored))
			for _, h := range stored {
				hits = append(hits, Hit{At: h.At, EventID: string(h.EventID), Distinct: h.Distinct, FollowUp: h.FollowUp})
			}
			for _, b := range t.def.Evaluate(hits, fresh) {
				entities := map[string]any{}
				for f, v := range g.values {
					entities[f] = v
				}
				d := alerting.Detection{
					RuleID: t.rule.ID, Title: title(t.rule.Name, entities), Severity: alert.Severity(t.rule.Severity),
					DedupKey: string(t.rule.ID) + "|" + key, Entities: entities, Techniques: e.techniques(t.rule.Tags),
					First: b.From, Last: b.To, Count: b.Count,
				}
				for _, id := range b.EventIDs {
					if fresh[id] {
						d.NewCount++
						if ev, ok := byID[id]; ok && len(d.Samples) < alerting.MaxSamples {
							d.Samples = append(d.Samples, ev.Fields)
						}
					}
				}
				if len(b.Distinct) > 0 {
					d.Entities["distinct"] = strings.Join(b.Distinct, ",")
				}
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// PruneHits deletes threshold hits older than the horizon.
func PruneHits(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	return client.ThresholdHit.Delete().Where(thresholdhit.AtLT(now.Add(-hitHorizon))).Exec(ctx)
}

func (e *Engine) techniques(tags []string) []types.Technique {
	if e.attack == nil {
		return nil
	}
	var out []types.Technique
	for _, t := range e.attack.Techniques(tags) {
		out = append(out, types.Technique{ID: t.ID, Name: t.Name})
	}
	return out
}

func title(name string, entities map[string]any) string {
	keys := make([]string, 0, len(entities))
	for k := range entities {
		if k != "distinct" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return name
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", k, entities[k]))
	}
	return name + " — " + strings.Join(parts, ", ")
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
