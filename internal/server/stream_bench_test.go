package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/schema/types"
)

// Benchmarks of the live alert stream on a real server, every websocket
// client in this process (so client work shares the two cores too):
//
//	go test -run '^$' -bench 'AlertLatency|FanOut|SubscriberMemory' -benchmem ./internal/server/

// manySubscribers is the fleet size of the stream benchmarks.
const manySubscribers = 1000

// BenchmarkAlertLatency measures, for every subscriber, the time from
// sending a POST /v1/events that raises a new alert (12 failed sshd
// passwords from a fresh address: the brute-force rule) to reading the
// alert's `next` message, with 1 (the baseline) and 1,000 alertEvents
// subscriptions of partner keys, on SQLite and PostgreSQL. One iteration is
// one alert; p50_ms and p99_ms are over all deliveries of all iterations,
// post_p50_ms is the POST's own round trip and spread_p50_ms the time from
// the first subscriber's delivery to the last one's.
//
// The job client runs as vigil serve's does (fetch poll 100ms; River's
// fetch cooldown 100ms; insert notifications by NOTIFY on PostgreSQL). Alerts are sent 150ms apart,
// more than River's fetch cooldown (the pause is not timed); spacing=0
// sends the next request as soon as the previous alert arrived, which shows
// what River does to a score job enqueued within its fetch cooldown of the
// previous one. A first alert, untimed, warms the server up (rule
// compilation, the keys' last-use updates).
func BenchmarkAlertLatency(b *testing.B) {
	raiseOpenFiles(b, 2*manySubscribers+512)
	const spaced = 150 * time.Millisecond
	for _, dbName := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1, manySubscribers} {
			b.Run(fmt.Sprintf("db=%s/subscribers=%d/spacing=%v", dbName, n, spaced), func(b *testing.B) {
				benchAlertLatency(b, openBenchDB(b, dbName), n, spaced)
			})
		}
	}
	for _, dbName := range []string{"sqlite", "postgres"} {
		b.Run(fmt.Sprintf("db=%s/subscribers=1/spacing=0", dbName), func(b *testing.B) {
			benchAlertLatency(b, openBenchDB(b, dbName), 1, 0)
		})
	}
}

func openBenchDB(b *testing.B, name string) *database.DB {
	if name == "postgres" {
		return dbtest.Postgres(b)
	}
	return dbtest.SQLite(b)
}

// latencyRound is one alert on its way to every subscriber.
type latencyRound struct {
	marker []byte // the alert's source address, quoted as in its entities
	start  time.Time
	got    []time.Duration // per subscriber, written once by its reader
	wave   *wave
}

