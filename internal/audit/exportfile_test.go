package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// exportLines writes b's trail with checkpoints at seqs and returns the lines.
func exportLines(t *testing.T, b *testBundle, events []Event, seqs ...int64) []string {
	t.Helper()
	var cps []Checkpoint
	for _, s := range seqs {
		cps = append(cps, b.checkpoint(t, b.events[s-1]))
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, events, cps, b.keys); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		t.Fatal("export does not end in a newline")
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func verifyLines(lines []string) (Result, error) {
	return VerifyExport(strings.NewReader(strings.Join(lines, "\n") + "\n"))
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lines := exportLines(t, b, b.events, 3, 6)
	if len(lines) != 1+6+2 {
		t.Fatalf("%d lines, want header, 6 events, 2 checkpoints", len(lines))
	}
	if again := exportLines(t, b, b.events, 3, 6); !slices.Equal(lines, again) {
		t.Fatal("two exports of one trail differ")
	}
	var header map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &header); err != nil {
		t.Fatal(err)
	}
	if header["format"] != ExportFormat || header["version"] != float64(1) || header["from_seq"] != float64(1) || header["to_seq"] != float64(6) {
		t.Fatalf("header %s", lines[0])
	}
	// The event member is the canonical encoding, byte for byte, so its
	// SHA-256 is the hash on the same line: what a third party checks.
	c, _ := Canonical(b.events[0])
	if want := `{"type":"event","hash":"` + b.events[0].Hash + `","event":` + string(c) + `}`; lines[1] != want {
		t.Fatalf("event line\n got %s\nwant %s", lines[1], want)
	}

	res, err := verifyLines(lines)
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, res)
	if res.Checked != 6 || res.Signed != 6 {
		t.Fatalf("checked %d, signed through %d; want 6 and 6", res.Checked, res.Signed)
	}
	x, err := ReadExport(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range x.Events {
		got, _ := Canonical(e)
		want, _ := Canonical(b.events[i])
		if !bytes.Equal(got, want) || e.Hash != b.events[i].Hash {
			t.Fatalf("event %d changed on the way through the file", i+1)
		}
	}
}

func TestExportWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lines := exportLines(t, b, b.events[2:], 2, 6)
	res, err := verifyLines(lines)
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, res)
	if res.Checked != 4 || res.Signed != 6 {
		t.Fatalf("checked %d, signed through %d; want 4 and 6", res.Checked, res.Signed)
	}

	// The anchor of a window comes from the header; a checkpoint at its seq
	// vouches for it.
	forged := slices.Clone(lines)
	forged[0] = strings.Replace(forged[0], b.events[1].Hash, b.events[0].Hash, 1)
	res, err = verifyLines(forged)
	if err != nil {
		t.Fatal(err)
	}
	wantBreak(t, res, Break{Seq: 2, Reason: ReasonAnchorCheckpoint})
}

// A line edited or removed, by hand or by tool, shows where.
func TestTamperedExportFails(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(b *testBundle, lines []string) []string
		want   Break
	}{{
		name: "an event's action edited",
		tamper: func(_ *testBundle, l []string) []string {
			l[3] = strings.Replace(l[3], `"action":"alert.update"`, `"action":"alert.delete"`, 1)
			return l
		},
		want: Break{Seq: 3, ID: "aud_tnt_A_3", Reason: ReasonHash},
	}, {
		name: "an event's hash edited",
		tamper: func(b *testBundle, l []string) []string {
			l[2] = strings.Replace(l[2], b.events[1].Hash, GenesisHash("x"), 1)
			return l
		},
		want: Break{Seq: 2, ID: "aud_tnt_A_2", Reason: ReasonHash},
	}, {
		name:   "a middle event removed",
		tamper: func(_ *testBundle, l []string) []string { return slices.Delete(l, 3, 4) },
		want:   Break{Seq: 4, ID: "aud_tnt_A_4", Reason: "seq gap: expected 3, found 4"},
	}, {
		name:   "the last event removed",
		tamper: func(_ *testBundle, l []string) []string { return slices.Delete(l, 6, 7) },
		want:   Break{Seq: 6, Reason: "truncated: checkpoint at seq 6 signed, trail ends at 5"},
	}, {
		name:   "the last event and its checkpoint removed",
		tamper: func(_ *testBundle, l []string) []string { return slices.Delete(l, 6, 7)[:7] },
		want:   Break{Seq: 6, Reason: "export truncated: header declares events to seq 6, file ends at seq 5"},
	}, {
		name:   "a checkpoint removed",
		tamper: func(_ *testBundle, l []string) []string { return l[:8] },
		want:   Break{Seq: 6, Reason: "export has 1 checkpoints, header declares 2"},
	}, {
		name: "a checkpoint's signature replaced by another's",
		tamper: func(_ *testBundle, l []string) []string {
			var c3, c6 map[string]any
			_ = json.Unmarshal([]byte(l[7]), &c3)
			_ = json.Unmarshal([]byte(l[8]), &c6)
			l[7] = strings.Replace(l[7], c3["signature"].(string), c6["signature"].(string), 1)
			return l
		},
		want: Break{Seq: 3, Reason: "checkpoint at seq 3: signature does not verify"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			lines := tc.tamper(b, exportLines(t, b, b.events, 3, 6))
			res, err := verifyLines(lines)
			if err != nil {
				t.Fatal(err)
			}
			wantBreak(t, res, tc.want)
		})
	}
}

