package audit

import (
	"testing"
)

// BenchmarkAppend is the cost the database layer adds to every audited
// write while it holds the tenant's head: sealing one event.
func BenchmarkAppend(b *testing.B) {
	head := Genesis("tnt_A")
	for i := range b.N {
		e := testEvent("tnt_A", i)
		var err error
		if head, err = Append(head, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is verifyAuditTrail's cost per stored event, diffs read
// back from a JSON column (plain values, no re-marshalling).
func BenchmarkVerify(b *testing.B) {
	const n = 1000
	head := Genesis("tnt_A")
	events := make([]Event, n)
	for i := range events {
		events[i] = testEvent("tnt_A", i)
		var err error
		if head, err = Append(head, &events[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if res := Verify(events, Genesis("tnt_A")); !res.OK {
			b.Fatal(res.FirstBroken)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
