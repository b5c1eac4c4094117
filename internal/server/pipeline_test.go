package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
)

// wsClient is a graphql-transport-ws client over gorilla/websocket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialWS opens /graphql as a websocket and sends connection_init with auth.
func (b *testBundle) dialWS(t *testing.T, authorization string) *wsClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(strings.Replace(b.url, "http://", "ws://", 1)+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial websocket: %v (%v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn}
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": authorization}})
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatalf("websocket write: %v", err)
	}
}

type wsMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// read returns the next message that is not a ping/pong, failing after wait.
func (c *wsClient) read(wait time.Duration) (wsMessage, error) {
	deadline := time.Now().Add(wait)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		var m wsMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			return m, err
		}
		switch m.Type {
		case "ping":
			c.send(map[string]any{"type": "pong"})
		case "pong":
		default:
			return m, nil
		}
	}
}

func (c *wsClient) expect(typ string) wsMessage {
	c.t.Helper()
	m, err := c.read(20 * time.Second)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if m.Type != typ {
		c.t.Fatalf("got %s %s, want %s", m.Type, m.Payload, typ)
	}
	return m
}

const alertEventsSubscription = `subscription($after: String) { alertEvents(after: $after) { cursor kind alert { id title severity count riskScore
  riskBreakdown { factor points detail } techniques { id name } entities } } }`

type alertEventPayload struct {
	Data struct {
		AlertEvents struct {
			Cursor string
			Kind   string
			Alert  struct {
				ID, Title, Severity string
				Count, RiskScore    int
				RiskBreakdown       []struct {
					Factor string
					Points int
				}
				Techniques []struct{ ID, Name string }
				Entities   map[string]any
			}
		}
	}
	Errors []gqlError
}

// createKey makes an API key of role with scopes, as the tenant's owner.
func (b *testBundle) createKey(t testing.TB, owner account, name, role string, scopes ...string) string {
	t.Helper()
	r := b.bearer(t, owner.AccessToken, `mutation($i: CreateAPIKeyInput!) { createAPIKey(input: $i) { secret } }`,
		map[string]any{"i": map[string]any{"name": name, "role": role, "scopes": scopes}})
	var d struct{ CreateAPIKey struct{ Secret string } }
	if err := json.Unmarshal(r.Data, &d); err != nil || d.CreateAPIKey.Secret == "" {
		t.Fatalf("createAPIKey: %v %s", err, r.rawBody)
	}
	return d.CreateAPIKey.Secret
}

// postEvents sends NDJSON to /v1/events.
func (b *testBundle) postEvents(t *testing.T, key string, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// sshdFailures returns n syslog lines of failed sshd passwords from ip.
func sshdFailures(ip string, n int, start time.Time) string {
	var buf bytes.Buffer
	for i := range n {
		ts := start.Add(time.Duration(i) * time.Second).UTC()
		line := fmt.Sprintf("<38>%s web-1 sshd[%d]: Failed password for root from %s port %d ssh2", ts.Format(time.Stamp), 4000+i, ip, 50000+i)
		_ = json.NewEncoder(&buf).Encode(map[string]string{"message": line})
	}
	return buf.String()
}

// The end-to-end path: syslog sshd lines with many failures from one
// IP go in through /v1/events; a brute-force alert for that IP comes out on a
// partner's websocket subscription, scored and tagged with ATT&CK.
func TestBruteForceAlertReachesWebsocketSubscriber(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, setupOpts{identity: true, db: db})
		owner := b.signUp(t, "owner@acme.example", "Acme")
		shipper := b.createKey(t, owner, "syslog shipper", "PARTNER", "events:write")
		partner := b.createKey(t, owner, "mssp partner", "PARTNER", "alerts:subscribe")

		ws := b.dialWS(t, "Bearer "+partner)
		ws.expect("connection_ack")
		ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}})
		// The partner receives alerts but may not read through them.
		ws.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": `subscription { alertEvents { cursor alert { title rule { name definition } } } }`}})

		code, res := b.postEvents(t, shipper, sshdFailures("203.0.113.7", 12, time.Now().Add(-time.Minute))+"not json\n", nil)
		if code != http.StatusOK || res["accepted"] != float64(12) || res["rejected"] != float64(1) {
			t.Fatalf("ingest: %d %v", code, res)
		}
		if errs, _ := res["errors"].([]any); len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "line:13") {
			t.Fatalf("the bad line must be named by number: %v", res["errors"])
		}

		edgeRefused, alertSeen := false, false
		for !edgeRefused || !alertSeen {
			m := ws.expect("next")
			if m.ID == "2" {
				if !strings.Contains(string(m.Payload), "FORBIDDEN") || !strings.Contains(string(m.Payload), `"rule":null`) || strings.Contains(string(m.Payload), "detection") {
					t.Fatalf("a partner read an alert's rule: %s", m.Payload)
				}
				edgeRefused = true
				continue
			}
			var p alertEventPayload
			if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
				t.Fatalf("next: %v %s", err, m.Payload)
			}
			a := p.Data.AlertEvents.Alert
			if a.Entities["source.ip"] != "203.0.113.7" || !strings.Contains(strings.ToLower(a.Title), "brute") {
				continue // another default rule may fire too
			}
			if p.Data.AlertEvents.Cursor == "" || a.RiskScore <= 0 || len(a.RiskBreakdown) == 0 {
				t.Fatalf("alert without cursor or score: %s", m.Payload)
			}
			found := false
			for _, tech := range a.Techniques {
				found = found || (strings.HasPrefix(tech.ID, "T1110") && tech.Name != "")
			}
			if !found {
				t.Fatalf("brute force alert lacks the named ATT&CK technique T1110: %s", m.Payload)
			}
			alertSeen = true
		}
	})
}
