package wsgorilla_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/internal/wsgorilla"
)

// guard bounds every wait so that a broken test fails instead of hanging; no
// test relies on it elapsing.
const guard = 10 * time.Second

const (
	transportWS = "graphql-transport-ws"
	legacyWS    = "graphql-ws"
)

type clientNameKey struct{}

// closeEvent is one call of the transport's CloseFunc.
type closeEvent struct {
	client string
	code   int
}

// errorEvent is one call of the transport's ErrorFunc.
type errorEvent struct {
	client string
	err    error
}

type setupOpts struct {
	checkOrigin  func(*http.Request) bool
	subprotocols []string
	writeTimeout time.Duration
	readLimit    *int64
	pingPong     time.Duration
	initFunc     transport.WebsocketInitFunc
	configure    func(*testserver.TestServer)
}

type testBundle struct {
	server  *testserver.TestServer
	url     string
	tracker *wsgorilla.Tracker
	closed  chan closeEvent
	seen    []closeEvent // received by waitClosed, not yet waited for
	errs    chan errorEvent
}

// setup serves gqlgen's test schema over the gorilla implementation. Every
// connection is named by the "name" of its connection_init payload, so that
// CloseFunc and ErrorFunc events can be told apart.
func setup(t *testing.T, o setupOpts) *testBundle {
	t.Helper()
	b := &testBundle{
		server:  testserver.New(),
		tracker: &wsgorilla.Tracker{},
		closed:  make(chan closeEvent, 16),
		errs:    make(chan errorEvent, 64),
	}
	if o.configure != nil {
		o.configure(b.server)
	}

	opts := []wsgorilla.Option{wsgorilla.WithTracker(b.tracker)}
	if o.writeTimeout > 0 {
		opts = append(opts, wsgorilla.WithWriteTimeout(o.writeTimeout))
	}
	checkOrigin := o.checkOrigin
	if checkOrigin == nil {
		checkOrigin = func(*http.Request) bool { return true }
	}
	up := websocket.Upgrader{CheckOrigin: checkOrigin, Subprotocols: o.subprotocols}

	b.server.AddTransport(transport.Websocket{
		Implementation:   wsgorilla.New(up, opts...),
		PayloadReadLimit: o.readLimit,
		PingPongInterval: o.pingPong,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			ctx = context.WithValue(ctx, clientNameKey{}, p.GetString("name"))
			if o.initFunc != nil {
				return o.initFunc(ctx, p)
			}
			return ctx, nil, nil
		},
		CloseFunc: func(ctx context.Context, code int) {
			b.closed <- closeEvent{client: clientName(ctx), code: code}
		},
		ErrorFunc: func(ctx context.Context, err error) {
			select {
			case b.errs <- errorEvent{client: clientName(ctx), err: err}:
			default: // A flooding subscription may report many failed writes; the first ones suffice.
			}
		},
	})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.server.ServeHTTP(w, wsgorilla.WithCloser(r))
	}))
	t.Cleanup(srv.Close)
	b.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	return b
}

func clientName(ctx context.Context) string {
	name, _ := ctx.Value(clientNameKey{}).(string)
	return name
}

// waitClosed waits for the CloseFunc call of the named client; calls for
// other clients are kept for later waits. A connection refused by InitFunc
// has no name: gqlgen passes CloseFunc the request context then.
func (b *testBundle) waitClosed(t *testing.T, client string) closeEvent {
	t.Helper()
	timeout := time.After(guard)
	for {
		for i, ev := range b.seen {
			if ev.client == client {
				b.seen = slices.Delete(b.seen, i, i+1)
				return ev
			}
		}
		select {
		case ev := <-b.closed:
			b.seen = append(b.seen, ev)
		case <-timeout:
			t.Fatalf("connection %q was not closed on the server", client)
		}
	}
}

