package detect

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/event"
)

const bruteForceDef = `
filter:
  event.category: authentication
  event.outcome: failure
group_by: [source.ip]
threshold: 10
window: 5m
`

func mustThreshold(t *testing.T, def string) *ThresholdRule {
	t.Helper()
	r, err := CompileThreshold([]byte(def))
	if err != nil {
		t.Fatalf("CompileThreshold: %v\n%s", err, def)
	}
	return r
}

func TestCompileThresholdErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def, wantErr string
	}{
		{"bad window", "filter: {a: b}\nthreshold: 5\nwindow: 5x\n", `window: "5x" is not a duration`},
		{"window too short", "filter: {a: b}\nthreshold: 5\nwindow: 10ms\n", `window: 10ms is out of range (1s to 24h0m0s)`},
		{"window too long", "filter: {a: b}\nthreshold: 5\nwindow: 48h\n", `window: 48h0m0s is out of range`},
		{"threshold 1", "filter: {a: b}\nthreshold: 1\nwindow: 5m\n", `threshold must be >= 2`},
		{"threshold not a number", "filter: {a: b}\nthreshold: ten\nwindow: 5m\n", `threshold: "ten" is not a whole number`},
		{"empty group_by field", "filter: {a: b}\ngroup_by: [source.ip, '']\nthreshold: 5\nwindow: 5m\n", `group_by: field "" is empty`},
		{"group_by twice", "filter: {a: b}\ngroup_by: [source.ip, source.ip]\nthreshold: 5\nwindow: 5m\n", `group_by: field "source.ip" is listed twice`},
		{"unknown key", "filter: {a: b}\ngroupby: [source.ip]\nthreshold: 5\nwindow: 5m\n", `unknown key "groupby"`},
		{"missing filter", "threshold: 5\nwindow: 5m\n", `filter: missing`},
		{"missing window", "filter: {a: b}\nthreshold: 5\n", `window: missing`},
		{"empty filter", "filter: {}\nthreshold: 5\nwindow: 5m\n", `filter: at least one condition is required`},
		{"filter not a map", "filter: [a]\nthreshold: 5\nwindow: 5m\n", `filter: expected a mapping of field: value`},
		{"unknown modifier", "filter: {user.name|re: x}\nthreshold: 5\nwindow: 5m\n", `filter: "user.name|re": unknown modifier "re"`},
		{"bad cidr", "filter: {a: b}\nexclude: {source.ip|cidr: 10.0.0.0/33}\nthreshold: 5\nwindow: 5m\n", `exclude: "source.ip|cidr": "10.0.0.0/33" is not a CIDR`},
		{"nested value", "filter: {a: {b: c}}\nthreshold: 5\nwindow: 5m\n", `filter: "a": value must be`},
		{"empty distinct", "filter: {a: b}\ndistinct: ''\nthreshold: 5\nwindow: 5m\n", `distinct: field "" is empty`},
		{"distinct is grouped", "filter: {a: b}\ngroup_by: user.name\ndistinct: user.name\nthreshold: 5\nwindow: 5m\n", `distinct: "user.name" is also a group_by field`},
		{"empty followed_by", "filter: {a: b}\nfollowed_by: {}\nthreshold: 5\nwindow: 5m\n", `followed_by: at least one condition is required`},
		{"not a mapping", "- a\n", `threshold rule: expected a mapping`},
		{"not yaml", "filter: [\n", `threshold rule: yaml:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := CompileThreshold([]byte(tt.def))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompileThresholdJSON(t *testing.T) {
	t.Parallel()
	r := mustThreshold(t, `{"filter": {"event.outcome": "failure"}, "group_by": "source.ip", "threshold": 3, "distinct": "user.name", "window": "10m"}`)
	if r.Window() != 10*time.Minute || r.Threshold() != 3 || r.Distinct() != "user.name" || !slices.Equal(r.GroupBy(), []string{"source.ip"}) || r.HasFollowUp() {
		t.Errorf("rule = %+v", r)
	}
}

func TestThresholdFilterAndGroups(t *testing.T) {
	t.Parallel()
	r := mustThreshold(t, `
filter:
  event.category: authentication
  event.outcome: FAILURE
  process.name: [sshd, sshd-session]
  user.name|startswith: [ad, ro]
exclude:
  source.ip|cidr: [10.0.0.0/8, "2001:db8::/32"]
group_by: [source.ip, host.name]
distinct: user.name
threshold: 5
window: 10m
followed_by:
  event.outcome: success
  user.name: null
`)
	success := syslogEvent("sshd", "Accepted password", map[string]any{"event.category": []any{"authentication"}, "event.outcome": "success", "source.ip": "203.0.113.7"})
	successWithUser := syslogEvent("sshd", "Accepted password", map[string]any{"event.outcome": "success", "source.ip": "203.0.113.7", "user.name": "root"})
	tests := []struct {
		name             string
		ev               event.Event
		filter, followUp bool
	}{
		{"failure from the internet", sshFailure("admin", "203.0.113.7", testTime), true, false},
		{"failure for root", sshFailure("root", "203.0.113.7", testTime), true, false},
		{"failure for another user", sshFailure("alice", "203.0.113.7", testTime), false, false},
		{"failure from an excluded network", sshFailure("admin", "10.1.2.3", testTime), false, false},
		{"failure from an excluded IPv6 network", sshFailure("admin", "2001:db8::1", testTime), false, false},
		{"failure from another program", syslogEvent("login", "FAILED LOGIN", map[string]any{"event.category": []any{"authentication"}, "event.outcome": "failure", "user.name": "admin", "source.ip": "203.0.113.7"}), false, false},
		{"success without a user name", success, false, true},
		{"success with a user name", successWithUser, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.Filter(tt.ev); got != tt.filter {
				t.Errorf("Filter = %v, want %v", got, tt.filter)
			}
			if got := r.IsFollowUp(tt.ev); got != tt.followUp {
				t.Errorf("IsFollowUp = %v, want %v", got, tt.followUp)
			}
		})
	}

	key, values, ok := r.GroupKey(sshFailure("admin", "203.0.113.7", testTime))
	if !ok || key != `source.ip="203.0.113.7" host.name="web01"` || values["source.ip"] != "203.0.113.7" || values["host.name"] != "web01" {
		t.Errorf("GroupKey = %q %v %v", key, values, ok)
	}
	noIP := syslogEvent("sshd", "Failed password", map[string]any{"event.outcome": "failure"})
	if _, _, ok := r.GroupKey(noIP); ok {
		t.Error("GroupKey ok without source.ip")
	}
	if d, ok := r.DistinctValue(sshFailure("admin", "203.0.113.7", testTime)); !ok || d != "admin" {
		t.Errorf("DistinctValue = %q %v", d, ok)
	}
	hit := r.Hit(success)
	if !hit.FollowUp || !hit.At.Equal(testTime) {
		t.Errorf("Hit = %+v", hit)
	}

	// Without group_by, everything is one group; Original is read too.
	global := mustThreshold(t, "filter: {EventID: 4625}\nthreshold: 2\nwindow: 1m\n")
	ev := windowsEvent(securityChannel, 4625, nil)
	if !global.Filter(ev) {
		t.Error("EventID 4625 from Original does not pass the filter")
	}
	if key, _, ok := global.GroupKey(ev); !ok || key != "" {
		t.Errorf("GroupKey without group_by = %q %v", key, ok)
	}
}

// hitsAt builds hits at base+offsets, with ids prefix1, prefix2...
func hitsAt(prefix string, base time.Time, offsets ...time.Duration) []Hit {
	out := make([]Hit, len(offsets))
	for i, o := range offsets {
		out[i] = Hit{At: base.Add(o), EventID: fmt.Sprintf("%s%d", prefix, i+1)}
	}
	return out
}

func every(start, step time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = start + time.Duration(i)*step
	}
	return out
}

func freshIDs(hits ...[]Hit) map[string]bool {
	m := map[string]bool{}
	for _, hs := range hits {
		for _, h := range hs {
			m[h.EventID] = true
		}
	}
	return m
}

func withDistinct(hits []Hit, values ...string) []Hit {
	out := slices.Clone(hits)
	for i := range out {
		out[i].Distinct = values[i%len(values)]
	}
	return out
}

func followUp(id string, at time.Time) Hit { return Hit{At: at, EventID: id, FollowUp: true} }

type burstWant struct {
	from, to  time.Duration // from base
	count     int
	distinct  []string
	followUps []string
}

func TestThresholdEvaluate(t *testing.T) {
	t.Parallel()
	// 10:02 — across the 10:00/10:05 edges tumbling 5-minute buckets have.
	base := time.Date(2026, 8, 5, 10, 2, 0, 0, time.UTC)
	count := mustThreshold(t, bruteForceDef)
	spray := mustThreshold(t, "filter: {event.outcome: failure}\ngroup_by: source.ip\ndistinct: user.name\nthreshold: 5\nwindow: 10m\n")
	sequence := mustThreshold(t, "filter: {event.outcome: failure}\ngroup_by: source.ip\nthreshold: 5\nwindow: 10m\nfollowed_by: {event.outcome: success}\n")

	tenIn := hitsAt("f", base, every(0, 30*time.Second, 10)...) // 10:02:00 .. 10:06:30
	old := hitsAt("old", base, every(0, 10*time.Second, 10)...)
	late := hitsAt("late", base, 45*time.Second)

	tests := []struct {
		name  string
		rule  *ThresholdRule
		hits  []Hit
		fresh map[string]bool
		want  []burstWant
	}{
		{"exactly the threshold", count, tenIn, nil, []burstWant{{0, 270 * time.Second, 10, nil, nil}}},
		{"one short", count, tenIn[:9], nil, nil},
		{
			"first and last exactly one window apart",
			count, hitsAt("f", base, append(every(0, 30*time.Second, 9), 5*time.Minute)...), nil, nil,
		},
		{
			"first and last just inside one window",
			count, hitsAt("f", base, append(every(0, 30*time.Second, 9), 5*time.Minute-time.Millisecond)...), nil,
			[]burstWant{{0, 5*time.Minute - time.Millisecond, 10, nil, nil}},
		},
		{
			"straddles tumbling bucket edges",
			count, hitsAt("f", base, every(2*time.Minute, 15*time.Second, 10)...), nil, // 10:04:00 .. 10:06:15
			[]burstWant{{2 * time.Minute, 2*time.Minute + 135*time.Second, 10, nil, nil}},
		},
		{"out of order", count, shuffled(tenIn), nil, []burstWant{{0, 270 * time.Second, 10, nil, nil}}},
		{
			"a stream is one burst",
			count, hitsAt("f", base, every(0, time.Second, 100)...), nil,
			[]burstWant{{0, 99 * time.Second, 100, nil, nil}},
		},
		{
			"two streams a window apart are two bursts",
			count, append(hitsAt("a", base, every(0, time.Second, 10)...), hitsAt("b", base, every(20*time.Minute, time.Second, 12)...)...), nil,
			[]burstWant{{0, 9 * time.Second, 10, nil, nil}, {20 * time.Minute, 20*time.Minute + 11*time.Second, 12, nil, nil}},
		},
		{"repeated ids count once", count, append(slices.Clone(tenIn[:5]), tenIn[:5]...), nil, nil},
		{"a reported burst is not reported again", count, old, map[string]bool{}, nil},
		{
			"a late hit reopens its window",
			count, append(slices.Clone(old[:9]), late...), freshIDs(late),
			[]burstWant{{0, 80 * time.Second, 10, nil, nil}},
		},
		{
			"a fresh hit far from an old burst",
			count, append(slices.Clone(old), hitsAt("new", base, 30*time.Minute)...), map[string]bool{"new1": true}, nil,
		},
		{
			"a fresh hit joining an old burst",
			count, append(slices.Clone(old), hitsAt("new", base, 2*time.Minute)...), map[string]bool{"new1": true},
			[]burstWant{{0, 2 * time.Minute, 11, nil, nil}},
		},
		{"one user many times is not spraying", spray, withDistinct(tenIn, "root"), nil, nil},
		{"four users are not enough", spray, withDistinct(tenIn, "a", "b", "c", "d"), nil, nil},
		{"five failures, four users", spray, withDistinct(tenIn[:5], "root", "admin", "oracle", "test", "admin"), nil, nil},
		{
			"spraying",
			spray, withDistinct(tenIn, "root", "admin", "oracle", "test", "ubuntu"), nil,
			[]burstWant{{0, 270 * time.Second, 10, []string{"admin", "oracle", "root", "test", "ubuntu"}, nil}},
		},
		{"hits without a distinct value do not count", spray, tenIn, nil, nil},
		{
			"success after failures",
			sequence, append(slices.Clone(tenIn[:5]), followUp("s", base.Add(3*time.Minute))), nil,
			[]burstWant{{0, 3 * time.Minute, 5, nil, []string{"s"}}},
		},
		{
			"success at the same second as the last failure",
			sequence, append(slices.Clone(tenIn[:5]), followUp("s", tenIn[4].At)), nil,
			[]burstWant{{0, 2 * time.Minute, 5, nil, []string{"s"}}},
		},
		{"success after too few failures", sequence, append(slices.Clone(tenIn[:4]), followUp("s", base.Add(3*time.Minute))), nil, nil},
		{"success before the failures", sequence, append(slices.Clone(tenIn[:5]), followUp("s", base.Add(-time.Second))), nil, nil},
		{"success a window after the failures", sequence, append(slices.Clone(tenIn[:5]), followUp("s", base.Add(10*time.Minute))), nil, nil},
		{"failures without success", sequence, tenIn, nil, nil},
		{
			"two successes after the same failures",
			sequence, append(slices.Clone(tenIn[:6]), followUp("s1", base.Add(4*time.Minute)), followUp("s2", base.Add(5*time.Minute))), nil,
			[]burstWant{{0, 5 * time.Minute, 6, nil, []string{"s1", "s2"}}},
		},
		{
			"a late failure completes a stored sequence",
			sequence, append(slices.Clone(tenIn[:4]), followUp("s", base.Add(3*time.Minute)), Hit{At: base.Add(time.Minute + 10*time.Second), EventID: "late"}),
			map[string]bool{"late": true},
			[]burstWant{{0, 3 * time.Minute, 5, nil, []string{"s"}}},
		},
		{
			"a stored sequence is not reported again",
			sequence, append(slices.Clone(tenIn[:5]), followUp("s", base.Add(3*time.Minute))), map[string]bool{}, nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.rule.Evaluate(tt.hits, tt.fresh)
			if len(got) != len(tt.want) {
				t.Fatalf("%d bursts, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				b := got[i]
				if !b.From.Equal(base.Add(w.from)) || !b.To.Equal(base.Add(w.to)) || b.Count != w.count {
					t.Errorf("burst %d = %s..%s count %d, want %s..%s count %d", i,
						b.From.Sub(base), b.To.Sub(base), b.Count, w.from, w.to, w.count)
				}
				if !slices.Equal(b.Distinct, w.distinct) {
					t.Errorf("burst %d distinct = %v, want %v", i, b.Distinct, w.distinct)
				}
				if !slices.Equal(b.FollowUps, w.followUps) {
					t.Errorf("burst %d follow-ups = %v, want %v", i, b.FollowUps, w.followUps)
				}
				if len(b.EventIDs) != b.Count+len(b.FollowUps) {
					t.Errorf("burst %d has %d event ids for %d hits and %d follow-ups", i, len(b.EventIDs), b.Count, len(b.FollowUps))
				}
			}
		})
	}
}

// TestThresholdEvaluateMatchesBruteForce compares Evaluate with the
// definition on random hits: some window [t, t+window) holding a fresh hit
// reaches the threshold exactly when Evaluate reports a burst covering it.
func TestThresholdEvaluateMatchesBruteForce(t *testing.T) {
	t.Parallel()
	r := mustThreshold(t, "filter: {a: b}\nthreshold: 4\nwindow: 1m\n")
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 8, 5, 0, 0, 0, 0, time.UTC)
	for round := range 300 {
		n := 1 + rng.IntN(30)
		hits := make([]Hit, n)
		fresh := map[string]bool{}
		for i := range hits {
			hits[i] = Hit{At: base.Add(time.Duration(rng.IntN(300)) * time.Second), EventID: fmt.Sprintf("h%d", i)}
			if rng.IntN(3) == 0 {
				fresh[hits[i].EventID] = true
			}
		}
		bursts := r.Evaluate(hits, fresh)
		inBurst := map[string]bool{}
		for _, b := range bursts {
			for _, id := range b.EventIDs {
				inBurst[id] = true
			}
		}
		// A hit belongs to a qualifying fresh window iff it is in a burst.
		for _, h := range hits {
			want := false
			for _, start := range hits {
				from := start.At
				if h.At.Before(from) || h.At.Sub(from) >= r.Window() {
					continue
				}
				count, hasFresh := 0, false
				for _, x := range hits {
					if !x.At.Before(from) && x.At.Sub(from) < r.Window() {
						count++
						hasFresh = hasFresh || fresh[x.EventID]
					}
				}
				if count >= r.Threshold() && hasFresh {
					want = true
				}
			}
			if inBurst[h.EventID] != want {
				t.Fatalf("round %d: hit %s at %s in a burst = %v, want %v (bursts %+v)", round, h.EventID, h.At.Sub(base), inBurst[h.EventID], want, bursts)
			}
		}
	}
}

func shuffled(hits []Hit) []Hit {
	out := slices.Clone(hits)
	rng := rand.New(rand.NewPCG(7, 7))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
