package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gql sends one GraphQL request with a bearer token and decodes data into v.
func gql(t *testing.T, base, token, query string, vars map[string]any, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r := do(t, req)
	var out struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("%s: %v %s", query, err, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(out.Data, v); err != nil {
			t.Fatal(err)
		}
	}
}

// tenantWithKeys signs up an owner and makes a shipper key (events:write)
// and a partner key (alerts:subscribe).
func tenantWithKeys(t *testing.T, base, email string) (ownerToken, shipper, partner string) {
	t.Helper()
	var su struct{ SignUp struct{ AccessToken string } }
	gql(t, base, "", `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }`,
		map[string]any{"i": map[string]any{"email": email, "password": "a long enough password", "tenantName": "Acme"}}, &su)
	key := func(name, scope string) string {
		var k struct{ CreateAPIKey struct{ Secret string } }
		gql(t, base, su.SignUp.AccessToken, `mutation($i: CreateAPIKeyInput!) { createAPIKey(input: $i) { secret } }`,
			map[string]any{"i": map[string]any{"name": name, "role": "PARTNER", "scopes": []string{scope}}}, &k)
		return k.CreateAPIKey.Secret
	}
	return su.SignUp.AccessToken, key("shipper", "events:write"), key("partner", "alerts:subscribe")
}

type streamEvent struct{ Cursor, Kind, IP string }

func seqOf(t *testing.T, cursor string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(cursor, "as1:%d", &n); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	return n
}

// TestGraphQLWSClientResumes uses the real graphql-ws npm client against the
// binary: subscribe, receive alerts, drop the connection, reconnect with the
// last cursor and receive exactly the missed events: in order, none twice,
// none missing.
func TestGraphQLWSClientResumes(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missingNodeTool(t, "node is not on PATH")
	}
	e2eDir := filepath.Join(repoRoot, "e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "graphql-ws", "package.json")); err != nil {
		missingNodeTool(t, "e2e/node_modules lacks graphql-ws")
	}
	eachDB(t, func(t *testing.T, env map[string]string) {
		v := startVigil(t, env)
		owner, shipper, partner := tenantWithKeys(t, v.URL, "soc@acme.example")

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join(e2eDir, "graphql_ws_resume.mjs"), v.URL, partner, shipper, owner)
		cmd.Dir = e2eDir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("graphql-ws client: %v\n%s\n%s", err, out, stderr.String())
		}
		var res struct {
			First, Resumed []streamEvent
			LastCursor     string
		}
		if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
			t.Fatalf("client output: %v\n%s", err, out)
		}
		t.Logf("graphql-ws: %d events on the first connection, %d after resuming from %s", len(res.First), len(res.Resumed), res.LastCursor)

		// Every cursor once, in order, with no gap, across both connections.
		all := append(append([]streamEvent{}, res.First...), res.Resumed...)
		for i, ev := range all {
			if got := seqOf(t, ev.Cursor); got != i+1 {
				t.Fatalf("event #%d has cursor %s: the stream must arrive in order, none twice, none missing\n%+v", i+1, ev.Cursor, all)
			}
		}
		created := map[string]bool{}
		updated := map[string]bool{}
		for _, ev := range res.Resumed {
			if ev.Kind == "CREATED" {
				created[ev.IP] = true
			} else {
				updated[ev.IP] = true
			}
		}
		for _, ip := range []string{"192.0.2.11", "192.0.2.12", "192.0.2.13"} {
			if !created[ip] {
				t.Errorf("the alert for %s, raised while disconnected, did not arrive on resume: %+v", ip, res.Resumed)
			}
		}
		if !updated["192.0.2.10"] {
			t.Errorf("the update of the first alert, made while disconnected, did not arrive on resume: %+v", res.Resumed)
		}
	})
}
