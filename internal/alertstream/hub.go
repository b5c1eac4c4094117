package alertstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/alert"
	"github.com/vigilhq/vigil/ent/alertstreamentry"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/pulid"
)

// Event is one stream entry with the alert as it is when delivered.
type Event struct {
	Seq   int64
	Kind  string
	Alert *ent.Alert
}

// Guard authorises one event for one subscriber at delivery. It returns
// deliver=false to skip the event (a filter), or an error to end the
// subscription (the subscriber lost the right). It is also called with a nil
// event when access changed somewhere, so revoked subscribers end at once.
type Guard func(ctx context.Context, ev *Event) (deliver bool, err error)

// Reasons a subscription ends, besides its context ending.
var (
	// ErrSlowConsumer ends a subscriber that fell Buffer events behind; it
	// reconnects with its last cursor and misses nothing.
	ErrSlowConsumer = errors.New("slow consumer: too far behind the alert stream; reconnect with your last cursor")
	// ErrShutdown ends every subscriber when the hub stops.
	ErrShutdown = errors.New("server restarting; reconnect with your last cursor")
)

// HubOptions tune a Hub.
type HubOptions struct {
	Logger *slog.Logger
	// Buffer is how many live events a subscriber may fall behind before it
	// is cut off (default 256).
	Buffer int
	// ReplayBatch is how many entries one replay query reads (default 200).
	ReplayBatch int
}

// Hub delivers every tenant's alert stream to its subscribers. One Hub runs
// per process; Run must be running for live delivery.
type Hub struct {
	db   *database.DB
	log  *slog.Logger
	opts HubOptions

	mu      sync.Mutex
	ctx     context.Context // Run's; rooms live as long as it
	rooms   map[pulid.ID]*room
	stopped bool
}

// NewHub returns a Hub on db.
func NewHub(db *database.DB, opts HubOptions) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if opts.ReplayBatch <= 0 {
		opts.ReplayBatch = 200
	}
	return &Hub{db: db, log: opts.Logger, opts: opts, rooms: map[pulid.ID]*room{}}
}

// Run delivers until ctx ends, then ends every subscription with
// ErrShutdown. On PostgreSQL it listens for other replicas' commits.
func (h *Hub) Run(ctx context.Context) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() {
		h.db.Listen(ctx, h.log.With("component", "alertstream"), []string{ChannelAlerts, ChannelAccess},
			func(channel, payload string) {
				if channel == ChannelAlerts {
					h.Wake(pulid.ID(payload))
				} else {
					h.AccessChanged(pulid.ID(payload))
				}
			},
			func() { h.wakeAll(); h.AccessChanged("") }) // catch up on what was missed unheard
	})
	<-ctx.Done()
	wg.Wait()
	h.mu.Lock()
	h.stopped = true
	rooms := h.rooms
	h.rooms = map[pulid.ID]*room{}
	h.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		for s := range r.subs {
			s.end(ErrShutdown)
		}
		r.mu.Unlock()
	}
}

