package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/ratelimit"
)

// What the benchmarks of this package share: a server with a tenant, a
// shipper key (events:write) and a partner key (alerts:subscribe), and a
// fleet of websocket subscribers that run in the same process.

// benchWorld is a real server on db with one tenant and its keys.
type benchWorld struct {
	*testBundle
	tenantID pulid.ID
	shipper  string // PARTNER key with events:write
	partner  string // PARTNER key with alerts:subscribe
}

// benchSetup starts a quiet server on db with no practical request limit,
// signs up a tenant and makes its keys.
func benchSetup(b *testing.B, db *database.DB, o setupOpts) *benchWorld {
	b.Helper()
	o.identity, o.db, o.quiet = true, db, true
	o.perAPIKey = ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
	tb := setup(b, o)
	owner := tb.signUp(b, "owner@bench.example", "Bench")
	return &benchWorld{
		testBundle: tb,
		tenantID:   pulid.ID(owner.TenantID),
		shipper:    tb.createKey(b, owner, "shipper", "PARTNER", "events:write"),
		partner:    tb.createKey(b, owner, "partner", "PARTNER", "alerts:subscribe"),
	}
}

// ingestResult is the part of POST /v1/events' answer the benchmarks check.
type ingestResult struct {
	Accepted, Rejected int
}

// postNDJSON sends body to /v1/events with the shipper key and fails unless
// every line was accepted.
func (w *benchWorld) postNDJSON(b *testing.B, body []byte, lines int) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, w.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+w.shipper)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var res ingestResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("POST /v1/events: %d %+v %v", resp.StatusCode, res, err)
	}
	if res.Accepted != lines {
		b.Fatalf("POST /v1/events accepted %d of %d events (%d rejected)", res.Accepted, lines, res.Rejected)
	}
}

// fleet is n websocket clients, each with a reader goroutine that answers
// pings and hands every other message to onMessage with the time it was read.
type fleet struct {
	conns     []*websocket.Conn
	onMessage func(i int, msg []byte, at time.Time)
	writeMu   []sync.Mutex
	readers   sync.WaitGroup
	closeOnce sync.Once
}

// dialFleet opens n connections with dial, up to 32 at a time, starts their
// readers and closes them when b ends.
func dialFleet(b *testing.B, n int, dial func() (*websocket.Conn, error), onMessage func(i int, msg []byte, at time.Time)) *fleet {
	b.Helper()
	f := &fleet{conns: make([]*websocket.Conn, n), writeMu: make([]sync.Mutex, n), onMessage: onMessage}
	b.Cleanup(f.close)
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 32)
		firstErr atomic.Pointer[error]
	)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := dial()
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			f.conns[i] = c
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatalf("open %d websockets: %v", n, *err)
	}
	for i, c := range f.conns {
		f.readers.Go(func() { f.read(i, c) })
	}
	return f
}

func (f *fleet) read(i int, c *websocket.Conn) {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		if bytes.Contains(msg, []byte(`"type":"ping"`)) {
			f.writeMu[i].Lock()
			_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
			f.writeMu[i].Unlock()
			continue
		}
		if f.onMessage != nil {
			f.onMessage(i, msg, at)
		}
	}
}

func (f *fleet) close() {
	f.closeOnce.Do(func() {
		for _, c := range f.conns {
			if c != nil {
				_ = c.Close()
			}
		}
		f.readers.Wait()
	})
}

// dialSubscription opens /graphql as a graphql-transport-ws websocket,
// authenticates with key and subscribes to alertEvents from now on.
func dialSubscription(wsURL, key string) (*websocket.Conn, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second}
	c, _, err := d.Dial(wsURL, nil)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*websocket.Conn, error) { c.Close(); return nil, err }
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + key}}); err != nil {
		return fail(err)
	}
	for {
		var m wsMessage
		if err := c.ReadJSON(&m); err != nil {
			return fail(fmt.Errorf("waiting for connection_ack: %w", err))
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type != "ping" && m.Type != "pong" {
			return fail(fmt.Errorf("got %s %s, want connection_ack", m.Type, m.Payload))
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	if err := c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": alertEventsSubscription}}); err != nil {
		return fail(err)
	}
	return c, nil
}

// subscribe opens n alertEvents subscriptions with the partner key and waits
// until the hub holds them all.
func (w *benchWorld) subscribe(b *testing.B, n int, onMessage func(i int, msg []byte, at time.Time)) *fleet {
	b.Helper()
	wsURL := strings.Replace(w.url, "http://", "ws://", 1) + "/graphql"
	before := w.pipeline.Hub.Subscribers()
	f := dialFleet(b, n, func() (*websocket.Conn, error) { return dialSubscription(wsURL, w.partner) }, onMessage)
	waitUntil(b, time.Minute, fmt.Sprintf("%d subscriptions in the hub", n), func() bool {
		return w.pipeline.Hub.Subscribers() >= before+n
	})
	return f
}

// waitUntil polls cond every 5ms and fails b after limit.
func waitUntil(b *testing.B, limit time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("gave up waiting %v for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wave counts messages until target arrived, then closes done.
type wave struct {
	target int64
	count  atomic.Int64
	done   chan struct{}
}

func newWave(target int) *wave { return &wave{target: int64(target), done: make(chan struct{})} }

func (w *wave) add() {
	if w.count.Add(1) == w.target {
		close(w.done)
	}
}

func (w *wave) wait(b *testing.B, limit time.Duration, what string) {
	b.Helper()
	select {
	case <-w.done:
	case <-time.After(limit):
		b.Fatalf("%s: %d of %d messages arrived within %v", what, w.count.Load(), w.target, limit)
	}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted ds by the
// nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// memSample is the live heap, goroutine stacks and goroutines after a full
// collection.
type memSample struct {
	heap, stack uint64
	goroutines  int
}

func sampleMemory() memSample {
	var ms runtime.MemStats
	// Twice: finalizers and sync.Pool victims let go of more on the second.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// perConn is the growth from before to after, per connection.
type perConn struct{ heap, stack, goroutines float64 }

func growth(before, after memSample, n int) perConn {
	return perConn{
		heap:       (float64(after.heap) - float64(before.heap)) / float64(n),
		stack:      (float64(after.stack) - float64(before.stack)) / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}
}

func mean(xs []perConn) perConn {
	var s perConn
	for _, x := range xs {
		s.heap += x.heap
		s.stack += x.stack
		s.goroutines += x.goroutines
	}
	n := float64(len(xs))
	return perConn{heap: s.heap / n, stack: s.stack / n, goroutines: s.goroutines / n}
}

// sortedCopy returns ds sorted, leaving ds alone.
func sortedCopy(ds []time.Duration) []time.Duration {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}
