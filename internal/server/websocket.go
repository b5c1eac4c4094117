package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/graph"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/internal/wsgorilla"
)

// Close codes Vigil ends subscriptions with (graphql-ws reserves 4400–4499
// for its own meanings; these follow them). Clients resume after 1012 and
// 1013 with their last cursor; 4401 and 4403 need new credentials.
const (
	closeUnauthorized  = 4401 // connection_init without valid credentials
	closeForbidden     = 4403 // the session ended or the role lost the right
	closeSlowConsumer  = websocket.CloseTryAgainLater
	closeServerRestart = websocket.CloseServiceRestart
	closeInternal      = websocket.CloseInternalServerErr
)

// websocketTransport is gqlgen's websocket transport on gorilla/websocket:
// graphql-transport-ws (preferred) and legacy graphql-ws, credentials in
// connection_init, keepalive pings, an init timeout and an origin check.
func websocketTransport(d Deps, sockets *wsgorilla.Tracker) transport.Websocket {
	up := websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Offered first, so a client that speaks both gets the current protocol.
		Subprotocols:      []string{"graphql-transport-ws", "graphql-ws"},
		CheckOrigin:       originAllowed(d.Config.CORSOrigins),
		EnableCompression: false,
	}
	log := d.Logger
	return transport.Websocket{
		Implementation:        wsgorilla.New(up, wsgorilla.WithTracker(sockets)),
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 15 * time.Second,
		PingPongInterval:      15 * time.Second,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			h := p.Authorization()
			if h == "" {
				// A browser may ride on its session cookie (the origin check
				// keeps other sites out).
				if caller.From(ctx) != nil {
					return ctx, nil, nil
				}
				return transport.WithWebsocketCloseCode(ctx, closeUnauthorized), nil,
					errors.New(`connection_init needs {"authorization": "Bearer <access token or API key>"}`)
			}
			if d.Auth == nil {
				return transport.WithWebsocketCloseCode(ctx, closeUnauthorized), nil, errors.New("this server signs nobody in")
			}
			c, err := d.Auth.AuthenticateBearer(ctx, h)
			if err != nil || c == nil {
				return transport.WithWebsocketCloseCode(ctx, closeUnauthorized), nil, errors.New("invalid or expired credentials")
			}
			return caller.With(ctx, c), nil, nil
		},
		ErrorFunc: func(ctx context.Context, err error) {
			if !errors.Is(err, transport.ErrWebsocketClosed) {
				log.DebugContext(ctx, "websocket ended", "err", err)
			}
		},
	}
}

// endSubscription closes a subscription's websocket with a code saying why
// it ended, and counts it.
func endSubscription(ctx context.Context, m *observe.Metrics, log *slog.Logger, err error) {
	reason, code := "client", 0
	switch {
	case err == nil:
	case errors.Is(err, alertstream.ErrSlowConsumer):
		reason, code = "slow_consumer", closeSlowConsumer
	case errors.Is(err, graph.ErrAccessRevoked):
		reason, code = "access_revoked", closeForbidden
	case errors.Is(err, alertstream.ErrShutdown):
		reason, code = "shutdown", closeServerRestart
	default:
		reason, code = "error", closeInternal
		log.WarnContext(ctx, "subscription failed", "err", err)
	}
	m.SubscriberEnds.WithLabelValues(reason).Inc()
	if code != 0 {
		wsgorilla.CloseFromContext(ctx, code, err.Error())
	}
}

// originAllowed lets non-browser clients (no Origin), same-host pages and the
// configured CORS origins open websockets; other sites may not ride on a
// browser's cookies.
func originAllowed(allowed []string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(strings.TrimSuffix(a, "/"), origin) })
	}
}
