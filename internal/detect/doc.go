// Package detect owns Vigil's detectors over normalised events
// (internal/event):
//
//   - Sigma rules, parsed and evaluated with github.com/bradleyjkemp/sigma-go
//     and indexed by logsource, so an event meets only the rules that can
//     apply to it (CompileSigma, LoadSigmaDir, SigmaSet);
//   - threshold rules: counts or distinct counts per group over a sliding
//     window, optionally followed by another event (CompileThreshold,
//     ThresholdRule.Evaluate);
//   - the ATT&CK names behind rule tags (LoadAttack);
//   - the default rule pack every tenant starts with (DefaultRules).
//
// It is plain Go: no database, no HTTP, no clock, no goroutines. It does not
// store events, hits or detections, choose which rules a tenant runs, or
// group detections into alerts: the score job loads a batch and the tenant's
// compiled rules, calls this package, and writes what it returns.
package detect
