// Package wsgorilla is the gorilla/websocket implementation of gqlgen's
// websocket transport (transport.WebsocketImplementation): the upgrade with
// subprotocol negotiation, reads that tell a normal close from a failure,
// writes that give up on a peer that does not read, and close frames with
// application-chosen codes — per connection from a resolver (Closer) or for
// every connection at shutdown (Tracker).
//
// It does not authenticate (that is the transport's InitFunc and the origin
// check the caller puts in the Upgrader) and knows nothing of subscriptions
// or the GraphQL message protocols, which gqlgen's transport speaks on top of
// the connection this package hands it.
package wsgorilla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// DefaultWriteTimeout bounds each message write unless WithWriteTimeout says
// otherwise.
const DefaultWriteTimeout = 10 * time.Second

// maxCloseReason is what fits in a close frame after the two-byte code
// (control frames carry at most 125 bytes, RFC 6455 §5.5).
const maxCloseReason = 123

// Option configures New.
type Option func(*implementation)

// WithWriteTimeout bounds every write (messages and close frames) and the wait
// for a peer to answer a close frame. A peer that has not taken a message
// within d is disconnected. Non-positive values keep DefaultWriteTimeout.
func WithWriteTimeout(d time.Duration) Option {
	return func(impl *implementation) {
		if d > 0 {
			impl.writeTimeout = d
		}
	}
}

// WithTracker registers every accepted connection in t until it closes, so
// that t.CloseAll reaches it.
func WithTracker(t *Tracker) Option {
	return func(impl *implementation) { impl.tracker = t }
}

// New returns the gorilla implementation for transport.Websocket's
// Implementation field. up is copied; its CheckOrigin, buffer sizes and
// compression settings apply as given. Its Subprotocols, if any, come first in
// the server's order of preference, followed by those gqlgen offers, so
// listing "graphql-transport-ws" there makes it win over legacy "graphql-ws"
// when a client offers both. The read limit is not set here: gqlgen applies
// transport.Websocket.PayloadReadLimit through SetReadLimit.
func New(up websocket.Upgrader, opts ...Option) transport.WebsocketImplementation {
	impl := implementation{upgrader: up, writeTimeout: DefaultWriteTimeout}
	impl.upgrader.Subprotocols = slices.Clone(up.Subprotocols)
	for _, opt := range opts {
		opt(&impl)
	}
	return impl
}

type implementation struct {
	upgrader     websocket.Upgrader
	writeTimeout time.Duration
	tracker      *Tracker
}

var _ transport.WebsocketImplementation = implementation{}

// Accept upgrades r with a copy of the Upgrader that also offers gqlgen's
// subprotocols. On failure gorilla has already answered (403 for a refused
// origin, 400 for a malformed handshake).
func (impl implementation) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	up := impl.upgrader
	up.Subprotocols = slices.Clone(impl.upgrader.Subprotocols)
	for _, p := range options.Subprotocols {
		if !slices.Contains(up.Subprotocols, p) {
			up.Subprotocols = append(up.Subprotocols, p)
		}
	}

	ws, err := up.Upgrade(w, r, options.ResponseHeader)
	if err != nil {
		return nil, fmt.Errorf("wsgorilla: upgrade: %w", err)
	}

	c := &conn{ws: ws, writeTimeout: impl.writeTimeout, tracker: impl.tracker}
	// gqlgen leaves a few early exits (a connection_init payload that is not
	// an object, an unsupported subprotocol) without closing the connection,
	// and net/http does not close hijacked connections. The request context
	// ends when the handler returns, so from then on the connection gets the
	// write timeout to finish its close and is dropped after that.
	stop := context.AfterFunc(r.Context(), func() { c.closeWithin(c.writeTimeout) })
	c.mu.Lock()
	c.stopBackstop = stop
	c.mu.Unlock()

	if holder := CloserFromContext(r.Context()); holder != nil {
		holder.set(c)
	}
	if t := impl.tracker; t != nil {
		if code, reason, shut := t.add(c); shut {
			c.sendClose(code, reason)
		}
	}
	return c, nil
}

// conn adapts *websocket.Conn to transport.WebsocketConn. gqlgen already
// serialises its writes under its own lock (wsConnection.write and close);
// conn keeps its own writer lock anyway because the deadline and the write
// must go together and the interface does not promise a single writer.
// Close frames go through WriteControl, which gorilla allows concurrently
// with everything else, so Closer and Tracker never wait for gqlgen's lock.
type conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	tracker      *Tracker

	writeMu sync.Mutex

	mu sync.Mutex
	// closing is set once a close frame was sent (or Close ran): reads that
	// fail from then on are the expected end, and later close frames are
	// not sent.
	closing      bool
	closed       bool
	timer        *time.Timer
	stopBackstop func() bool
}

