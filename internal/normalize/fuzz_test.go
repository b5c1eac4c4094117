package normalize_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigilhq/vigil/internal/normalize"
)

// FuzzDecodeNormalize feeds arbitrary lines to DecodeLine and Normalize, and
// the same bytes as a syslog message: nothing panics, input is never
// modified, and what comes out is a sound event.
//
//	go test -run '^$' -fuzz FuzzDecodeNormalize -fuzztime 20s ./internal/normalize/
func FuzzDecodeNormalize(f *testing.F) {
	for _, s := range []string{
		ecsNested, ecsFlat, `{}`, `{"a.b":1,"a":{"c":2}}`, `{"@timestamp":1e300}`, `[1]`, `{"id":1.5e3}`,
		`{"EventID":4625,"IpAddress":"::ffff:1.2.3.4","IpPort":"0","ProcessId":"0x0"}`,
		`{"System":{"EventID":{"#text":"1"}},"EventData":{"Data":[{"@Name":"Image","#text":"C:\\a.exe"}]}}`,
		`{"MESSAGE":"Accepted password for a from 1.2.3.4 port 1 ssh2","SYSLOG_IDENTIFIER":"sshd","__REALTIME_TIMESTAMP":"1"}`,
		`<165>1 2026-11-26T10:00:00Z h a p m [x@1 a="\]\"\\"][y@2] msg`,
		"<38>Feb 29 10:00:01 h sshd[1]: message repeated 2 times: [ Failed password for x from ::1 port 1 ssh2]",
		"<38>sshd[1]: pam_unix(sshd:auth): authentication failure; rhost= user=",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/windows/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	auth, err := os.ReadFile("testdata/auth.log")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(auth))
	for sc.Scan() {
		f.Add(append([]byte(nil), sc.Bytes()...))
	}

	lim := normalize.Limits{MaxLineBytes: 16 << 10, MaxFieldBytes: 4 << 10, MaxFields: 200, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, line []byte) {
		if raw, err := normalize.DecodeLine(line, lim); err == nil {
			checkSound(t, raw, lim)
		} else if !isError(err) {
			t.Fatalf("DecodeLine error %v is %T", err, err)
		}
		checkSound(t, map[string]any{"message": string(line), "host": "10.0.0.5"}, lim)
	})
}

func isError(err error) bool {
	var ne *normalize.Error
	return errors.As(err, &ne) && ne.Error() != ""
}

func checkSound(t *testing.T, raw map[string]any, lim normalize.Limits) {
	before, err := json.Marshal(raw)
	if err != nil {
		t.Fatalf("decoded value does not encode: %v", err)
	}
	ev, err := normalize.Normalize(raw, received, lim)
	if after, _ := json.Marshal(raw); !bytes.Equal(before, after) {
		t.Fatalf("Normalize modified its input:\n%s\n%s", before, after)
	}
	if err != nil {
		if !isError(err) {
			t.Fatalf("Normalize error %v is %T", err, err)
		}
		return
	}
	if _, err := json.Marshal(ev.Fields); err != nil {
		t.Fatalf("Fields do not encode: %v", err)
	}
	if ev.Timestamp.Location() != time.UTC || ev.Timestamp.Year() < 1970 || ev.Timestamp.Sub(received) > normalize.MaxFutureSkew {
		t.Fatalf("Timestamp %v", ev.Timestamp)
	}
	if ev.String("@timestamp") != ev.Timestamp.Format(time.RFC3339Nano) {
		t.Fatalf("@timestamp %q, Timestamp %v", ev.String("@timestamp"), ev.Timestamp)
	}
	if utf8.RuneCountInString(ev.ID) > normalize.MaxIDLength {
		t.Fatalf("ID of %d characters", utf8.RuneCountInString(ev.ID))
	}
}
