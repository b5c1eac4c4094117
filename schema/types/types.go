// Package types holds the Go types of ent JSON fields. It imports nothing of
// Vigil's, so ent's generated code can use it without a cycle through schema.
package types

// RiskFactor is one line of an alert's risk breakdown.
type RiskFactor struct {
	Factor string `json:"factor"` // rule, count, intel, anomaly, asset
	Points int    `json:"points"`
	Detail string `json:"detail"`
}

// Technique is an ATT&CK technique an alert is tagged with.
type Technique struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
