package wsgorilla

import (
	"context"
	"net/http"
	"sync"
)

type closerKey struct{}

// Closer closes the websocket connection of one request from application
// code: a subscription that finds its consumer too slow, a session revoked at
// logout. WithCloser puts an empty Closer in the request context; Accept
// fills it once the request has become a websocket connection.
//
// gqlgen derives the contexts of InitFunc, operations and resolvers from the
// request context, so CloserFromContext finds the Closer in all of them as
// long as InitFunc returns a context derived from the one it was given.
type Closer struct {
	mu   sync.Mutex
	conn *conn
}

// WithCloser returns r with an empty Closer in its context; it must wrap the
// request before the gqlgen handler sees it. A request that already carries
// a Closer is returned unchanged.
func WithCloser(r *http.Request) *http.Request {
	if CloserFromContext(r.Context()) != nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), closerKey{}, &Closer{}))
}

// CloserFromContext returns the Closer that WithCloser put in the request
// context, or nil.
func CloserFromContext(ctx context.Context) *Closer {
	c, _ := ctx.Value(closerKey{}).(*Closer)
	return c
}

// CloseFromContext closes the connection behind ctx (see Closer.Close). It
// reports false when ctx has no Closer or no open connection.
func CloseFromContext(ctx context.Context, code int, reason string) bool {
	return CloserFromContext(ctx).Close(code, reason)
}

// Close sends a close frame with code and reason (cut to the 123 bytes a
// frame holds) and gives the peer the write timeout to answer before the
// connection is dropped; gqlgen then cancels the connection's operations.
// It blocks until the frame is written, at most the write timeout. It
// reports whether this call started the close: false on a nil Closer, before
// the upgrade, or once the connection is closing. It panics on a code that
// may not be sent (1004–1006, 1015, 1016–2999, outside 1000–4999).
func (c *Closer) Close(code int, reason string) bool {
	mustSendableCode(code)
	if c == nil {
		return false
	}
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn == nil {
		return false
	}
	started, _ := cn.sendClose(code, reason)
	return started
}

func (c *Closer) set(cn *conn) {
	c.mu.Lock()
	c.conn = cn
	c.mu.Unlock()
}