// noErrors fails if ErrorFunc reported anything so far.
func (b *testBundle) noErrors(t *testing.T) {
	t.Helper()
	select {
	case ev := <-b.errs:
		t.Errorf("ErrorFunc(%q): %v", ev.client, ev.err)
	default:
	}
}

type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, url string, subprotocols ...string) *client {
	t.Helper()
	d := websocket.Dialer{Subprotocols: subprotocols, HandshakeTimeout: guard}
	conn, resp, err := d.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return &client{t: t, conn: conn}
}

func (c *client) send(typ, id string, payload any) {
	c.t.Helper()
	m := map[string]any{"type": typ}
	if id != "" {
		m["id"] = id
	}
	if payload != nil {
		m["payload"] = payload
	}
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
}

// init sends connection_init with the connection's name and expects the ack.
func (c *client) init(name string) {
	c.t.Helper()
	c.send("connection_init", "", map[string]any{"name": name})
	c.expect("connection_ack")
}

func (c *client) read() (message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(guard))
	var m message
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("decode %s: %v", data, err)
	}
	return m, nil
}

func (c *client) expect(typ string) message {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if m.Type != typ {
		c.t.Fatalf("got %s %s, want %s", m.Type, m.Payload, typ)
	}
	return m
}

// expectNext expects one subscription result of the test schema.
func (c *client) expectNext(typ, id string) {
	c.t.Helper()
	m := c.expect(typ)
	var payload struct {
		Data struct{ Name string } `json:"data"`
	}
	if err := json.Unmarshal(m.Payload, &payload); err != nil {
		c.t.Fatalf("decode payload %s: %v", m.Payload, err)
	}
	if m.ID != id || payload.Data.Name != "test" {
		c.t.Fatalf("got %s id %q payload %s, want id %q with name test", m.Type, m.ID, m.Payload, id)
	}
}

// expectClose expects the next frame to be a close frame with code and
// reason.
func (c *client) expectClose(code int, reason string) {
	c.t.Helper()
	m, err := c.read()
	if err == nil {
		c.t.Fatalf("got %s %s, want close %d", m.Type, m.Payload, code)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Text != reason {
		c.t.Fatalf("got %v, want close %d %q", err, code, reason)
	}
}

func TestGraphQLTransportWS(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c := dial(t, b.url, transportWS)
	if got := c.conn.Subprotocol(); got != transportWS {
		t.Fatalf("negotiated %q, want %q", got, transportWS)
	}

	c.init("c")
	c.send("ping", "", nil)
	c.expect("pong")

	c.send("subscribe", "1", map[string]any{"query": "subscription { name }"})
	for range 2 {
		b.server.SendNextSubscriptionMessage()
		c.expectNext("next", "1")
	}
	b.server.SendCompleteSubscriptionMessage()
	if m := c.expect("complete"); m.ID != "1" {
		t.Fatalf("complete for %q, want 1", m.ID)
	}

	// A normal close by the client ends the connection without a read error.
	if err := c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	c.expectClose(websocket.CloseNormalClosure, "")
	if ev := b.waitClosed(t, "c"); ev.code != websocket.CloseNormalClosure {
		t.Fatalf("CloseFunc code %d, want 1000", ev.code)
	}
	b.noErrors(t)
}

func TestGraphQLWSLegacy(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c := dial(t, b.url, legacyWS)
	if got := c.conn.Subprotocol(); got != legacyWS {
		t.Fatalf("negotiated %q, want %q", got, legacyWS)
	}

	c.init("c")
	c.expect("ka")

	c.send("start", "1", map[string]any{"query": "subscription { name }"})
	b.server.SendNextSubscriptionMessage()
	c.expectNext("data", "1")
	c.send("stop", "1", nil)
	if m := c.expect("complete"); m.ID != "1" {
		t.Fatalf("complete for %q, want 1", m.ID)
	}

	c.send("connection_terminate", "", nil)
	c.expectClose(websocket.CloseNormalClosure, "terminated")
	b.waitClosed(t, "c")
	b.noErrors(t)
}

func TestNoSubprotocolIsLegacy(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c := dial(t, b.url)
	if got := c.conn.Subprotocol(); got != "" {
		t.Fatalf("negotiated %q, want none", got)
	}
	c.init("c")
	// Only the legacy protocol has keep-alive messages.
	c.expect("ka")
}

func TestSubprotocolPreference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		server []string
		want   string
	}{
		{name: "gqlgen order", server: nil, want: legacyWS},
		{name: "caller order first", server: []string{transportWS}, want: transportWS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Spare capacity would show an append into the caller's array.
			callers := make([]string, len(tc.server), len(tc.server)+4)
			copy(callers, tc.server)
			b := setup(t, setupOpts{subprotocols: callers})

			c := dial(t, b.url, legacyWS, transportWS)
			if got := c.conn.Subprotocol(); got != tc.want {
				t.Fatalf("negotiated %q, want %q", got, tc.want)
			}
			for i, p := range callers[:cap(callers)] {
				if i >= len(tc.server) && p != "" {
					t.Fatalf("Accept wrote %q into the caller's Subprotocols", p)
				}
			}
		})
	}
}

