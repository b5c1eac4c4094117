package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	entrule "github.com/vigilhq/vigil/ent/rule"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

type engineBundle struct {
	db     *database.DB
	engine *detect.Engine
	ingest *ingest.Service
	ctx    context.Context
	tenant pulid.ID
	t      *testing.T
}

func setupEngine(t *testing.T, db *database.DB) *engineBundle {
	t.Helper()
	sys := caller.With(context.Background(), caller.System("test"))
	tn, err := tenancy.CreateTenant(sys, db.Ent, "Acme "+string(pulid.New("x")), "")
	if err != nil {
		t.Fatal(err)
	}
	attack, err := detect.LoadAttack(dbtest.SharedData(t, "attack", "enterprise-attack-techniques.json"))
	if err != nil {
		t.Fatal(err)
	}
	alerts := alerting.New(db, alertstream.New(db.Dialect, nil))
	return &engineBundle{
		db: db, engine: detect.NewEngine(db, alerts, attack, nil), t: t, tenant: tn.ID,
		ingest: ingest.New(db, nil, ingest.Options{}),
		ctx:    caller.With(context.Background(), &caller.Caller{Kind: caller.KindAPIKey, TenantID: tn.ID, Role: "PARTNER"}),
	}
}

// batch ingests NDJSON lines and scores them like the score job would.
func (b *engineBundle) batch(lines ...string) detect.Stats {
	b.t.Helper()
	res, err := b.ingest.Ingest(b.ctx, ingest.Request{Body: []byte(strings.Join(lines, "\n"))})
	if err != nil || res.Rejected > 0 {
		b.t.Fatalf("ingest: %+v %v", res, err)
	}
	st, err := b.engine.ScoreBatch(context.Background(), b.tenant, res.BatchID)
	if err != nil {
		b.t.Fatal(err)
	}
	return st
}

func (b *engineBundle) alerts() []*ent.Alert {
	b.t.Helper()
	as, err := b.db.Ent.Alert.Query().Order(ent.Asc(alert.FieldCreatedAt)).All(caller.With(context.Background(), caller.ForTenant("test", b.tenant)))
	if err != nil {
		b.t.Fatal(err)
	}
	return as
}

func (b *engineBundle) alertsTitled(prefix string) []*ent.Alert {
	var out []*ent.Alert
	for _, a := range b.alerts() {
		if strings.HasPrefix(a.Title, prefix) {
			out = append(out, a)
		}
	}
	return out
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func failure(ip, user string, at time.Time) string {
	return fmt.Sprintf(`{"message":"<38>%s web-1 sshd[1]: Failed password for %s from %s port 4242 ssh2"}`, at.Format(time.Stamp), user, ip)
}

func success(ip, user string, at time.Time) string {
	return fmt.Sprintf(`{"message":"<38>%s web-1 sshd[1]: Accepted password for %s from %s port 4242 ssh2"}`, at.Format(time.Stamp), user, ip)
}

func failures(ip string, n int, from time.Time) []string {
	var out []string
	for i := range n {
		out = append(out, failure(ip, "root", from.Add(time.Duration(i)*time.Second)))
	}
	return out
}

// Threshold windows span batches and take late events into account: six
// failures, then five more that happened earlier but arrive later, make one
// brute-force alert; more failures update it rather than open another.
func TestThresholdAcrossBatchesAndLateEvents(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setupEngine(t, db)
		b.batch(failures("203.0.113.5", 6, t0)...)
		if got := b.alertsTitled("Brute Force"); len(got) != 0 {
			t.Fatalf("6 failures raised %d brute-force alerts", len(got))
		}
		b.batch(failures("203.0.113.5", 5, t0.Add(-2*time.Minute))...) // late: before the first batch
		got := b.alertsTitled("Brute Force")
		if len(got) != 1 || got[0].Count != 11 || got[0].Entities["source.ip"] != "203.0.113.5" {
			t.Fatalf("after the late batch: %+v", got)
		}
		a := got[0]
		if !a.FirstSeen.Equal(t0.Add(-2*time.Minute)) || a.Severity != alert.SeverityHIGH || len(a.Techniques) == 0 || a.Techniques[0].ID != "T1110.001" || a.Techniques[0].Name == "" {
			t.Fatalf("alert fields: first %v severity %s techniques %+v", a.FirstSeen, a.Severity, a.Techniques)
		}
		b.batch(failures("203.0.113.5", 3, t0.Add(10*time.Second))...)
		got = b.alertsTitled("Brute Force")
		if len(got) != 1 || got[0].Count != 14 {
			t.Fatalf("three more failures must update the open alert (count 14): %+v", got)
		}
		// Another source below the threshold raises nothing.
		b.batch(failures("203.0.113.6", 9, t0)...)
		if got := b.alertsTitled("Brute Force"); len(got) != 1 {
			t.Fatalf("9 failures from another source raised an alert: %d alerts", len(got))
		}
	})
}

