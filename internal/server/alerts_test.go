package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Triage through GraphQL: valid transitions only, assignees must be members,
// comments, filters and ordering on the alerts connection; rules are
// validated when created.
func TestAlertTriageAndRulesOverGraphQL(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	owner := b.signUp(t, "owner@acme.example", "Acme")
	outsider := b.signUp(t, "someone@else.example", "Else")
	shipper := b.createKey(t, owner, "shipper", "PARTNER", "events:write")
	for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		if code, res := b.postEvents(t, shipper, sshdFailures(ip, 10, time.Now().Add(-time.Minute)), nil); code != http.StatusOK {
			t.Fatalf("ingest: %d %v", code, res)
		}
	}
	type alertNode struct {
		ID, Status, Title string
		RiskScore         int
		Comments          struct{ TotalCount int }
		Assignee          *struct{ Email string }
	}
	list := func(where string) []alertNode {
		r := b.bearer(t, owner.AccessToken, `{ alerts(first: 10, orderBy: [{field: RISK_SCORE, direction: DESC}], where: `+where+`) {
			edges { node { id status title riskScore comments { totalCount } assignee { email } } } } }`, nil)
		var d struct {
			Alerts struct{ Edges []struct{ Node alertNode } }
		}
		if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
			t.Fatalf("alerts: %v %s", err, r.rawBody)
		}
		var out []alertNode
		for _, e := range d.Alerts.Edges {
			out = append(out, e.Node)
		}
		return out
	}
	waitFor(t, "two brute-force alerts", func() bool { return len(list(`{titleHasPrefix: "Brute Force"}`)) == 2 })
	id := list(`{titleHasPrefix: "Brute Force"}`)[0].ID

	update := func(input map[string]any) *gqlResponse {
		return b.bearer(t, owner.AccessToken, `mutation($id: ID!, $i: UpdateAlertInput!) { updateAlert(id: $id, input: $i) { status assignee { email } } }`,
			map[string]any{"id": id, "i": input})
	}
	if r := update(map[string]any{"status": "RESOLVED"}); r.code() != "BAD_USER_INPUT" || !strings.Contains(r.rawBody, "ACKNOWLEDGED") {
		t.Fatalf("NEW → RESOLVED must be refused, naming the allowed steps: %s", r.rawBody)
	}
	if r := update(map[string]any{"assigneeID": outsider.UserID}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("assigning a non-member: %s", r.rawBody)
	}
	if r := update(map[string]any{"status": "ACKNOWLEDGED", "assigneeID": owner.UserID, "note": "looking"}); len(r.Errors) > 0 || !strings.Contains(r.rawBody, "ACKNOWLEDGED") {
		t.Fatalf("acknowledge: %s", r.rawBody)
	}
	for _, st := range []string{"IN_PROGRESS", "RESOLVED"} {
		if r := update(map[string]any{"status": st}); len(r.Errors) > 0 {
			t.Fatalf("%s: %s", st, r.rawBody)
		}
	}
	if r := b.bearer(t, owner.AccessToken, `mutation($id: ID!) { addAlertComment(alertId: $id, body: "closed: blocked at the firewall") { body } }`, map[string]any{"id": id}); len(r.Errors) > 0 {
		t.Fatal(r.rawBody)
	}
	resolved := list(`{status: RESOLVED}`)
	if len(resolved) != 1 || resolved[0].ID != id || resolved[0].Comments.TotalCount != 2 || resolved[0].Assignee == nil {
		t.Fatalf("resolved alert with the note and the comment: %+v", resolved)
	}
	if open := list(`{statusNEQ: RESOLVED, titleHasPrefix: "Brute Force"}`); len(open) != 1 {
		t.Fatalf("open brute-force alerts: %+v", open)
	}

	r := b.bearer(t, owner.AccessToken, `mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted rejected errors { line message } batchId } }`,
		map[string]any{"e": []any{
			map[string]any{"data": map[string]any{"@timestamp": time.Now().UTC().Format(time.RFC3339), "event": map[string]any{"action": "login"}, "user": map[string]any{"name": "ana"}}},
			map[string]any{"data": map[string]any{"source": map[string]any{"ip": "not-an-ip"}}},
		}})
	if len(r.Errors) > 0 || !strings.Contains(r.rawBody, `"accepted":1,"rejected":1`) || !strings.Contains(r.rawBody, `"line":2`) || !strings.Contains(r.rawBody, "source.ip") {
		t.Fatalf("ingestEvents: %s", r.rawBody)
	}

	r = b.bearer(t, owner.AccessToken, `mutation($i: CreateRuleInput!) { createRule(input: $i) { id } }`,
		map[string]any{"i": map[string]any{"name": "bad", "kind": "SIGMA", "severity": "LOW", "definition": "title: x\nlogsource: {product: linux}\ndetection: {sel: {a: b}, condition: sel2}\n"}})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.rawBody, "sel2") {
		t.Fatalf("a Sigma rule with an unknown selection: %s", r.rawBody)
	}
	r = b.bearer(t, owner.AccessToken, `mutation($i: CreateRuleInput!) { createRule(input: $i) { id name kind enabled tags } }`,
		map[string]any{"i": map[string]any{"name": "curl to bash", "kind": "SIGMA", "severity": "HIGH",
			"definition": "title: curl piped to a shell\nlogsource: {product: linux, category: process_creation}\ntags: [attack.t1059.004]\ndetection:\n  sel:\n    CommandLine|contains|all: [curl, '| bash']\n  condition: sel\n"}})
	if len(r.Errors) > 0 || !strings.Contains(r.rawBody, "attack.t1059.004") {
		t.Fatalf("createRule: %s", r.rawBody)
	}
}