func TestInitFuncRefuses(t *testing.T) {
	t.Parallel()
	refuse := func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if p.Authorization() != "Bearer good" {
			ctx = transport.AppendCloseReason(ctx, "invalid credentials")
			return transport.WithWebsocketCloseCode(ctx, 4403), nil, errors.New("invalid credentials")
		}
		return ctx, nil, nil
	}
	for _, protocol := range []string{transportWS, legacyWS} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{initFunc: refuse})

			good := dial(t, b.url, protocol)
			good.send("connection_init", "", map[string]any{"name": "good", "authorization": "Bearer good"})
			good.expect("connection_ack")

			bad := dial(t, b.url, protocol)
			bad.send("connection_init", "", map[string]any{"name": "bad", "authorization": "Bearer bad"})
			if protocol == legacyWS {
				bad.expect("connection_error")
			}
			bad.expectClose(4403, "invalid credentials")
			if ev := b.waitClosed(t, ""); ev.code != 4403 {
				t.Fatalf("CloseFunc code %d, want 4403", ev.code)
			}
		})
	}
}

func TestCloseFromResolver(t *testing.T) {
	t.Parallel()
	closed := make(chan bool, 1)
	b := setup(t, setupOpts{configure: func(srv *testserver.TestServer) {
		// The response middleware runs on the subscription's own context,
		// which gqlgen derives from the request context.
		srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
			resp := next(ctx)
			if resp != nil {
				select {
				case closed <- wsgorilla.CloseFromContext(ctx, 4008, "slow consumer"):
				default:
				}
			}
			return resp
		})
	}})

	c := dial(t, b.url, transportWS)
	c.init("c")
	c.send("subscribe", "1", map[string]any{"query": "subscription { name }"})
	b.server.SendNextSubscriptionMessage()
	if !<-closed {
		t.Fatal("CloseFromContext reported no connection")
	}
	// The result produced with the close was not sent after the close frame.
	c.expectClose(4008, "slow consumer")
	b.waitClosed(t, "c")
	b.noErrors(t)
}

func TestCloserFromInitFunc(t *testing.T) {
	t.Parallel()
	closers := make(chan *wsgorilla.Closer, 1)
	b := setup(t, setupOpts{initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		// What a session registry keeps, to close at logout.
		closers <- wsgorilla.CloserFromContext(ctx)
		return ctx, nil, nil
	}})

	c := dial(t, b.url, transportWS)
	c.init("c")
	closer := <-closers
	if !closer.Close(4401, "access revoked") {
		t.Fatal("Close reported no connection")
	}
	if closer.Close(4401, "access revoked") {
		t.Fatal("a second Close started another close")
	}
	c.expectClose(4401, "access revoked")
	b.waitClosed(t, "c")
	b.noErrors(t)
}

