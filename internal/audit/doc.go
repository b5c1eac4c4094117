// Package audit owns the tamper-evident form of Vigil's audit trail: the
// audit event, its canonical encoding, the per-tenant hash chain (Seal,
// Append, Verify), signed checkpoints that make truncation and wholesale
// rewrites detectable, the NDJSON export a third party verifies offline, and
// the sealing of personal data under per-subject keys so that erasing a
// subject destroys their data without breaking the chain.
//
// It is plain Go with no storage. It does not store events or checkpoints
// (the database layer does, appending under a per-tenant lock and calling
// Append), decide who writes events or when (resolvers, hooks, auth and jobs
// do), redact fields by their classification (callers pass a Diff that is
// already redacted), keep subject keys (a SubjectKeys implementation does), or
// schedule checkpoints (a periodic job calls SignCheckpoint).
//
// # Chain
//
// Each tenant has its own chain. Events are numbered by Seq from 1 without
// gaps. Event n stores the hash of event n-1 as PrevHash; event 1 stores
// GenesisHash(tenant). Hash is the lowercase hex SHA-256 of Canonical(event),
// which covers every field except Hash itself. Editing a stored event breaks
// its own hash; deleting or inserting one breaks the sequence or the link of
// the next event; Verify names the first event where that shows.
//
// Anyone who can write the database can also recompute every hash after an
// edit. Signed checkpoints close that gap: a checkpoint is an Ed25519
// signature over (tenant, seq, hash) made with a key the database does not
// hold, so a rewrite or truncation of any event at or before a checkpoint is
// detected, provided the checkpoint is also kept where that writer cannot
// delete it. Events after the newest checkpoint are chained but not signed.
package audit
