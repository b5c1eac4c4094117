package server

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/observe"
)

// ingestMediaTypes are what POST /v1/events reads: NDJSON, one event per line.
var ingestMediaTypes = map[string]bool{"application/x-ndjson": true, "application/ndjson": true, "application/jsonl": true}

// events serves POST /v1/events: NDJSON bulk ingest for API keys with the
// events:write scope (and users whose role may write events). The answer is
// written only after the events and their score job are committed.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	problem := func(code int, gqlCode, msg string) {
		writeJSON(w, code, map[string]any{"error": msg, "code": gqlCode})
	}
	c := caller.From(r.Context())
	if c == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		problem(http.StatusUnauthorized, "UNAUTHENTICATED", "send an API key with the events:write scope: Authorization: Bearer <key>")
		return
	}
	if c.TenantID == "" || !c.HasScope("events:write") || !s.deps.Authz.Allowed(c.Role, c.TenantID, "event:write") {
		problem(http.StatusForbidden, "FORBIDDEN", "this key or role may not write events (needs the events:write scope and event:write)")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !ingestMediaTypes[mt] {
		problem(http.StatusUnsupportedMediaType, "BAD_USER_INPUT", "Content-Type must be application/x-ndjson (one JSON object per line)")
		return
	}
	limit := s.deps.Config.Ingest.MaxBodyBytes
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch r.Header.Get("Content-Encoding") {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			problem(http.StatusBadRequest, "BAD_USER_INPUT", "Content-Encoding gzip: "+err.Error())
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, limit+1)
	default:
		problem(http.StatusUnsupportedMediaType, "BAD_USER_INPUT", "Content-Encoding must be gzip or none")
		return
	}
	b, err := io.ReadAll(body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || int64(len(b)) > limit:
		problem(http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", fmt.Sprintf("body is larger than %d bytes (VIGIL_INGEST_MAX_BODY_BYTES); split it into several requests", limit))
		return
	case err != nil:
		problem(http.StatusBadRequest, "BAD_USER_INPUT", "read body: "+err.Error())
		return
	}
	res, err := s.ingest.Ingest(r.Context(), ingest.Request{Body: b, IdempotencyKey: r.Header.Get("Idempotency-Key")})
	switch {
	case errors.Is(err, ingest.ErrIdempotencyConflict):
		problem(http.StatusConflict, "CONFLICT", err.Error())
	case errors.Is(err, ingest.ErrTooManyEvents):
		problem(http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", err.Error()+" (VIGIL_INGEST_MAX_EVENTS); split it into several requests")
	case err != nil:
		id := observe.RequestID(r.Context())
		s.log.ErrorContext(r.Context(), "ingest failed", "err", err)
		problem(http.StatusInternalServerError, "INTERNAL", "internal error (request id "+id+"); nothing of this request was stored, retry it")
	default:
		s.deps.Metrics.EventsIngested.Add(float64(res.Accepted))
		s.deps.Metrics.EventsRejected.Add(float64(res.Rejected))
		if res.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, http.StatusOK, res)
	}
}
