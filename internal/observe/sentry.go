package observe

import (
	"context"
	"fmt"
	"time"

	"github.com/getsentry/sentry-go"
)

// Reporter sends errors and panics to Sentry. A nil *Reporter (no DSN) does
// nothing, so callers never check whether Sentry is configured.
type Reporter struct {
	hub *sentry.Hub
}

// NewReporter creates a Sentry client for dsn, or returns nil when dsn is empty.
// Events carry no personal data: no request bodies, cookies, authorization
// headers or client IPs.
func NewReporter(dsn, release, environment string) (*Reporter, error) {
	if dsn == "" {
		return nil, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         dsn,
		Release:     release,
		Environment: environment,
		BeforeSend: func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			if ev.Request != nil {
				ev.Request.Data = ""
				ev.Request.Cookies = ""
				delete(ev.Request.Headers, "Authorization")
				delete(ev.Request.Headers, "Cookie")
			}
			ev.User = sentry.User{}
			return ev
		},
	})
	if err != nil {
		return nil, fmt.Errorf("VIGIL_SENTRY_DSN: %w", err)
	}
	return &Reporter{hub: sentry.NewHub(client, sentry.NewScope())}, nil
}

// Hub returns a fresh hub for one request or job, or nil.
func (r *Reporter) Hub() *sentry.Hub {
	if r == nil {
		return nil
	}
	return r.hub.Clone()
}

// Panic reports a recovered panic value with tags.
func (r *Reporter) Panic(ctx context.Context, v any, tags map[string]string) {
	r.capture(ctx, tags, func(h *sentry.Hub) { h.RecoverWithContext(ctx, v) })
}

// Error reports err with tags.
func (r *Reporter) Error(ctx context.Context, err error, tags map[string]string) {
	r.capture(ctx, tags, func(h *sentry.Hub) { h.CaptureException(err) })
}

func (r *Reporter) capture(ctx context.Context, tags map[string]string, send func(*sentry.Hub)) {
	if r == nil {
		return
	}
	h := sentry.GetHubFromContext(ctx)
	if h == nil {
		h = r.hub.Clone()
	}
	h.WithScope(func(s *sentry.Scope) {
		if id := RequestID(ctx); id != "" {
			s.SetTag("request_id", id)
		}
		for k, v := range tags {
			s.SetTag(k, v)
		}
		send(h)
	})
}

// Flush waits up to timeout for queued events to be sent.
func (r *Reporter) Flush(timeout time.Duration) {
	if r != nil {
		r.hub.Flush(timeout)
	}
}