func benchAlertLatency(b *testing.B, db *database.DB, n int, spacing time.Duration) {
	w := benchSetup(b, db, setupOpts{servePoll: true})
	var current atomic.Pointer[latencyRound]
	w.subscribe(b, n, func(i int, msg []byte, at time.Time) {
		r := current.Load()
		if r == nil || !bytes.Contains(msg, []byte(`"type":"next"`)) || !bytes.Contains(msg, r.marker) || r.got[i] != 0 {
			return
		}
		r.got[i] = at.Sub(r.start)
		r.wave.add()
	})
	seq := 0
	round := func() (post time.Duration, got []time.Duration) {
		seq++
		ip := fmt.Sprintf("10.%d.%d.%d", 100+seq/65536%100, seq/256%256, seq%256)
		body := []byte(sshdFailures(ip, 12, time.Now().Add(-time.Minute)))
		r := &latencyRound{marker: []byte(`"` + ip + `"`), got: make([]time.Duration, n), wave: newWave(n)}
		r.start = time.Now()
		current.Store(r)
		w.postNDJSON(b, body, 12)
		post = time.Since(r.start)
		r.wave.wait(b, time.Minute, "alert "+ip)
		return post, r.got
	}

	round() // warm-up
	var all, posts, spreads []time.Duration
	for b.Loop() {
		if spacing > 0 {
			b.StopTimer()
			time.Sleep(spacing)
			b.StartTimer()
		}
		post, got := round()
		all = append(all, got...)
		posts = append(posts, post)
		sorted := sortedCopy(got)
		spreads = append(spreads, sorted[len(sorted)-1]-sorted[0])
	}
	all = sortedCopy(all)
	b.ReportMetric(ms(percentile(all, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(all, 99)), "p99_ms")
	b.ReportMetric(ms(all[len(all)-1]), "max_ms")
	b.ReportMetric(ms(percentile(sortedCopy(posts), 50)), "post_p50_ms")
	if n > 1 {
		b.ReportMetric(ms(percentile(sortedCopy(spreads), 50)), "spread_p50_ms")
	}
}

// fanOutAlerts is how many alerts one fan-out iteration raises.
const fanOutAlerts = 20

// BenchmarkFanOut measures deliveries/s from the hub to 1,000 connected
// alertEvents subscribers (SQLite): each iteration raises 20 alerts, each in
// its own transaction as the score job does, and waits until every
// subscriber read all 20. The baseline is a bare gorilla/websocket server
// that broadcasts a JSON message of the same size to 1,000 gorilla clients,
// each connection with its writer goroutine and a buffered channel (the
// gorilla chat example's hub); vigil_pct is Vigil's rate as a percentage of
// the baseline's.
func BenchmarkFanOut(b *testing.B) {
	raiseOpenFiles(b, 2*manySubscribers+512)
	var vigilRate float64
	msgSize := 0
	b.Run("impl=vigil", func(b *testing.B) { vigilRate, msgSize = benchFanOutVigil(b, manySubscribers) })
	b.Run("impl=gorilla", func(b *testing.B) {
		if msgSize == 0 {
			msgSize = 480 // impl=vigil did not run (-bench filter): about its size
		}
		rate := benchFanOutGorilla(b, manySubscribers, msgSize)
		if vigilRate > 0 {
			b.ReportMetric(100*vigilRate/rate, "vigil_pct")
		}
	})
}

func benchFanOutVigil(b *testing.B, n int) (rate float64, msgSize int) {
	w := benchSetup(b, dbtest.SQLite(b), setupOpts{})
	var (
		current atomic.Pointer[wave]
		bytesIn atomic.Int64
	)
	w.subscribe(b, n, func(_ int, msg []byte, _ time.Time) {
		if bytes.Contains(msg, []byte(`"type":"next"`)) {
			bytesIn.Add(int64(len(msg)))
			if wv := current.Load(); wv != nil {
				wv.add()
			}
		}
	})
	ctx := caller.With(context.Background(), caller.ForTenant("bench", w.tenantID))
	seq := 0
	raise := func() {
		seq++
		ip := fmt.Sprintf("10.%d.%d.%d", 100+seq/65536%100, seq/256%256, seq%256)
		now := time.Now()
		d := alerting.Detection{
			Title: "Brute Force From One Address — source.ip " + ip, Severity: alert.SeverityHIGH,
			DedupKey: "bench|" + ip, Entities: map[string]any{"source.ip": ip},
			Techniques: []types.Technique{{ID: "T1110.001", Name: "Password Guessing"}},
			First:      now.Add(-time.Minute), Last: now, Count: 12,
		}
		err := w.db.WithTx(ctx, func(tx *ent.Tx) error {
			_, _, err := w.pipeline.Alerts.Raise(ctx, tx, d)
			return err
		})
		if err != nil {
			b.Fatalf("raise alert: %v", err)
		}
	}
	wave := func() {
		wv := newWave(n * fanOutAlerts)
		current.Store(wv)
		for range fanOutAlerts {
			raise()
		}
		wv.wait(b, time.Minute, "fan-out")
	}

	wave() // warm-up
	bytesIn.Store(0)
	deliveries := 0
	for b.Loop() {
		wave()
		deliveries += n * fanOutAlerts
	}
	rate = float64(deliveries) / b.Elapsed().Seconds()
	msgSize = int(bytesIn.Load() / int64(deliveries))
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(float64(msgSize), "B/msg")
	return rate, msgSize
}

// benchFanOutGorilla is the baseline: a bare gorilla broadcast of a size-byte
// `next` message to n gorilla clients.
func benchFanOutGorilla(b *testing.B, n, size int) float64 {
	msg := nextMessageOfSize(size)
	srv := newBroadcastServer(b)
	var current atomic.Pointer[wave]
	dialFleet(b, n, func() (*websocket.Conn, error) {
		c, _, err := websocket.DefaultDialer.Dial(srv.url, nil)
		return c, err
	}, func(int, []byte, time.Time) {
		if wv := current.Load(); wv != nil {
			wv.add()
		}
	})
	waitUntil(b, time.Minute, "the bare server to accept every client", func() bool { return srv.clients() == n })
	wave := func() {
		wv := newWave(n * fanOutAlerts)
		current.Store(wv)
		for range fanOutAlerts {
			srv.broadcast(msg)
		}
		wv.wait(b, time.Minute, "bare fan-out")
	}

	wave() // warm-up
	deliveries := 0
	for b.Loop() {
		wave()
		deliveries += n * fanOutAlerts
	}
	rate := float64(deliveries) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(float64(len(msg)), "B/msg")
	return rate
}

// nextMessageOfSize is a graphql-transport-ws `next` message of size bytes.
func nextMessageOfSize(size int) []byte {
	const head, tail = `{"id":"1","type":"next","payload":{"data":{"alertEvents":{"pad":"`, `"}}}}`
	return []byte(head + strings.Repeat("x", max(size-len(head)-len(tail), 0)) + tail)
}

// broadcastServer is a bare gorilla/websocket server: each connection has a
// reader goroutine (control frames) and a writer goroutine fed by a
// buffered channel, and broadcast hands a message to every channel.
type broadcastServer struct {
	url   string
	mu    sync.Mutex
	conns map[*websocket.Conn]chan []byte
}

func newBroadcastServer(b *testing.B) *broadcastServer {
	s := &broadcastServer{conns: map[*websocket.Conn]chan []byte{}}
	var up websocket.Upgrader
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		send := make(chan []byte, 256)
		s.mu.Lock()
		s.conns[c] = send
		s.mu.Unlock()
		go func() {
			for m := range send {
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := c.WriteMessage(websocket.TextMessage, m); err != nil {
					break
				}
			}
			c.Close()
		}()
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				close(send)
			}()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
	}))
	b.Cleanup(ts.Close)
	s.url = strings.Replace(ts.URL, "http://", "ws://", 1)
	return s
}