// The keys in a file only prove it consistent: someone who rewrites the
// trail can sign new checkpoints with a key of their own. Verifying with the
// keys the operator published catches that.
func TestExportVerifiedWithPinnedKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.events[2].Action = "alert.delete"
	for i := 2; i < len(b.events); i++ {
		if err := b.events[i].Seal(b.events[i-1].Hash); err != nil {
			t.Fatal(err)
		}
	}
	forger := mustKey(9)
	cp, err := SignCheckpoint(forger, b.keyID, Checkpoint{TenantID: b.tenant, Seq: 6, Hash: b.events[5].Hash, Time: testStart})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, b.events, []Checkpoint{cp}, map[string]ed25519.PublicKey{b.keyID: forger.Public().(ed25519.PublicKey)}); err != nil {
		t.Fatal(err)
	}
	file := buf.String()

	res, err := VerifyExport(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, res) // consistent in itself

	x, err := ReadExport(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	wantBreak(t, x.Verify(b.keys), Break{Seq: 6, Reason: "checkpoint at seq 6: signature does not verify"})
}

func TestReadExportRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(lines []string) []string
		want   error
		text   string
	}{
		{"a newer version", func(l []string) []string {
			l[0] = strings.Replace(l[0], `"version":1`, `"version":2`, 1)
			return l
		}, ErrExportVersion, "version 2; this verifier reads version 1"},
		{"another format", func(l []string) []string {
			l[0] = strings.Replace(l[0], ExportFormat, "other", 1)
			return l
		}, ErrMalformedExport, "not a Vigil audit export"},
		{"no header", func(l []string) []string { return l[1:] }, ErrMalformedExport, "line 1"},
		{"empty", func([]string) []string { return nil }, ErrMalformedExport, "empty file"},
		{"not JSON", func(l []string) []string { l[2] = "{"; return l }, ErrMalformedExport, "line 3"},
		{"an unknown line type", func(l []string) []string { l[2] = `{"type":"note"}`; return l }, ErrMalformedExport, `unknown line type "note"`},
		{"an unknown member", func(l []string) []string {
			l[7] = strings.Replace(l[7], `"type":"checkpoint"`, `"type":"checkpoint","extra":1`, 1)
			return l
		}, ErrMalformedExport, "line 8"},
		{"an event not in canonical form", func(l []string) []string {
			l[2] = strings.Replace(l[2], `"action":`, `"action": `, 1)
			return l
		}, ErrMalformedExport, "line 3: event seq 2 is not in canonical form"},
		{"a header anchor at the wrong seq", func(l []string) []string {
			l[0] = strings.Replace(l[0], `"anchor":{"seq":0`, `"anchor":{"seq":5`, 1)
			return l
		}, ErrMalformedExport, "anchor seq 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			lines := tc.tamper(exportLines(t, b, b.events, 3, 6))
			_, err := verifyLines(lines)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v mentioning %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestWriteExportRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.trail(t, "tnt_B", 1)
	cp := b.checkpoint(t, b.events[2])
	var buf bytes.Buffer
	if err := WriteExport(&buf, append(slices.Clone(b.events), other...), nil, b.keys); err == nil {
		t.Fatal("exported two tenants in one file")
	}
	if err := WriteExport(&buf, b.events, []Checkpoint{cp}, nil); err == nil {
		t.Fatal("exported a checkpoint without its public key")
	}
	if err := WriteExport(&buf, nil, nil, nil); err == nil {
		t.Fatal("exported nothing")
	}
}
