package wsgorilla_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/internal/wsgorilla"
)

func ExampleNew() {
	const origin = "https://app.vigil.example"
	srv := testserver.New() // stands for Vigil's executable schema
	tracker := &wsgorilla.Tracker{}
	srv.AddTransport(transport.Websocket{
		Implementation: wsgorilla.New(
			websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == origin }},
			wsgorilla.WithWriteTimeout(5*time.Second),
			wsgorilla.WithTracker(tracker),
		),
		PingPongInterval:      30 * time.Second,
		KeepAlivePingInterval: 30 * time.Second,
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, wsgorilla.WithCloser(r))
	}))
	defer ts.Close()

	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http"), http.Header{"Origin": {origin}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	_ = conn.WriteJSON(map[string]any{"type": "connection_init"})
	var ack struct{ Type string }
	_ = conn.ReadJSON(&ack)
	fmt.Println(conn.Subprotocol(), ack.Type)

	// At shutdown, before http.Server.Shutdown, which leaves hijacked
	// connections alone: clients reconnect to another instance.
	tracker.CloseAll(websocket.CloseServiceRestart, "service restart")
	_, _, err = conn.ReadMessage()
	fmt.Println(err)
	// Output:
	// graphql-transport-ws connection_ack
	// websocket: close 1012: service restart
}

// A subscription resolver that disconnects a client which does not keep up,
// rather than buffering without bound; the client sees the code and reason.
func ExampleCloseFromContext() {
	alerts := func(ctx context.Context, source <-chan string) (<-chan string, error) {
		out := make(chan string, 64)
		go func() {
			defer close(out)
			for {
				select {
				case <-ctx.Done():
					return
				case alert := <-source:
					select {
					case out <- alert:
					default:
						wsgorilla.CloseFromContext(ctx, 4008, "slow consumer")
						return
					}
				}
			}
		}()
		return out, nil
	}
	_ = alerts
}
