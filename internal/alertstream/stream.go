// Package alertstream owns the per-tenant ordered stream of alert changes and
// its live delivery: Append writes an entry in the transaction that changed
// the alert; after commit the replicas are woken (PostgreSQL NOTIFY, or
// in-process on SQLite); a Hub fans new entries out to subscribers, who
// replay what they missed from the database first. It does not decide who
// may subscribe (the GraphQL layer passes a Guard) nor how alerts are raised
// (internal/alerting).
package alertstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alertstreamentry"
	"github.com/vigilhq/vigil/ent/alertstreamhead"
	"github.com/vigilhq/vigil/internal/pulid"
)

// Kinds of stream entries (AlertEventKind in the API).
const (
	KindCreated = "CREATED"
	KindUpdated = "UPDATED"
)

// Notification channels on PostgreSQL. Payloads are a tenant id (alerts) or
// a tenant id or "" (access changes).
const (
	ChannelAlerts = "vigil_alerts"
	ChannelAccess = "vigil_access"
)

// Waker is told, after a commit, that a tenant's stream grew. The Hub is one.
type Waker interface{ Wake(tenantID pulid.ID) }

// Stream appends to the alert stream.
type Stream struct {
	dialect string
	local   Waker
}

// New returns a Stream for a database of the given dialect; local is woken
// in-process after each commit (nil: nobody in this process listens).
func New(dialectName string, local Waker) *Stream { return &Stream{dialect: dialectName, local: local} }

// Append adds one change of alert to its tenant's stream inside tx and returns
// the entry's seq. The tenant's head row stays locked until tx ends, so the
// tenant's entries commit in seq order with no gaps: a subscriber that has
// seen seq n has seen every entry before it.
func (s *Stream) Append(ctx context.Context, tx *ent.Tx, tenantID, alertID pulid.ID, kind string) (int64, error) {
	err := tx.AlertStreamHead.Create().
		SetTenantID(tenantID).SetSeq(1).
		OnConflictColumns(alertstreamhead.FieldTenantID).
		Update(func(u *ent.AlertStreamHeadUpsert) { u.AddSeq(1) }).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("advance alert stream of %s: %w", tenantID, err)
	}
	head, err := tx.AlertStreamHead.Query().Where(alertstreamhead.TenantID(tenantID)).Only(ctx)
	if err != nil {
		return 0, fmt.Errorf("read alert stream head of %s: %w", tenantID, err)
	}
	err = tx.AlertStreamEntry.Create().
		SetTenantID(tenantID).SetSeq(head.Seq).SetAlertID(alertID).
		SetKind(alertstreamentry.Kind(kind)).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("append to alert stream of %s: %w", tenantID, err)
	}
	if s.dialect == dialect.Postgres {
		// NOTIFY inside the transaction is delivered at commit, and not at all
		// on rollback: exactly "wake the replicas after commit".
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", ChannelAlerts, string(tenantID)); err != nil {
			return 0, fmt.Errorf("notify alert stream of %s: %w", tenantID, err)
		}
	}
	if s.local != nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				err := next.Commit(ctx, tx)
				if err == nil {
					s.local.Wake(tenantID)
				}
				return err
			})
		})
	}
	return head.Seq, nil
}

// Cursors are opaque to clients: "as1:<seq>". Seqs are per tenant and the
// subscription is confined to the caller's tenant.
const cursorPrefix = "as1:"

// Cursor encodes seq for clients.
func Cursor(seq int64) string { return cursorPrefix + strconv.FormatInt(seq, 10) }

// ErrBadCursor is returned for a cursor this server did not issue.
var ErrBadCursor = errors.New("not a cursor of alertEvents: pass the cursor of the last event received")

// ParseCursor decodes a client's cursor; "" means from now on.
func ParseCursor(s string) (seq int64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	rest, found := strings.CutPrefix(s, cursorPrefix)
	if !found {
		return 0, false, ErrBadCursor
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, false, ErrBadCursor
	}
	return n, true, nil
}