// Events spread wider than the window never add up.
func TestThresholdWindowIsRespected(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, dbtest.SQLite(t))
	var lines []string
	for i := range 12 {
		lines = append(lines, failure("198.51.100.9", "root", t0.Add(time.Duration(i)*time.Minute))) // 12 in 11 minutes: at most 5 in any 5m window
	}
	b.batch(lines...)
	if got := b.alertsTitled("Brute Force"); len(got) != 0 {
		t.Fatalf("failures a minute apart raised %+v", got)
	}
}

// Password spraying (many users, one source) and a success after failures
// are default rules too.
func TestSprayingAndSuccessAfterFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setupEngine(t, db)
		var lines []string
		for i, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
			lines = append(lines, failure("192.0.2.44", u, t0.Add(time.Duration(i)*time.Second)))
		}
		lines = append(lines, success("192.0.2.44", "frank", t0.Add(30*time.Second)))
		b.batch(lines...)
		if got := b.alertsTitled("Password Spraying"); len(got) != 1 || got[0].Entities["source.ip"] != "192.0.2.44" {
			t.Fatalf("spraying: %+v", got)
		}
		if got := b.alertsTitled("Successful Login After"); len(got) != 1 || got[0].Severity != alert.SeverityCRITICAL {
			t.Fatalf("success after failures: %+v", got)
		}
	})
}

// A disabled rule detects nothing; a tuned one detects with its new settings.
func TestRulesCanBeDisabledAndTuned(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, dbtest.SQLite(t))
	rules := detect.NewRules(b.db.Ent)
	r, err := b.db.Ent.Rule.Query().Where(entrule.Key("threshold.ssh_brute_force")).Only(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := rules.Update(b.ctx, r.ID, detect.RuleUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	b.batch(failures("203.0.113.77", 12, t0)...)
	if got := b.alertsTitled("Brute Force"); len(got) != 0 {
		t.Fatalf("a disabled rule raised %+v", got)
	}
	on := true
	def := strings.Replace(r.Definition, "threshold: 10", "threshold: 3", 1)
	if _, err := rules.Update(b.ctx, r.ID, detect.RuleUpdate{Enabled: &on, Definition: &def}); err != nil {
		t.Fatal(err)
	}
	b.batch(failures("203.0.113.78", 3, t0)...)
	if got := b.alertsTitled("Brute Force"); len(got) != 1 {
		t.Fatalf("the tuned rule (threshold 3) raised %d alerts", len(got))
	}
	bad := "filter: {event.outcome: failure}\nthreshold: 1\nwindow: 5x\n"
	if _, err := rules.Update(b.ctx, r.ID, detect.RuleUpdate{Definition: &bad}); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Fatalf("a bad definition: %v", err)
	}
}

// Sigma rules of the pack match Windows events sent with native names.
func TestSigmaRuleRaisesAlert(t *testing.T) {
	t.Parallel()
	b := setupEngine(t, dbtest.SQLite(t))
	b.batch(`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws-7","UtcTime":"2026-11-26 09:00:00.000","Image":"C:\\Users\\x\\mimikatz.exe","CommandLine":"mimikatz.exe \"sekurlsa::logonpasswords\" exit","User":"ACME\\bob","ProcessId":"4242"}`)
	as := b.alerts()
	if len(as) == 0 {
		t.Fatal("a mimikatz process creation raised no alert")
	}
	for _, a := range as {
		if a.Entities["host.name"] != "ws-7" || len(a.Samples) != 1 || a.RuleID == nil {
			t.Errorf("sigma alert %q: entities %v, %d samples", a.Title, a.Entities, len(a.Samples))
		}
	}
}