func (s *broadcastServer) broadcast(m []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, send := range s.conns {
		send <- m
	}
}

func (s *broadcastServer) clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// BenchmarkSubscriberMemory measures the memory of 1,000 idle websocket
// connections, per connection: live heap after GC (heap_B/conn), goroutine
// stacks (stack_B/conn) and goroutines. Clients and servers share this
// process, so the client side is measured on its own first (impl=client:
// gorilla clients, each with its reader goroutine, against a server that
// keeps only the TCP connection), and server_heap_B/conn and
// server_stack_B/conn subtract it. impl=gorilla is the baseline, a bare
// gorilla connection pair whose server reads in one goroutine; impl=vigil is
// an alertEvents subscription (SQLite), whose x_gorilla is its server-side
// heap and stacks as a multiple of the baseline's. An iteration opens the
// 1,000 connections, measures, and closes them.
func BenchmarkSubscriberMemory(b *testing.B) {
	raiseOpenFiles(b, 2*manySubscribers+512)
	const n = manySubscribers
	var client, gorilla perConn
	b.Run("impl=client", func(b *testing.B) {
		srv := newHoldServer(b, false)
		client = benchIdle(b, n, func() *fleet { return dialFleet(b, n, srv.dial, nil) }, srv.count, srv.release, nil)
	})
	b.Run("impl=gorilla", func(b *testing.B) {
		srv := newHoldServer(b, true)
		gorilla = benchIdle(b, n, func() *fleet { return dialFleet(b, n, srv.dial, nil) }, srv.count, nil, &client)
	})
	b.Run("impl=vigil", func(b *testing.B) {
		w := benchSetup(b, dbtest.SQLite(b), setupOpts{})
		vigil := benchIdle(b, n, func() *fleet { return w.subscribe(b, n, nil) }, w.pipeline.Hub.Subscribers, nil, &client)
		if server := gorilla.heap + gorilla.stack - client.heap - client.stack; server > 0 {
			b.ReportMetric((vigil.heap+vigil.stack-client.heap-client.stack)/server, "x_gorilla")
		}
	})
}

// benchIdle opens n connections with open per iteration, waits until the
// server side counts n (count), samples memory, then closes the clients,
// lets the server go (release, when it does not notice by itself) and waits
// until it holds none.
func benchIdle(b *testing.B, n int, open func() *fleet, count func() int, release func(), client *perConn) perConn {
	var samples []perConn
	for b.Loop() {
		before := sampleMemory()
		f := open()
		waitUntil(b, time.Minute, "the server to hold every connection", func() bool { return count() == n })
		time.Sleep(100 * time.Millisecond) // let the connections' goroutines park
		samples = append(samples, growth(before, sampleMemory(), n))
		f.close()
		if release != nil {
			release()
		}
		waitUntil(b, time.Minute, "the server to let go of every connection", func() bool { return count() == 0 })
	}
	m := mean(samples)
	b.ReportMetric(m.heap, "heap_B/conn")
	b.ReportMetric(m.stack, "stack_B/conn")
	b.ReportMetric(m.goroutines, "goroutines/conn")
	if client != nil {
		b.ReportMetric(m.heap-client.heap, "server_heap_B/conn")
		b.ReportMetric(m.stack-client.stack, "server_stack_B/conn")
	}
	return m
}

// holdServer accepts websockets and either keeps only the TCP connection,
// with no goroutine (read=false: next to no server-side state, to measure the
// clients; release closes them), or keeps the gorilla connection with a
// reader goroutine that ends when the client goes (read=true: the bare
// baseline).
type holdServer struct {
	url   string
	mu    sync.Mutex
	conns map[io.Closer]bool
}

func newHoldServer(b *testing.B, read bool) *holdServer {
	s := &holdServer{conns: map[io.Closer]bool{}}
	var up websocket.Upgrader
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if !read {
			s.set(c.NetConn(), true)
			return
		}
		s.set(c, true)
		go func() {
			defer func() { c.Close(); s.set(c, false) }()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
	}))
	b.Cleanup(ts.Close)
	b.Cleanup(s.release)
	s.url = strings.Replace(ts.URL, "http://", "ws://", 1)
	return s
}

func (s *holdServer) dial() (*websocket.Conn, error) {
	c, _, err := websocket.DefaultDialer.Dial(s.url, nil)
	return c, err
}

func (s *holdServer) set(c io.Closer, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held {
		s.conns[c] = true
	} else {
		delete(s.conns, c)
	}
}

func (s *holdServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// release closes every connection the server holds.
func (s *holdServer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
		delete(s.conns, c)
	}
}
