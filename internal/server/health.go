package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status  string            `json:"status"`
	Failing []string          `json:"failing,omitempty"`
	Checks  map[string]string `json:"checks"`
}

// readyz answers 200 when the database answers, every migration is applied
// and the job client runs; otherwise 503 naming each failing check.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	res := readiness{Status: "ok", Checks: map[string]string{}}
	fail := func(name, msg string) {
		res.Failing = append(res.Failing, name)
		res.Checks[name] = msg
	}

	if err := s.deps.DB.Ping(ctx); err != nil {
		fail("database", "unreachable: "+err.Error())
		fail("migrations", "unknown: database unreachable")
	} else {
		res.Checks["database"] = "ok"
		switch n, err := s.deps.DB.PendingMigrations(ctx); {
		case err != nil:
			fail("migrations", "cannot read status: "+err.Error())
		case n > 0:
			fail("migrations", fmt.Sprintf("%d pending; run `vigil migrate up`", n))
		default:
			res.Checks["migrations"] = "ok"
		}
	}
	switch {
	case s.deps.Jobs == nil:
		fail("jobs", "no job client configured")
	case !s.jobsActive.Load():
		fail("jobs", "job client not running")
	default:
		res.Checks["jobs"] = "ok"
	}

	code := http.StatusOK
	if len(res.Failing) > 0 {
		res.Status = "unavailable"
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, res)
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.deps.Metrics.Registry, promhttp.HandlerOpts{
		ErrorLog: nil, EnableOpenMetrics: false,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
