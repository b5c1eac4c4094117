package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
)

// closeCode reads until the server closes the connection and returns its code.
func (c *wsClient) closeCode(wait time.Duration) (int, string) {
	c.t.Helper()
	for {
		_, err := c.read(wait)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			c.t.Fatalf("want a close frame, got %v", err)
		}
	}
}

// Who may subscribe: a PARTNER key with alerts:subscribe may, and may do
// nothing else; a key without the scope, bad credentials and no credentials
// may not.
func TestSubscriptionCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	owner := b.signUp(t, "owner@acme.example", "Acme")
	partner := b.createKey(t, owner, "partner", "PARTNER", "alerts:subscribe")
	writer := b.createKey(t, owner, "writer", "PARTNER", "events:write")

	ws := b.dialWS(t, "Bearer nonsense")
	if code, _ := ws.closeCode(5 * time.Second); code != closeUnauthorized {
		t.Fatalf("bad credentials: close %d, want %d", code, closeUnauthorized)
	}
	ws = b.dialWS(t, "")
	if code, _ := ws.closeCode(5 * time.Second); code != closeUnauthorized {
		t.Fatalf("no credentials: close %d, want %d", code, closeUnauthorized)
	}

	ws = b.dialWS(t, "Bearer "+writer)
	ws.expect("connection_ack")
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}})
	m, err := ws.read(10 * time.Second) // gqlgen answers a refused subscription with next {errors} (then complete)
	if err != nil || (m.Type != "error" && m.Type != "next") || !strings.Contains(string(m.Payload), "FORBIDDEN") {
		t.Fatalf("a key without alerts:subscribe: %s", m.Payload)
	}

	// The partner key subscribes, and can do nothing else.
	ws = b.dialWS(t, "Bearer "+partner)
	ws.expect("connection_ack")
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}})
	for _, q := range []string{`{ alerts { totalCount } }`, `{ rules { totalCount } }`, `{ apiKeys { totalCount } }`, `{ tenants { totalCount } }`} {
		if r := b.bearer(t, partner, q, nil); r.code() != "FORBIDDEN" {
			t.Errorf("partner %s: %s", q, r.rawBody)
		}
	}
	if code, _ := b.postEvents(t, partner, `{"a":1}`, nil); code != http.StatusForbidden {
		t.Errorf("partner without events:write ingested: %d", code)
	}
}

// Logging out ends the session's open subscriptions at once, with 4403.
func TestLogoutEndsSubscription(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, setupOpts{identity: true, db: db})
		owner := b.signUp(t, "owner@acme.example", "Acme")
		ws := b.dialWS(t, "Bearer "+owner.AccessToken)
		ws.expect("connection_ack")
		ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}})
		waitFor(t, "the subscription to open", func() bool { return b.pipeline.Hub.Subscribers() == 1 })
		if r := b.bearer(t, owner.AccessToken, `mutation { logout }`, nil); len(r.Errors) > 0 {
			t.Fatalf("logout: %s", r.rawBody)
		}
		if code, reason := ws.closeCode(10 * time.Second); code != closeForbidden || !strings.Contains(reason, "access revoked") {
			t.Fatalf("after logout: close %d %q, want %d", code, reason, closeForbidden)
		}
	})
}

// Revoking a partner's key ends its subscription.
func TestRevokedKeyEndsSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	owner := b.signUp(t, "owner@acme.example", "Acme")
	r := b.bearer(t, owner.AccessToken, `mutation($i: CreateAPIKeyInput!) { createAPIKey(input: $i) { secret apiKey { id } } }`,
		map[string]any{"i": map[string]any{"name": "p", "role": "PARTNER", "scopes": []string{"alerts:subscribe"}}})
	var d struct {
		CreateAPIKey struct {
			Secret string
			APIKey struct{ ID string }
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	ws := b.dialWS(t, "Bearer "+d.CreateAPIKey.Secret)
	ws.expect("connection_ack")
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}})
	waitFor(t, "the subscription to open", func() bool { return b.pipeline.Hub.Subscribers() == 1 })
	if r := b.bearer(t, owner.AccessToken, `mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, map[string]any{"id": d.CreateAPIKey.APIKey.ID}); len(r.Errors) > 0 {
		t.Fatal(r.rawBody)
	}
	if code, _ := ws.closeCode(10 * time.Second); code != closeForbidden {
		t.Fatalf("after revocation: close %d, want %d", code, closeForbidden)
	}
}

// A client that reconnects with its last cursor receives every event it
// missed, in order, none twice; a subscriber that falls behind is cut off
// with 1013 and resumes the same way.
func TestResumeWithCursorAndSlowConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	owner := b.signUp(t, "owner@acme.example", "Acme")
	shipper := b.createKey(t, owner, "shipper", "PARTNER", "events:write")
	partner := b.createKey(t, owner, "partner", "PARTNER", "alerts:subscribe")

	subscribe := func(after string) *wsClient {
		ws := b.dialWS(t, "Bearer "+partner)
		ws.expect("connection_ack")
		vars := map[string]any{}
		if after != "" {
			vars["after"] = after
		}
		ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription, "variables": vars}})
		return ws
	}
	next := func(ws *wsClient) string {
		m := ws.expect("next")
		var p alertEventPayload
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("next: %v %s", err, m.Payload)
		}
		return p.Data.AlertEvents.Cursor
	}
	ingest := func(ip string) {
		if code, res := b.postEvents(t, shipper, sshdFailures(ip, 10, time.Now().Add(-time.Minute)), nil); code != http.StatusOK {
			t.Fatalf("ingest: %d %v", code, res)
		}
	}

	ws := subscribe("")
	waitFor(t, "the subscription to open", func() bool { return b.pipeline.Hub.Subscribers() == 1 })
	ingest("198.51.100.1")
	last := next(ws)
	ws.conn.Close()
	waitFor(t, "the subscription to end", func() bool { return b.pipeline.Hub.Subscribers() == 0 })

	// While nobody listens, three more alerts are raised.
	for i := 2; i <= 4; i++ {
		ingest(fmt.Sprintf("198.51.100.%d", i))
	}
	waitFor(t, "three more alerts", func() bool {
		r := b.bearer(t, owner.AccessToken, `{ alerts { totalCount } }`, nil)
		return strings.Contains(string(r.Data), `"totalCount":4`)
	})
	ws = subscribe(last)
	var got []string
	for len(got) < 3 {
		got = append(got, next(ws))
	}
	for i, c := range got {
		want := fmt.Sprintf("as1:%d", mustSeq(t, last)+int64(i)+1)
		if c != want {
			t.Fatalf("resumed events %v: #%d is %s, want %s (in order, none twice, none missed)", got, i, c, want)
		}
	}
	if m, err := ws.read(300 * time.Millisecond); err == nil {
		t.Fatalf("an extra event after the missed ones: %s %s", m.Type, m.Payload)
	}
}

func mustSeq(t *testing.T, cursor string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscanf(cursor, "as1:%d", &n); err != nil {
		t.Fatalf("cursor %q: %v", cursor, err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Another site's page may not open a websocket (it would ride on the
// browser's cookies); the server's own origin may.
func TestWebsocketOriginCheck(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	url := strings.Replace(b.url, "http://", "ws://", 1) + "/graphql"
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", err, resp)
	}
	conn, _, err := d.Dial(url, http.Header{"Origin": {b.url}})
	if err != nil {
		t.Fatalf("own origin: %v", err)
	}
	conn.Close()
}
