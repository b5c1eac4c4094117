// Package ingest owns the first step of an event's path: it reads NDJSON or
// GraphQL events, validates and normalises each on its own
// (internal/normalize), and stores the good ones in one transaction (COPY on
// PostgreSQL) together with the score job of the batch, so the answer is only
// given once both are committed. Idempotency keys and per-event ids make a
// retried request store nothing twice. It does not score events
// (internal/detect) nor authenticate anyone.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	stdsql "database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	entevent "github.com/vigilhq/vigil/ent/event"
	"github.com/vigilhq/vigil/ent/ingestrequest"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/event"
	"github.com/vigilhq/vigil/internal/normalize"
	"github.com/vigilhq/vigil/internal/pulid"
)

// Options bound what one request may carry.
type Options struct {
	// Limits bound each event (line, field sizes, fields, depth).
	Limits normalize.Limits
	// MaxEvents per request (default 50,000).
	MaxEvents int
	// MaxErrors reported per request (default 100); the count is exact.
	MaxErrors int
}

// Enqueuer enqueues the score job of a stored batch inside tx.
type Enqueuer func(ctx context.Context, tx *ent.Tx, tenantID, batchID pulid.ID) error

// Service stores events.
type Service struct {
	db      *database.DB
	enqueue Enqueuer
	opts    Options
	now     func() time.Time
}

// New returns a Service on db; enqueue may be nil (nothing scores events).
func New(db *database.DB, enqueue Enqueuer, opts Options) *Service {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 50_000
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 100
	}
	return &Service{db: db, enqueue: enqueue, opts: opts, now: time.Now}
}

