package server

import (
	"fmt"
	"log/slog"

	"github.com/vigilhq/vigil/internal/alerting"
	"github.com/vigilhq/vigil/internal/alertstream"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/detect"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/normalize"
)

// Pipeline is the path of an event, wired: ingest → score (Engine, run by the
// score job) → alerts → stream → subscribers (Hub).
type Pipeline struct {
	Hub    *alertstream.Hub
	Stream *alertstream.Stream
	Alerts *alerting.Service
	Rules  *detect.Rules
	Engine *detect.Engine
	// Ingest is set once the job client exists (it enqueues score jobs).
	Ingest *ingest.Service
}

// NewPipeline builds the pipeline on db. The access hook makes open
// subscriptions re-check their rights when sessions, roles or keys change.
func NewPipeline(db *database.DB, cfg config.Config, log *slog.Logger) (*Pipeline, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var attack *detect.Attack
	if cfg.AttackFile != "" {
		a, err := detect.LoadAttack(cfg.AttackFile)
		if err != nil {
			return nil, fmt.Errorf("VIGIL_ATTACK_FILE: %w", err)
		}
		attack = a
	}
	hub := alertstream.NewHub(db, alertstream.HubOptions{Logger: log})
	db.Use(alertstream.AccessHook(db.Dialect, hub.AccessChanged))
	stream := alertstream.New(db.Dialect, hub)
	alerts := alerting.New(db, stream)
	return &Pipeline{
		Hub: hub, Stream: stream, Alerts: alerts,
		Rules:  detect.NewRules(db.Ent),
		Engine: detect.NewEngine(db, alerts, attack, log),
	}, nil
}

// IngestOptions are ingest's limits from the configuration.
func IngestOptions(cfg config.Config) ingest.Options {
	return ingest.Options{
		MaxEvents: cfg.Ingest.MaxEvents,
		Limits:    normalize.Limits{MaxLineBytes: cfg.Ingest.MaxLineBytes, MaxFieldBytes: cfg.Ingest.MaxFieldBytes},
	}
}