func TestLongCloseReasonIsCut(t *testing.T) {
	t.Parallel()
	closers := make(chan *wsgorilla.Closer, 1)
	b := setup(t, setupOpts{initFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		closers <- wsgorilla.CloserFromContext(ctx)
		return ctx, nil, nil
	}})

	c := dial(t, b.url, transportWS)
	c.init("c")
	// 200 bytes of two-byte runes: the frame holds 123, so 61 runes remain.
	(<-closers).Close(4000, strings.Repeat("é", 100))
	c.expectClose(4000, strings.Repeat("é", 61))
}

func TestCloserWithoutConnection(t *testing.T) {
	t.Parallel()
	if wsgorilla.CloseFromContext(context.Background(), 4000, "x") {
		t.Error("CloseFromContext without WithCloser reported a connection")
	}
	r := wsgorilla.WithCloser(httptest.NewRequest(http.MethodGet, "/", nil))
	if wsgorilla.WithCloser(r) != r {
		t.Error("WithCloser replaced an existing Closer")
	}
	if wsgorilla.CloseFromContext(r.Context(), 4000, "x") {
		t.Error("CloseFromContext before the upgrade reported a connection")
	}

	defer func() {
		if recover() == nil {
			t.Error("close code 1006 did not panic")
		}
	}()
	wsgorilla.CloseFromContext(r.Context(), websocket.CloseAbnormalClosure, "")
}

func TestTrackerCloseAll(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	c1 := dial(t, b.url, transportWS)
	c1.init("c1")
	c2 := dial(t, b.url, legacyWS)
	c2.init("c2")
	c2.expect("ka")
	if n := b.tracker.Len(); n != 2 {
		t.Fatalf("tracker holds %d connections, want 2", n)
	}

	if n := b.tracker.CloseAll(websocket.CloseServiceRestart, "service restart"); n != 2 {
		t.Fatalf("CloseAll closed %d connections, want 2", n)
	}
	c1.expectClose(websocket.CloseServiceRestart, "service restart")
	c2.expectClose(websocket.CloseServiceRestart, "service restart")

	// A connection that arrives after CloseAll is turned away the same way.
	c3 := dial(t, b.url, transportWS)
	c3.send("connection_init", "", map[string]any{"name": "c3"})
	c3.expectClose(websocket.CloseServiceRestart, "service restart")

	for _, name := range []string{"c1", "c2", "c3"} {
		b.waitClosed(t, name)
	}
	if n := b.tracker.Len(); n != 0 {
		t.Fatalf("tracker holds %d connections after they closed, want 0", n)
	}
	b.noErrors(t)
}

