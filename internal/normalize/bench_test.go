package normalize_test

import (
	"os"
	"testing"

	"github.com/vigilhq/vigil/internal/normalize"
)

// Run with: go test -run '^$' -bench Normalize -benchmem ./internal/normalize/
//
// Each iteration decodes one NDJSON line and normalises it, as ingest does.
func BenchmarkNormalize(b *testing.B) {
	sysmon, err := os.ReadFile("testdata/windows/sysmon1_nxlog.json")
	if err != nil {
		b.Fatal(err)
	}
	lines := []struct{ name, line string }{
		{"syslog-sshd", syslogObject("<38>Nov 26 10:00:01 bastion sshd[40251]: Failed password for invalid user admin from 203.0.113.7 port 40112 ssh2")},
		{"syslog-pam", syslogObject("<38>Nov 26 10:00:01 bastion sshd[40251]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root")},
		{"ecs-nested", ecsNested},
		{"ecs-flat", ecsFlat},
		{"sysmon-nxlog", string(sysmon)},
	}
	for _, l := range lines {
		line := []byte(l.line)
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				raw, err := normalize.DecodeLine(line, normalize.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := normalize.Normalize(raw, received, normalize.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
