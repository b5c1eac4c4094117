package jobs

// Job kinds are stored in the database with every job: they are a contract
// with jobs already enqueued and must never be renamed. Each domain's kind
// constant is declared here so a clash is a compile error.
const (
	// KindMaintenance is the platform's periodic housekeeping tick.
	KindMaintenance = "vigil.maintenance"
)

// KindScore scores one ingested batch of a tenant's events.
const KindScore = "vigil.score"

// KindPruneDetection deletes expired threshold hits and idempotency records.
const KindPruneDetection = "vigil.prune_detection"