func TestSlowConsumerIsDropped(t *testing.T) {
	t.Parallel()
	// A subscription named "flood" produces large results as fast as the
	// connection takes them, so a client that does not read fills the socket
	// buffers and the server's next write blocks.
	big := json.RawMessage(`{"name":"` + strings.Repeat("x", 256<<10) + `"}`)
	b := setup(t, setupOpts{writeTimeout: 200 * time.Millisecond, configure: func(srv *testserver.TestServer) {
		srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
			if graphql.GetOperationContext(ctx).OperationName == "flood" {
				return &graphql.Response{Data: big}
			}
			return next(ctx)
		})
	}})

	slow := dial(t, b.url, transportWS)
	slow.init("slow")
	slow.send("subscribe", "1", map[string]any{"query": "subscription flood { name }", "operationName": "flood"})

	// Another client is served meanwhile: a blocked write holds only the
	// locks of its own connection.
	other := dial(t, b.url, transportWS)
	other.init("other")
	other.send("subscribe", "1", map[string]any{"query": "subscription { name }"})
	b.server.SendNextSubscriptionMessage()
	other.expectNext("next", "1")

	// The server gives up on the slow client with a write timeout...
	timeout := time.After(guard)
	for timedOut := false; !timedOut; {
		select {
		case ev := <-b.errs:
			var werr transport.WebsocketError
			var nerr net.Error
			if ev.client != "slow" || !errors.As(ev.err, &werr) || werr.IsReadError {
				t.Fatalf("ErrorFunc(%q): %v, want only write errors of the slow client", ev.client, ev.err)
			}
			timedOut = errors.As(ev.err, &nerr) && nerr.Timeout()
		case <-timeout:
			t.Fatal("no write timeout reported for the slow client")
		}
	}
	b.waitClosed(t, "slow")

	// ...and drops it without a close frame (the socket is full): after the
	// buffered messages, the client's read ends at the end of the stream.
	_ = slow.conn.SetReadDeadline(time.Now().Add(guard))
	for {
		_, _, err := slow.conn.NextReader()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) && !errors.Is(err, io.EOF) {
			t.Fatalf("slow client read ended with %v, want the end of the stream", err)
		}
		break
	}

	// The other client is still connected and served.
	other.send("ping", "", nil)
	other.expect("pong")
	b.server.SendNextSubscriptionMessage()
	other.expectNext("next", "1")
}

func TestReadLimit(t *testing.T) {
	t.Parallel()
	limit := int64(512)
	b := setup(t, setupOpts{readLimit: &limit})
	c := dial(t, b.url, transportWS)
	c.init("c")

	c.send("subscribe", "1", map[string]any{"query": "subscription { name }", "extensions": map[string]any{"pad": strings.Repeat("x", 1024)}})
	c.expectClose(websocket.CloseMessageTooBig, "")
	b.waitClosed(t, "c")
}

// PingPongInterval relies on SetReadDeadline: a client that answers no ping
// is disconnected.
func TestMissingPongs(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{pingPong: 50 * time.Millisecond})
	c := dial(t, b.url, transportWS)
	c.init("c")

	for {
		m, err := c.read()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("read ended with %v, want gqlgen's close", err)
			}
			break
		}
		if m.Type != "ping" {
			t.Fatalf("got %s, want only pings", m.Type)
		}
	}
	b.waitClosed(t, "c")
	ev := <-b.errs
	var nerr net.Error
	if !errors.As(ev.err, &nerr) || !nerr.Timeout() {
		t.Fatalf("ErrorFunc: %v, want a read timeout", ev.err)
	}
}

func TestOriginRejected(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.vigil.test"
	b := setup(t, setupOpts{checkOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == allowed }})

	for _, tc := range []struct {
		origin string
		status int
	}{
		{origin: "https://evil.test", status: http.StatusForbidden},
		{origin: allowed, status: http.StatusSwitchingProtocols},
	} {
		d := websocket.Dialer{Subprotocols: []string{transportWS}, HandshakeTimeout: guard}
		conn, resp, err := d.DialContext(t.Context(), b.url, http.Header{"Origin": {tc.origin}})
		if resp == nil {
			t.Fatalf("origin %s: no response: %v", tc.origin, err)
		}
		_ = resp.Body.Close()
		if conn != nil {
			_ = conn.Close()
		}
		if resp.StatusCode != tc.status {
			t.Errorf("origin %s: status %d, want %d", tc.origin, resp.StatusCode, tc.status)
		}
	}
}

// gqlgen returns without closing when a connection_init payload is not an
// object; the connection must not outlive the request.
func TestAbandonedConnectionIsClosed(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{writeTimeout: 100 * time.Millisecond})
	c := dial(t, b.url, transportWS)
	c.send("connection_init", "", "not an object")

	_, err := c.read()
	if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
		t.Fatalf("read ended with %v, want the connection dropped", err)
	}
	if n := b.tracker.Len(); n != 0 {
		t.Fatalf("tracker holds %d connections, want 0", n)
	}
}