// LineError names one refused event.
type LineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Result is the answer to one ingest request (API.md's /v1/events answer).
type Result struct {
	Accepted   int         `json:"accepted"`
	Rejected   int         `json:"rejected"`
	Duplicates int         `json:"duplicates"`
	Errors     []LineError `json:"errors"`
	BatchID    pulid.ID    `json:"batchId,omitempty"`
	// Replayed is true when the answer is the stored one of an earlier
	// request with the same Idempotency-Key.
	Replayed bool `json:"replayed,omitempty"`
}

// Errors callers branch on.
var (
	ErrIdempotencyConflict = errors.New("Idempotency-Key was already used for a different request body")
	ErrTooManyEvents       = errors.New("too many events in one request")
)

// Request is one ingest request.
type Request struct {
	// Body is the NDJSON body: one JSON object per line.
	Body []byte
	// Objects are events given one by one (GraphQL); used when Body is nil.
	Objects []map[string]any
	// IdempotencyKey, when set, makes a retry answer like the first request.
	IdempotencyKey string
}

// Ingest validates, normalises and stores req's events for the caller's
// tenant. Bad events are reported with their line and reason; good ones are
// kept. The result is returned only after the transaction commits.
func (s *Service) Ingest(ctx context.Context, req Request) (*Result, error) {
	c := caller.From(ctx)
	if c == nil || c.TenantID == "" {
		return nil, caller.ErrNoTenant
	}
	tenantID := c.TenantID
	res := &Result{Errors: []LineError{}}
	received := s.now().UTC()
	var events []event.Event
	var raws [][]byte // each event's line as received: stored as its original
	reject := func(line int, err error) {
		res.Rejected++
		if len(res.Errors) < s.opts.MaxErrors {
			res.Errors = append(res.Errors, LineError{Line: line, Message: err.Error()})
		}
	}
	add := func(line int, raw map[string]any, b []byte) {
		ev, err := normalize.Normalize(raw, received, s.opts.Limits)
		if err != nil {
			reject(line, err)
			return
		}
		events = append(events, ev)
		raws = append(raws, b)
	}
	var bodyHash string
	if req.Body != nil {
		sum := sha256.Sum256(req.Body)
		bodyHash = hex.EncodeToString(sum[:])
		err := s.eachLine(req.Body, func(line int, b []byte, err error) {
			if err != nil {
				reject(line, err)
				return
			}
			raw, err := normalize.DecodeLine(b, s.opts.Limits)
			if err != nil {
				reject(line, err)
				return
			}
			add(line, raw, b)
		})
		if err != nil {
			return nil, err
		}
	} else {
		if len(req.Objects) > s.opts.MaxEvents {
			return nil, fmt.Errorf("%w: %d, limit %d", ErrTooManyEvents, len(req.Objects), s.opts.MaxEvents)
		}
		h := sha256.New()
		for i, obj := range req.Objects {
			b, err := json.Marshal(obj)
			if err != nil {
				reject(i+1, fmt.Errorf("event is not JSON: %w", err))
				continue
			}
			h.Write(b)
			h.Write([]byte{'\n'})
			raw, err := normalize.DecodeLine(b, s.opts.Limits)
			if err != nil {
				reject(i+1, err)
				continue
			}
			add(i+1, raw, b)
		}
		bodyHash = hex.EncodeToString(h.Sum(nil))
	}

	var enc []encoded
	if s.db.Dialect == dialect.Postgres {
		var err error
		if enc, err = encodeAll(events, raws); err != nil {
			return nil, err
		}
	}
	err := s.db.WithConnTx(ctx, func(tx *ent.Tx, conn *stdsql.Conn) error {
		if req.IdempotencyKey != "" {
			prior, err := s.claimKey(ctx, tx, req.IdempotencyKey, bodyHash)
			if err != nil || prior != nil {
				if prior != nil {
					*res = *prior
					res.Replayed = true
				}
				return err
			}
		}
		stored, dups, err := s.store(ctx, tx, conn, tenantID, events, enc, received)
		if err != nil {
			return err
		}
		res.Accepted = stored.count
		res.Duplicates = dups
		if stored.count > 0 {
			res.BatchID = stored.batch
			if s.enqueue != nil {
				if err := s.enqueue(ctx, tx, tenantID, stored.batch); err != nil {
					return err
				}
			}
		}
		if req.IdempotencyKey != "" {
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			if err := tx.IngestRequest.Update().
				Where(ingestrequest.TenantID(tenantID), ingestrequest.Key(req.IdempotencyKey)).
				SetResponse(b).Exec(ctx); err != nil {
				return fmt.Errorf("remember the answer to Idempotency-Key: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// eachLine calls fn for every non-blank line of body with its 1-based
// number; a line longer than the limit is reported, and skipped, on its own.
func (s *Service) eachLine(body []byte, fn func(line int, b []byte, err error)) error {
	maxLine := s.opts.Limits.MaxLineBytes
	if maxLine <= 0 {
		maxLine = normalize.DefaultMaxLineBytes
	}
	r := bufio.NewReaderSize(bytes.NewReader(body), 64<<10)
	line, events := 0, 0
	for {
		b, err := readLine(r, maxLine)
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return nil
		}
		line++
		if errors.Is(err, errLineTooLong) {
			events++
			fn(line, nil, fmt.Errorf("line is longer than %d bytes", maxLine))
		} else if len(bytes.TrimSpace(b)) > 0 {
			events++
			if events > s.opts.MaxEvents {
				return fmt.Errorf("%w: more than %d lines", ErrTooManyEvents, s.opts.MaxEvents)
			}
			fn(line, b, nil)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its end; past max bytes it discards the
// rest of the line and returns errLineTooLong.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // +2: the line end itself
				tooLong = true
				buf = nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			if err == nil {
				err = errLineTooLong
			} else {
				err = errors.Join(errLineTooLong, err)
			}
			return nil, err
		}
		buf = bytes.TrimRight(buf, "\r\n")
		return buf, err
	}
}

// claimKey records key for this request, or returns the stored answer of an
// earlier request with the same key. On PostgreSQL a concurrent request with
// the key waits here until the first commits, then gets its answer.
func (s *Service) claimKey(ctx context.Context, tx *ent.Tx, key, bodyHash string) (*Result, error) {
	if len(key) > 255 {
		return nil, errors.New("Idempotency-Key is longer than 255 characters")
	}
	err := tx.IngestRequest.Create().
		SetKey(key).SetBodyHash(bodyHash).
		OnConflictColumns(ingestrequest.FieldTenantID, ingestrequest.FieldKey).
		DoNothing().
		Exec(ctx)
	if err != nil && !errors.Is(err, stdsql.ErrNoRows) {
		return nil, fmt.Errorf("record Idempotency-Key: %w", err)
	}
	prior, err := tx.IngestRequest.Query().Where(ingestrequest.Key(key)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Idempotency-Key: %w", err)
	}
	if prior.BodyHash != bodyHash {
		return nil, ErrIdempotencyConflict
	}
	if len(prior.Response) == 0 {
		return nil, nil // ours, just claimed
	}
	var res Result
	if err := json.Unmarshal(prior.Response, &res); err != nil {
		return nil, fmt.Errorf("stored answer of Idempotency-Key: %w", err)
	}
	return &res, nil
}

type stored struct {
	batch pulid.ID
	count int
}

// columns COPY writes, in order.
var columns = []string{
	entevent.FieldID, entevent.FieldTenantID, entevent.FieldExternalID, entevent.FieldBatchID,
	entevent.FieldTimestamp, entevent.FieldReceivedAt, entevent.FieldCategory, entevent.FieldAction,
	entevent.FieldOutcome, entevent.FieldSourceIP, entevent.FieldUserName, entevent.FieldHostName,
	entevent.FieldFields, entevent.FieldOriginal,
}

// store writes the events the tenant does not hold yet (by producer id) and
// returns how many it wrote and how many were duplicates.
func (s *Service) store(ctx context.Context, tx *ent.Tx, conn *stdsql.Conn, tenantID pulid.ID, events []event.Event, enc []encoded, received time.Time) (stored, int, error) {
	out := stored{batch: pulid.New("bat")}
	keep, dups, err := s.dropKnown(ctx, tx, events)
	if err != nil || len(keep) == 0 {
		return out, dups, err
	}
	fresh := make([]event.Event, len(keep))
	for i, k := range keep {
		fresh[i] = events[k]
	}
	if s.db.Dialect == dialect.Postgres {
		rows := make([][]any, 0, len(fresh))
		for i, ev := range fresh {
			f, o := enc[keep[i]].fields, enc[keep[i]].original
			rows = append(rows, []any{
				string(pulid.New("evt")), string(tenantID), nullable(ev.ID), string(out.batch),
				ev.Timestamp, received, nullable(category(ev)), nullable(ev.String("event.action")),
				nullable(ev.String("event.outcome")), nullable(sourceIP(ev)), nullable(ev.String("user.name")), nullable(ev.String("host.name")),
				f, o,
			})
		}
		n, err := database.CopyFrom(ctx, conn, entevent.Table, columns, rows)
		if err != nil {
			return out, 0, fmt.Errorf("copy events: %w", err)
		}
		out.count = int(n)
		return out, dups, nil
	}
	const chunk = 500 // SQLite bounds the variables of one statement
	for i := 0; i < len(fresh); i += chunk {
		part := fresh[i:min(i+chunk, len(fresh))]
		builders := make([]*ent.EventCreate, 0, len(part))
		for _, ev := range part {
			b := tx.Event.Create().
				SetBatchID(string(out.batch)).SetTimestamp(ev.Timestamp).SetReceivedAt(received).
				SetFields(ev.Fields).SetOriginal(ev.Original)
			if ev.ID != "" {
				b.SetExternalID(ev.ID)
			}
			setOptional(b.SetCategory, category(ev))
			setOptional(b.SetAction, ev.String("event.action"))
			setOptional(b.SetOutcome, ev.String("event.outcome"))
			setOptional(b.SetSourceIP, sourceIP(ev))
			setOptional(b.SetUserName, ev.String("user.name"))
			setOptional(b.SetHostName, ev.String("host.name"))
			builders = append(builders, b)
		}
		if err := tx.Event.CreateBulk(builders...).Exec(ctx); err != nil {
			return out, 0, fmt.Errorf("store events: %w", err)
		}
		out.count += len(part)
	}
	return out, dups, nil
}

// dropKnown returns the indexes of the events to store: not those whose
// producer id the tenant already holds, or that repeat an id earlier in the
// same request.
func (s *Service) dropKnown(ctx context.Context, tx *ent.Tx, events []event.Event) ([]int, int, error) {
	var ids []string
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.ID != "" && !seen[ev.ID] {
			seen[ev.ID] = true
			ids = append(ids, ev.ID)
		}
	}
	if len(ids) == 0 {
		all := make([]int, len(events))
		for i := range all {
			all[i] = i
		}
		return all, 0, nil
	}
	known := map[string]bool{}
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		var got []string
		err := tx.Event.Query().
			Where(entevent.ExternalIDIn(ids[i:min(i+chunk, len(ids))]...)).
			Select(entevent.FieldExternalID).
			Scan(ctx, &got)
		if err != nil {
			return nil, 0, fmt.Errorf("look up event ids: %w", err)
		}
		for _, id := range got {
			known[id] = true
		}
	}
	var keep []int
	dups := 0
	for i, ev := range events {
		if ev.ID != "" {
			if known[ev.ID] {
				dups++
				continue
			}
			known[ev.ID] = true
		}
		keep = append(keep, i)
	}
	return keep, dups, nil
}

// encoded is an event's JSON columns, ready for COPY.
type encoded struct{ fields, original json.RawMessage }

// encodeAll encodes the events' ECS documents on every core before the
// transaction starts; the original is the line as received (validated as a
// JSON object by DecodeLine), not a re-encoding of it.
func encodeAll(events []event.Event, raws [][]byte) ([]encoded, error) {
	out := make([]encoded, len(events))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(events)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(events); i += workers {
				f, err := json.Marshal(events[i].Fields)
				if err != nil {
					errs[w] = fmt.Errorf("encode event: %w", err)
					return
				}
				o := bytes.TrimSpace(bytes.TrimPrefix(raws[i], []byte("\xef\xbb\xbf")))
				if len(o) == 0 {
					if o, err = json.Marshal(events[i].Original); err != nil {
						errs[w] = fmt.Errorf("encode event: %w", err)
						return
					}
				}
				out[i] = encoded{fields: f, original: o}
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func category(ev event.Event) string {
	v, _ := ev.Get("event.category")
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(v, ",")
	}
	return ""
}

func sourceIP(ev event.Event) string {
	v, _ := ev.Get("source.ip")
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func setOptional[T any](set func(string) T, v string) {
	if v != "" {
		set(v)
	}
}
