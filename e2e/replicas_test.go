package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestAlertCrossesReplicas runs two `vigil serve` processes on one
// PostgreSQL database: events go in through one, and the alert they raise
// reaches a websocket subscriber of the other (woken by NOTIFY after commit).
func TestAlertCrossesReplicas(t *testing.T) {
	t.Parallel()
	env := postgresEnv(t)
	a := startVigil(t, env)
	b := startVigil(t, env)
	owner, shipper, partner := tenantWithKeys(t, a.URL, "soc@replicas.example")
	_ = owner

	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial(strings.Replace(b.URL, "http://", "ws://", 1)+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial replica B: %v", err)
	}
	defer conn.Close()
	send := func(v any) {
		if err := conn.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	read := func() (typ string, payload json.RawMessage) {
		for {
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			var m struct {
				Type    string
				Payload json.RawMessage
			}
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("replica B's websocket: %v", err)
			}
			if m.Type == "ping" {
				send(map[string]any{"type": "pong"})
				continue
			}
			if m.Type != "pong" {
				return m.Type, m.Payload
			}
		}
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + partner}})
	if typ, p := read(); typ != "connection_ack" {
		t.Fatalf("connection_init: %s %s", typ, p)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($after: String) { alertEvents(after: $after) { cursor kind alert { title entities } } }`,
		"variables": map[string]any{"after": "as1:0"},
	}})

	var body strings.Builder
	for i := range 12 {
		ts := time.Now().Add(-time.Minute + time.Duration(i)*time.Second).UTC().Format(time.Stamp)
		line, _ := json.Marshal(map[string]string{"message": fmt.Sprintf("<38>%s db-1 sshd[77]: Failed password for invalid user admin from 203.0.113.99 port %d ssh2", ts, 30000+i)})
		body.Write(append(line, '\n'))
	}
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/v1/events", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+shipper)
	if r := do(t, req); r.StatusCode != http.StatusOK {
		t.Fatalf("ingest through replica A: %d %s", r.StatusCode, r.Body)
	}
	for {
		typ, p := read()
		if typ != "next" {
			t.Fatalf("replica B sent %s %s", typ, p)
		}
		if strings.Contains(string(p), "203.0.113.99") {
			t.Logf("replica B delivered: %s", p)
			return
		}
	}
}