// Wake tells the hub that tenant's stream grew (after a commit).
func (h *Hub) Wake(tenantID pulid.ID) {
	h.mu.Lock()
	r := h.rooms[tenantID]
	h.mu.Unlock()
	if r != nil {
		signal(r.kick)
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.rooms {
		signal(r.kick)
	}
}

// AccessChanged makes the subscribers of tenantID (every subscriber when it
// is empty) re-check their rights now: a session ended, a role or key changed.
func (h *Hub) AccessChanged(tenantID pulid.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t, r := range h.rooms {
		if tenantID != "" && t != tenantID {
			continue
		}
		r.mu.Lock()
		for s := range r.subs {
			signal(s.recheck)
		}
		r.mu.Unlock()
	}
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.rooms {
		r.mu.Lock()
		n += len(r.subs)
		r.mu.Unlock()
	}
	return n
}

// room is one tenant's live fan-out.
type room struct {
	tenant pulid.ID
	kick   chan struct{}
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	head   int64 // the last seq fanned out
}

type subscriber struct {
	live    chan Event
	recheck chan struct{}
	done    chan struct{}
	once    sync.Once
	reason  error
}

func (s *subscriber) end(reason error) {
	s.once.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// Subscription is one subscriber's view of its tenant's stream.
type Subscription struct {
	// Events delivers the stream in seq order, each event once. It is closed
	// when the subscription ends; Err then says why.
	Events <-chan Event
	sub    *subscriber
	err    error
}

// Err is why the subscription ended: nil when its context ended,
// ErrSlowConsumer, ErrShutdown, or the Guard's error.
func (s *Subscription) Err() error { return s.err }

// Subscribe starts delivering tenant's stream after seq after (from now on
// when from is false). Events the subscriber missed are replayed from the
// database first, then live ones follow; every event passes guard. The
// subscription ends with ctx.
func (h *Hub) Subscribe(ctx context.Context, tenantID pulid.ID, after int64, from bool, guard Guard) (*Subscription, error) {
	r, head, err := h.join(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	s := &subscriber{
		live:    make(chan Event, h.opts.Buffer),
		recheck: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	r.mu.Lock()
	if !from {
		after = max(r.head, head)
	}
	r.subs[s] = struct{}{}
	r.mu.Unlock()

	out := make(chan Event)
	sub := &Subscription{Events: out, sub: s}
	go func() {
		defer close(out)
		defer h.leave(r, s)
		sub.err = h.deliver(ctx, tenantID, s, after, guard, out)
	}()
	return sub, nil
}

// join returns tenant's room, opening it (and its fan-out goroutine) when it
// is the first subscriber, with the stream's current head.
func (h *Hub) join(ctx context.Context, tenantID pulid.ID) (*room, int64, error) {
	head, err := h.head(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || h.ctx == nil {
		return nil, 0, ErrShutdown
	}
	r := h.rooms[tenantID]
	if r == nil {
		r = &room{tenant: tenantID, kick: make(chan struct{}, 1), subs: map[*subscriber]struct{}{}, head: head}
		h.rooms[tenantID] = r
		go h.fanOut(h.ctx, r)
		signal(r.kick) // a wake may have come before the room existed
	}
	return r, head, nil
}

func (h *Hub) leave(r *room, s *subscriber) {
	r.mu.Lock()
	delete(r.subs, s)
	r.mu.Unlock()
	s.end(nil)
}

// fanOut reads new entries of r's tenant once per wake and offers each to
// every subscriber without ever waiting for one.
func (h *Hub) fanOut(ctx context.Context, r *room) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		for {
			r.mu.Lock()
			from := r.head
			r.mu.Unlock()
			evs, err := h.read(ctx, r.tenant, from, h.opts.ReplayBatch)
			if err != nil {
				if ctx.Err() == nil {
					h.log.WarnContext(ctx, "alertstream: read new entries", "tenant_id", r.tenant, "err", err)
				}
				break
			}
			r.mu.Lock()
			for _, ev := range evs {
				for s := range r.subs {
					select {
					case s.live <- ev:
					default:
						delete(r.subs, s)
						s.end(ErrSlowConsumer)
					}
				}
				r.head = ev.Seq
			}
			empty := len(r.subs) == 0
			r.mu.Unlock()
			if len(evs) < h.opts.ReplayBatch {
				if empty {
					h.closeIfEmpty(r)
				}
				break
			}
		}
	}
}

// closeIfEmpty forgets a room nobody listens to; a later subscriber opens a
// new one from the stream's head.
func (h *Hub) closeIfEmpty(r *room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) == 0 && h.rooms[r.tenant] == r {
		delete(h.rooms, r.tenant)
	}
}

// deliver is one subscriber's loop: replay, then live events, filling any gap
// from the database, re-checking access when told to.
func (h *Hub) deliver(ctx context.Context, tenantID pulid.ID, s *subscriber, cursor int64, guard Guard, out chan<- Event) error {
	send := func(ev Event) error {
		if ev.Alert == nil {
			cursor = ev.Seq
			return nil
		}
		ok, err := guard(ctx, &ev)
		if err != nil {
			return err
		}
		if ok {
			select {
			case out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.done:
				return s.reason
			}
		}
		cursor = ev.Seq
		return nil
	}
	replay := func(upTo int64) error {
		for {
			evs, err := h.read(ctx, tenantID, cursor, h.opts.ReplayBatch)
			if err != nil {
				return fmt.Errorf("replay alert stream: %w", err)
			}
			for _, ev := range evs {
				if upTo > 0 && ev.Seq > upTo {
					return nil
				}
				if err := send(ev); err != nil {
					return err
				}
			}
			if len(evs) < h.opts.ReplayBatch {
				return nil
			}
		}
	}
	if err := replay(0); err != nil {
		return endReason(ctx, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return s.reason
		case <-s.recheck:
			if _, err := guard(ctx, nil); err != nil {
				return err
			}
		case ev := <-s.live:
			if ev.Seq <= cursor {
				continue // already replayed
			}
			if ev.Seq > cursor+1 {
				if err := replay(ev.Seq - 1); err != nil {
					return endReason(ctx, err)
				}
			}
			if err := send(ev); err != nil {
				return endReason(ctx, err)
			}
		}
	}
}

func endReason(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// head returns the last seq of tenant's stream (0 when empty).
func (h *Hub) head(ctx context.Context, tenantID pulid.ID) (int64, error) {
	ctx = caller.With(ctx, caller.ForTenant("alertstream", tenantID))
	e, err := h.db.Ent.AlertStreamEntry.Query().
		Where(alertstreamentry.TenantID(tenantID)).
		Order(ent.Desc(alertstreamentry.FieldSeq)).
		First(ctx)
	if ent.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read alert stream head: %w", err)
	}
	return e.Seq, nil
}

// read returns up to limit entries of tenant's stream after seq, with their alerts.
func (h *Hub) read(ctx context.Context, tenantID pulid.ID, after int64, limit int) ([]Event, error) {
	ctx = caller.With(ctx, caller.ForTenant("alertstream", tenantID))
	entries, err := h.db.Ent.AlertStreamEntry.Query().
		Where(alertstreamentry.TenantID(tenantID), alertstreamentry.SeqGT(after)).
		Order(ent.Asc(alertstreamentry.FieldSeq)).
		Limit(limit).
		All(ctx)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	ids := make([]pulid.ID, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.AlertID)
	}
	alerts, err := h.db.Ent.Alert.Query().Where(alert.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[pulid.ID]*ent.Alert, len(alerts))
	for _, a := range alerts {
		byID[a.ID] = a
	}
	evs := make([]Event, 0, len(entries))
	for _, e := range entries {
		a := byID[e.AlertID]
		if a == nil {
			// The alert was deleted (retention): its entry is skipped, but the
			// seq still advances so nobody waits for it.
			evs = append(evs, Event{Seq: e.Seq, Kind: string(e.Kind)})
			continue
		}
		evs = append(evs, Event{Seq: e.Seq, Kind: string(e.Kind), Alert: a})
	}
	return evs, nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Running reports whether Run is delivering.
func (h *Hub) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ctx != nil && !h.stopped
}
