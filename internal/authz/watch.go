package authz

import (
	"context"
	"sync"
	"time"
)

// Watch keeps the loaded policies current until ctx ends: on PostgreSQL it
// listens for the notifications of Grant and Revoke on other replicas, and
// on both databases it polls the table's fingerprint every PollInterval.
// Run one Watch per Authz, in a goroutine that its caller owns; it returns
// when ctx is done. Troubles are logged and retried, never fatal: the
// enforcer keeps the last policies it loaded.
func (a *Authz) Watch(ctx context.Context) {
	// kick holds at most one pending reload, so a burst of notifications
	// costs one or two reloads, not one each.
	kick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		a.db.Listen(ctx, a.log.With("component", "authz"), []string{Channel},
			func(string, string) { signal(kick) },
			func() { signal(kick) }) // whatever was notified before LISTEN is lost: reload once
	})
	defer wg.Wait()

	tick := time.NewTicker(a.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			a.reload(ctx, "notification")
		case <-tick.C:
			stale, err := a.stale(ctx)
			if err != nil {
				a.warn(ctx, "authz: poll policy fingerprint", err)
				continue
			}
			if stale {
				a.reload(ctx, "poll")
			}
		}
	}
}

func (a *Authz) reload(ctx context.Context, why string) {
	if err := a.Reload(ctx); err != nil {
		a.warn(ctx, "authz: reload policies after "+why, err)
	}
}

func (a *Authz) warn(ctx context.Context, msg string, err error) {
	if ctx.Err() == nil {
		a.log.WarnContext(ctx, msg, "err", err)
	}
}

func signal(kick chan<- struct{}) {
	select {
	case kick <- struct{}{}:
	default:
	}
}
