package database

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Backoff between attempts to listen again after a LISTEN connection dropped.
const (
	listenMinBackoff = 250 * time.Millisecond
	listenMaxBackoff = 30 * time.Second
)

// Listen holds a PostgreSQL LISTEN connection on channels until ctx ends,
// calling notify for each notification and listening again with backoff when
// the connection drops. onListen runs after every successful LISTEN: what was
// notified while no connection listened is lost, so callers catch up there.
// It returns at once on SQLite, which has no notifications: in-process
// callers are told directly.
func (db *DB) Listen(ctx context.Context, log *slog.Logger, channels []string, notify func(channel, payload string), onListen func()) {
	if db.Pool == nil {
		return
	}
	backoff := listenMinBackoff
	for {
		listened, err := db.listenOnce(ctx, channels, notify, onListen)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = listenMinBackoff
		}
		log.WarnContext(ctx, "notifications interrupted", "channels", channels, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

func (db *DB) listenOnce(ctx context.Context, channels []string, notify func(channel, payload string), onListen func()) (listened bool, err error) {
	pc, err := db.Pool.Acquire(ctx)
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
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(ch)); err != nil {
			return false, fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	if onListen != nil {
		onListen()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		notify(n.Channel, n.Payload)
	}
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
