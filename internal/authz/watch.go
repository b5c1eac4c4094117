package authz

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Backoff between attempts to listen again after the connection dropped.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
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
	if a.db.Pool != nil {
		wg.Go(func() { a.listen(ctx, kick) })
	}
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

// listen holds a LISTEN connection until ctx ends, re-listening with
// backoff when it drops.
func (a *Authz) listen(ctx context.Context, kick chan<- struct{}) {
	backoff := minBackoff
	for {
		listened, err := a.listenOnce(ctx, kick)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = minBackoff
		}
		a.log.WarnContext(ctx, "authz: policy notifications interrupted", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce takes a connection out of the pool, listens on Channel and
// kicks a reload for each notification, until the connection fails or ctx
// ends. listened says whether LISTEN succeeded.
func (a *Authz) listenOnce(ctx context.Context, kick chan<- struct{}) (listened bool, err error) {
	pc, err := a.db.Pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire connection: %w", err)
	}
	// A listening session must not go back to the pool: it is ours until closed.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	// Whatever was notified before this LISTEN is lost: reload once.
	signal(kick)
	for {
		if err := conn.PgConn().WaitForNotification(ctx); err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		signal(kick)
	}
}

func signal(kick chan<- struct{}) {
	select {
	case kick <- struct{}{}:
	default:
	}
}