var (
	_ transport.WebsocketConn          = (*conn)(nil)
	_ transport.WebsocketReadLimiter   = (*conn)(nil)
	_ transport.WebsocketReadDeadliner = (*conn)(nil)
)

// NextReader maps the ways a connection normally ends to
// transport.ErrWebsocketClosed, which gqlgen does not report to ErrorFunc:
// the peer's close with 1000, 1001 or 1005, any failure after this side
// started closing, and reads on a connection this side closed. An abrupt
// disconnect (1006), a refused oversized message and a read deadline set by
// PingPongInterval stay errors.
func (c *conn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.ws.NextReader()
	if err == nil {
		return typ, r, nil
	}
	if c.isClosing() ||
		websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) ||
		errors.Is(err, net.ErrClosed) {
		return typ, nil, transport.ErrWebsocketClosed
	}
	return typ, nil, err
}

// WriteJSON sends v as one text message within the write timeout. A write
// that fails (the peer did not read in time, or the connection broke) may
// leave half a frame on the wire, so the connection is closed at once; the
// peer sees an abnormal closure, and gqlgen reports this first failure to
// ErrorFunc. Once a close frame was sent or the connection closed, messages
// are discarded without an error: the close was decided on purpose (or the
// failure already reported), and RFC 6455 §5.5.1 allows no data after a
// close frame.
func (c *conn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("wsgorilla: encode message: %w", err)
	}

	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.isClosing() {
		return nil
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	err = c.ws.WriteMessage(websocket.TextMessage, data)
	switch {
	case err == nil:
		return nil
	case c.isClosing():
		// Closed while this message was on its way out.
		return nil
	case errors.Is(err, websocket.ErrCloseSent):
		// gorilla answered the peer's close, or refused an oversized
		// message with 1009: gqlgen's reader is ending the connection.
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		return nil
	default:
		_ = c.Close()
		return err
	}
}

// WriteClose sends a close frame unless one was already sent by either side.
func (c *conn) WriteClose(code int, reason string) error {
	_, err := c.sendClose(code, reason)
	return err
}

// Close drops the network connection without a close frame (gqlgen calls it
// right after WriteClose). Repeated calls return nil.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed, c.closing = true, true
	if c.timer != nil {
		c.timer.Stop()
	}
	stopBackstop := c.stopBackstop
	c.mu.Unlock()

	if stopBackstop != nil {
		stopBackstop()
	}
	if c.tracker != nil {
		c.tracker.remove(c)
	}
	return c.ws.Close()
}

func (c *conn) Subprotocol() string { return c.ws.Subprotocol() }

// SetReadLimit is how gqlgen applies PayloadReadLimit; gorilla answers an
// oversized message with close code 1009.
func (c *conn) SetReadLimit(limit int64) { c.ws.SetReadLimit(limit) }

// SetReadDeadline is how gqlgen's PingPongInterval drops a peer that stopped
// answering pings.
func (c *conn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// sendClose writes a close frame and leaves the peer the write timeout to
// answer it; gqlgen's reader sees the answer and tears the connection down,
// and a peer that does not answer is dropped. It reports whether this call
// started the close.
func (c *conn) sendClose(code int, reason string) (bool, error) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false, nil
	}
	c.closing = true
	c.mu.Unlock()

	frame := websocket.FormatCloseMessage(code, truncateReason(reason))
	err := c.ws.WriteControl(websocket.CloseMessage, frame, time.Now().Add(c.writeTimeout))
	switch {
	case err == nil:
		c.closeWithin(c.writeTimeout)
		return true, nil
	case errors.Is(err, websocket.ErrCloseSent):
		// gorilla already answered the peer's close (or refused an
		// oversized message with 1009): the peer started this close.
		c.closeWithin(c.writeTimeout)
		return false, nil
	default:
		_ = c.Close()
		return true, fmt.Errorf("wsgorilla: write close frame: %w", err)
	}
}

// closeWithin drops the connection after d unless it is closed before.
func (c *conn) closeWithin(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.timer != nil {
		return
	}
	c.timer = time.AfterFunc(d, func() { _ = c.Close() })
}

// truncateReason keeps reason within a close frame, cutting at a rune
// boundary because peers reject close reasons that are not UTF-8.
func truncateReason(reason string) string {
	if len(reason) <= maxCloseReason {
		return reason
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// mustSendableCode panics on a code a peer may not receive (RFC 6455 §7.4:
// 1004, 1005, 1006, 1015, the unassigned 1016–2999 and anything outside
// 1000–4999). Browsers fail the connection instead of reporting such a code,
// so passing one is a bug in the caller.
func mustSendableCode(code int) {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return
	default:
		panic(fmt.Sprintf("wsgorilla: close code %d cannot be sent (use 1000–1003, 1007–1014 or 3000–4999)", code))
	}
}
