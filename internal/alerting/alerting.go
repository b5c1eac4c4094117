// Package alerting owns alerts: detections group into an open alert by dedup
// key (count, first and last seen, samples), each with a severity, a risk
// score 0–100 and its breakdown, ATT&CK techniques and an SLA due time; the
// triage workflow (status transitions, assignee, comments). Every change
// appends to the tenant's alert stream in the same transaction. It does not
// detect anything (internal/detect) nor deliver the stream
// (internal/alertstream).
package alerting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/types"
)

// MaxSamples is how many sample events an alert keeps.
const MaxSamples = 5

// SLA is the time to resolve an alert of each severity, from its creation.
var SLA = map[alert.Severity]time.Duration{
	alert.SeverityCRITICAL: time.Hour,
	alert.SeverityHIGH:     4 * time.Hour,
	alert.SeverityMEDIUM:   24 * time.Hour,
	alert.SeverityLOW:      72 * time.Hour,
}

// severityPoints is the rule part of the risk score.
var severityPoints = map[alert.Severity]int{
	alert.SeverityLOW:      20,
	alert.SeverityMEDIUM:   45,
	alert.SeverityHIGH:     70,
	alert.SeverityCRITICAL: 90,
}

// Detection is what a detector found: one or more events that a rule (or an
// indicator) matched, to be grouped into an alert.
type Detection struct {
	RuleID   pulid.ID // empty for detections without a rule
	Title    string
	Severity alert.Severity
	// DedupKey groups detections into one open alert.
	DedupKey string
	// Entities are the values the detection is about (source.ip, user.name …).
	Entities   map[string]any
	Techniques []types.Technique
	First      time.Time
	Last       time.Time
	// Count is the detection's events when it opens a new alert; NewCount
	// those not counted by an earlier detection (a threshold burst spans
	// earlier batches), added to an open alert. NewCount 0 means Count.
	Count    int
	NewCount int
	Samples  []map[string]any
	// Extra risk factors (intel matches, anomalies) beyond rule and volume.
	Factors []types.RiskFactor
}

// Service raises and triages alerts.
type Service struct {
	db     *database.DB
	stream *alertstream.Stream
	now    func() time.Time
}

// New returns a Service writing changes to stream.
func New(db *database.DB, stream *alertstream.Stream) *Service {
	return &Service{db: db, stream: stream, now: time.Now}
}

// Raise groups d into the tenant's open alert with the same dedup key, or
// opens a new one, inside tx. created says which.
func (s *Service) Raise(ctx context.Context, tx *ent.Tx, d Detection) (a *ent.Alert, created bool, err error) {
	tenantID, _, err := caller.TenantScope(ctx)
	if err != nil {
		return nil, false, err
	}
	if d.Count <= 0 {
		d.Count = 1
	}
	if d.NewCount <= 0 {
		d.NewCount = d.Count
	}
	open, err := tx.Alert.Query().
		Where(alert.DedupKey(d.DedupKey), alert.StatusNotIn(alert.StatusRESOLVED, alert.StatusFALSE_POSITIVE)).
		Order(ent.Desc(alert.FieldCreatedAt)).
		First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, false, fmt.Errorf("find open alert: %w", err)
	}
	if open == nil {
		count := d.Count
		a, err = tx.Alert.Create().
			SetTitle(truncate(d.Title, 500)).
			SetSeverity(d.Severity).
			SetDedupKey(d.DedupKey).
			SetNillableRuleID(nilIfEmpty(d.RuleID)).
			SetCount(count).
			SetFirstSeen(d.First).SetLastSeen(d.Last).
			SetRiskScore(0).
			SetRiskBreakdown(nil).
			SetTechniques(d.Techniques).
			SetEntities(d.Entities).
			SetSamples(firstN(d.Samples, MaxSamples)).
			SetSLADueAt(s.now().Add(SLA[d.Severity])).
			Save(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("create alert: %w", err)
		}
		score, breakdown := Risk(d.Severity, count, d.Factors)
		if a, err = a.Update().SetRiskScore(score).SetRiskBreakdown(breakdown).Save(ctx); err != nil {
			return nil, false, fmt.Errorf("score alert: %w", err)
		}
		if _, err := s.stream.Append(ctx, tx, tenantID, a.ID, alertstream.KindCreated); err != nil {
			return nil, false, err
		}
		return a, true, nil
	}
	count := open.Count + d.NewCount
	samples := open.Samples
	if len(samples) < MaxSamples {
		samples = append(samples, firstN(d.Samples, MaxSamples-len(samples))...)
	}
	factors := mergeFactors(open.RiskBreakdown, d.Factors)
	score, breakdown := Risk(open.Severity, count, factors)
	u := open.Update().
		SetCount(count).
		SetFirstSeen(minTime(open.FirstSeen, d.First)).
		SetLastSeen(maxTime(open.LastSeen, d.Last)).
		SetSamples(samples).
		SetRiskScore(score).SetRiskBreakdown(breakdown)
	if techniques := mergeTechniques(open.Techniques, d.Techniques); len(techniques) != len(open.Techniques) {
		u.SetTechniques(techniques)
	}
	if a, err = u.Save(ctx); err != nil {
		return nil, false, fmt.Errorf("update alert: %w", err)
	}
	if _, err := s.stream.Append(ctx, tx, tenantID, a.ID, alertstream.KindUpdated); err != nil {
		return nil, false, err
	}
	return a, false, nil
}

// Risk scores an alert 0–100: the rule's severity, the volume of events
// (up to +10, logarithmic), and extra factors (intel, anomalies), capped at
// 100. The breakdown lists each part.
func Risk(sev alert.Severity, count int, extra []types.RiskFactor) (int, []types.RiskFactor) {
	breakdown := []types.RiskFactor{{Factor: "rule", Points: severityPoints[sev], Detail: "severity " + string(sev)}}
	if count > 1 {
		pts := min(10, int(math.Round(2*math.Log2(float64(count)))))
		breakdown = append(breakdown, types.RiskFactor{Factor: "count", Points: pts, Detail: fmt.Sprintf("%d events", count)})
	}
	breakdown = append(breakdown, extra...)
	total := 0
	for _, f := range breakdown {
		total += f.Points
	}
	return min(100, max(0, total)), breakdown
}

// mergeFactors keeps the extra (non rule, non count) factors of an alert and
// adds new ones it does not have yet.
func mergeFactors(old, add []types.RiskFactor) []types.RiskFactor {
	var out []types.RiskFactor
	for _, f := range old {
		if f.Factor != "rule" && f.Factor != "count" {
			out = append(out, f)
		}
	}
	for _, f := range add {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func mergeTechniques(old, add []types.Technique) []types.Technique {
	out := slices.Clone(old)
	for _, t := range add {
		if !slices.ContainsFunc(out, func(o types.Technique) bool { return o.ID == t.ID }) {
			out = append(out, t)
		}
	}
	return out
}

// transitions are the valid status changes. A closed alert may be reopened.
var transitions = map[alert.Status][]alert.Status{
	alert.StatusNEW:            {alert.StatusACKNOWLEDGED, alert.StatusFALSE_POSITIVE},
	alert.StatusACKNOWLEDGED:   {alert.StatusIN_PROGRESS, alert.StatusRESOLVED, alert.StatusFALSE_POSITIVE},
	alert.StatusIN_PROGRESS:    {alert.StatusRESOLVED, alert.StatusFALSE_POSITIVE},
	alert.StatusRESOLVED:       {alert.StatusIN_PROGRESS},
	alert.StatusFALSE_POSITIVE: {alert.StatusIN_PROGRESS},
}

// Errors callers branch on.
var (
	ErrInvalidTransition = errors.New("invalid status transition")
	ErrNotMember         = errors.New("the assignee is not a member of this tenant")
	ErrEmptyComment      = errors.New("a comment needs a body")
)

// CanMove reports whether an alert may go from one status to another.
func CanMove(from, to alert.Status) bool { return from == to || slices.Contains(transitions[from], to) }

// Update is a triage change; nil fields stay as they are.
type Update struct {
	Status        *alert.Status
	AssigneeID    *pulid.ID
	ClearAssignee bool
	Severity      *alert.Severity
	Note          *string
}

// Update applies a triage change to the caller's alert id.
func (s *Service) Update(ctx context.Context, id pulid.ID, in Update) (*ent.Alert, error) {
	var out *ent.Alert
	err := s.db.WithTx(ctx, func(tx *ent.Tx) error {
		q := tx.Alert.Query().Where(alert.ID(id))
		if s.db.Dialect == dialect.Postgres {
			q.ForUpdate() // SQLite's one writer already serialises; it has no FOR UPDATE
		}
		a, err := q.Only(ctx)
		if err != nil {
			return err
		}
		u := a.Update()
		now := s.now()
		if in.Status != nil && *in.Status != a.Status {
			if !CanMove(a.Status, *in.Status) {
				allowed := make([]string, 0, 3)
				for _, st := range transitions[a.Status] {
					allowed = append(allowed, string(st))
				}
				return fmt.Errorf("%w: an alert %s may move to %s, not %s", ErrInvalidTransition, a.Status, strings.Join(allowed, " or "), *in.Status)
			}
			u.SetStatus(*in.Status)
			switch *in.Status {
			case alert.StatusACKNOWLEDGED, alert.StatusIN_PROGRESS:
				if a.AcknowledgedAt == nil {
					u.SetAcknowledgedAt(now)
				}
				u.ClearResolvedAt()
			case alert.StatusRESOLVED, alert.StatusFALSE_POSITIVE:
				if a.AcknowledgedAt == nil {
					u.SetAcknowledgedAt(now)
				}
				u.SetResolvedAt(now)
			}
		}
		switch {
		case in.ClearAssignee:
			u.ClearAssigneeID()
		case in.AssigneeID != nil:
			ok, err := tx.Membership.Query().Where(membership.UserID(*in.AssigneeID)).Exist(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return ErrNotMember
			}
			u.SetAssigneeID(*in.AssigneeID)
		}
		if in.Severity != nil && *in.Severity != a.Severity {
			score, breakdown := Risk(*in.Severity, a.Count, mergeFactors(a.RiskBreakdown, nil))
			u.SetSeverity(*in.Severity).SetRiskScore(score).SetRiskBreakdown(breakdown).
				SetSLADueAt(a.CreatedAt.Add(SLA[*in.Severity]))
		}
		if out, err = u.Save(ctx); err != nil {
			return err
		}
		if in.Note != nil && strings.TrimSpace(*in.Note) != "" {
			if _, err := s.comment(ctx, tx, a.ID, *in.Note); err != nil {
				return err
			}
		}
		_, err = s.stream.Append(ctx, tx, a.TenantID, a.ID, alertstream.KindUpdated)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil // edges are resolved after the transaction ended
}

// Comment adds a comment by the caller to the caller's alert.
func (s *Service) Comment(ctx context.Context, alertID pulid.ID, body string) (*ent.AlertComment, error) {
	var out *ent.AlertComment
	err := s.db.WithTx(ctx, func(tx *ent.Tx) error {
		a, err := tx.Alert.Query().Where(alert.ID(alertID)).Only(ctx)
		if err != nil {
			return err
		}
		if out, err = s.comment(ctx, tx, a.ID, body); err != nil {
			return err
		}
		_, err = s.stream.Append(ctx, tx, a.TenantID, a.ID, alertstream.KindUpdated)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Unwrap(), nil
}

func (s *Service) comment(ctx context.Context, tx *ent.Tx, alertID pulid.ID, body string) (*ent.AlertComment, error) {
	if strings.TrimSpace(body) == "" {
		return nil, ErrEmptyComment
	}
	c := tx.AlertComment.Create().SetAlertID(alertID).SetBody(body)
	if who := caller.From(ctx); who != nil && who.UserID != "" {
		c.SetAuthorID(who.UserID)
	}
	return c.Save(ctx)
}

func firstN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func nilIfEmpty(id pulid.ID) *pulid.ID {
	if id == "" {
		return nil
	}
	return &id
}

func minTime(a, b time.Time) time.Time {
	if b.IsZero() || (!a.IsZero() && a.Before(b)) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
