package audit

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUntouchedTrailVerifies(t *testing.T) {
	t.Parallel()
	b := setup(t)

	res := Verify(b.events, Genesis(b.tenant))
	wantOK(t, res)
	if res.Checked != 6 || res.Last != b.events[5].Anchor() {
		t.Fatalf("checked %d up to %+v, want 6 up to event 6", res.Checked, res.Last)
	}

	cps := []Checkpoint{b.checkpoint(t, b.events[2]), b.checkpoint(t, b.events[5])}
	res = VerifyWithCheckpoints(b.events, cps, b.keys)
	wantOK(t, res)
	if res.Signed != 6 {
		t.Fatalf("signed through %d, want 6", res.Signed)
	}

	wantOK(t, Verify(nil, Genesis(b.tenant)))
}

// editLeaf is one field of Event, reached by reflection so that a field added
// later is edited too, or the test says it does not know how.
type editLeaf struct {
	path string
	edit func(e *Event)
}

func eventLeaves(t *testing.T) []editLeaf {
	t.Helper()
	var out []editLeaf
	var walk func(typ reflect.Type, path string, at func(*Event) reflect.Value)
	walk = func(typ reflect.Type, path string, at func(*Event) reflect.Value) {
		add := func(edit func(v reflect.Value)) {
			out = append(out, editLeaf{path, func(e *Event) { edit(at(e)) }})
		}
		switch {
		case typ == reflect.TypeFor[time.Time]():
			add(func(v reflect.Value) { v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Microsecond))) })
		case typ.Kind() == reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(f.Type, strings.TrimPrefix(path+"."+f.Name, "."), func(e *Event) reflect.Value { return at(e).Field(i) })
			}
		case typ.Kind() == reflect.String:
			add(func(v reflect.Value) { v.SetString(v.String() + "x") })
		case typ.Kind() == reflect.Int64:
			add(func(v reflect.Value) { v.SetInt(v.Int() + 100) })
		case typ.Kind() == reflect.Map:
			add(func(v reflect.Value) { v.SetMapIndex(reflect.ValueOf("injected"), reflect.ValueOf(true)) })
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Uint8:
			add(func(v reflect.Value) {
				c := slices.Clone(v.Bytes())
				c[len(c)-1] ^= 1
				v.SetBytes(c)
			})
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
			walk(typ.Elem(), path+"[0]", func(e *Event) reflect.Value { return at(e).Index(0) })
		default:
			t.Fatalf("no edit for field %s of type %s: teach this test, and Canonical, about it", path, typ)
		}
	}
	walk(reflect.TypeFor[Event](), "", func(e *Event) reflect.Value { return reflect.ValueOf(e).Elem() })
	return out
}

// A row edited in the database, with its hash left alone, breaks at that row.
// Rows come back ordered by seq, as a query would return them.
func TestEditingAnyFieldBreaksThatEvent(t *testing.T) {
	t.Parallel()
	leaves := eventLeaves(t)
	var paths []string
	for _, l := range leaves {
		paths = append(paths, l.path)
	}
	for _, p := range []string{"ID", "Time", "Actor.Name", "RealActor.Kind", "Target.ID", "Diff", "PII[0].Subject", "PII[0].Data", "PrevHash", "Hash"} {
		if !slices.Contains(paths, p) {
			t.Fatalf("fields walked %v, missing %s", paths, p)
		}
	}
	for _, leaf := range leaves {
		t.Run(leaf.path, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			events := b.events
			leaf.edit(&events[2])
			slices.SortStableFunc(events, func(x, y Event) int { return cmp.Compare(x.Seq, y.Seq) })

			want := Break{Seq: 3, ID: events[2].ID, Reason: ReasonHash}
			switch leaf.path {
			case "TenantID":
				want.Reason = `belongs to tenant "tnt_Ax"`
			case "Seq": // the row moved to seq 103: seq 3 is missing
				want = Break{Seq: 4, ID: events[2].ID, Reason: "seq gap: expected 3, found 4"}
			}
			wantBreak(t, Verify(events, Genesis(b.tenant)), want)
		})
	}
}

func TestTamperingIsReportedWhereItHappened(t *testing.T) {
	t.Parallel()
	forged := func(t *testing.T, b *testBundle, seq int64, prev string) Event {
		e := testEvent(b.tenant, 99)
		e.ID, e.Seq, e.Action = "aud_forged", seq, "role.change"
		if err := e.Seal(prev); err != nil {
			t.Fatal(err)
		}
		return e
	}
	// rewrite recomputes every hash and link from index i on, as a writer of
	// the database who knows the format could.
	rewrite := func(t *testing.T, events []Event, i int) {
		for ; i < len(events); i++ {
			if err := events[i].Seal(events[i-1].Hash); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name        string
		tamper      func(t *testing.T, b *testBundle) []Event
		checkpoints []int64 // seqs signed before tampering
		want        *Break  // nil: the trail verifies
		checked     int
	}{{
		name:    "delete a middle event",
		tamper:  func(_ *testing.T, b *testBundle) []Event { return slices.Delete(b.events, 2, 3) },
		want:    &Break{Seq: 4, ID: "aud_tnt_A_4", Reason: "seq gap: expected 3, found 4"},
		checked: 2,
	}, {
		name:    "delete the first event",
		tamper:  func(_ *testing.T, b *testBundle) []Event { return b.events[1:] },
		want:    &Break{Seq: 2, ID: "aud_tnt_A_2", Reason: "seq gap: expected 1, found 2"},
		checked: 0,
	}, {
		name:    "delete the last event, no checkpoint: undetectable",
		tamper:  func(_ *testing.T, b *testBundle) []Event { return b.events[:5] },
		checked: 5,
	}, {
		name:        "delete the last event after a checkpoint of it",
		tamper:      func(_ *testing.T, b *testBundle) []Event { return b.events[:5] },
		checkpoints: []int64{3, 6},
		want:        &Break{Seq: 6, Reason: "truncated: checkpoint at seq 6 signed, trail ends at 5"},
		checked:     5,
	}, {
		name:        "delete the last two events",
		tamper:      func(_ *testing.T, b *testBundle) []Event { return b.events[:4] },
		checkpoints: []int64{5, 6},
		want:        &Break{Seq: 5, Reason: "truncated: checkpoint at seq 5 signed, trail ends at 4"},
		checked:     4,
	}, {
		name: "edit an event and recompute its hash",
		tamper: func(t *testing.T, b *testBundle) []Event {
			b.events[2].Action = "alert.delete"
			reseal(t, &b.events[2])
			return b.events
		},
		want:    &Break{Seq: 4, ID: "aud_tnt_A_4", Reason: ReasonPrev},
		checked: 3,
	}, {
		name: "insert a forged event with a recomputed hash but a wrong prev",
		tamper: func(t *testing.T, b *testBundle) []Event {
			for i := 2; i < len(b.events); i++ {
				b.events[i].Seq++ // make room, as the unique seq demands
			}
			return slices.Insert(b.events, 2, forged(t, b, 3, GenesisHash("elsewhere")))
		},
		want:    &Break{Seq: 3, ID: "aud_forged", Reason: ReasonPrev},
		checked: 2,
	}, {
		name: "insert a forged event linked to its predecessor, later events renumbered and rehashed",
		tamper: func(t *testing.T, b *testBundle) []Event {
			for i := 2; i < len(b.events); i++ {
				b.events[i].Seq++
				reseal(t, &b.events[i])
			}
			return slices.Insert(b.events, 2, forged(t, b, 3, b.events[1].Hash))
		},
		want:    &Break{Seq: 4, ID: "aud_tnt_A_3", Reason: ReasonPrev},
		checked: 3,
	}, {
		name: "insert a forged event with a correct prev and a taken seq, before the genuine one",
		tamper: func(t *testing.T, b *testBundle) []Event {
			return slices.Insert(b.events, 2, forged(t, b, 3, b.events[1].Hash))
		},
		want:    &Break{Seq: 3, ID: "aud_forged", Reason: "seq 3 appears twice"},
		checked: 2,
	}, {
		name: "insert a forged event with a correct prev and a taken seq, after the genuine one",
		tamper: func(t *testing.T, b *testBundle) []Event {
			return slices.Insert(b.events, 3, forged(t, b, 3, b.events[1].Hash))
		},
		want:    &Break{Seq: 3, ID: "aud_forged", Reason: "seq 3 appears twice"},
		checked: 2,
	}, {
		name: "insert a forged event with a correct prev and a wrong seq",
		tamper: func(t *testing.T, b *testBundle) []Event {
			return slices.Insert(b.events, 2, forged(t, b, 9, b.events[1].Hash))
		},
		want:    &Break{Seq: 9, ID: "aud_forged", Reason: "seq out of order: expected 3, found 9"},
		checked: 2,
	}, {
		name:    "copy a row",
		tamper:  func(_ *testing.T, b *testBundle) []Event { return slices.Insert(b.events, 3, b.events[2]) },
		want:    &Break{Seq: 3, ID: "aud_tnt_A_3", Reason: "seq 3 appears twice"},
		checked: 2,
	}, {
		name: "reorder events",
		tamper: func(_ *testing.T, b *testBundle) []Event {
			b.events[2], b.events[3] = b.events[3], b.events[2]
			return b.events
		},
		want:    &Break{Seq: 4, ID: "aud_tnt_A_4", Reason: "seq out of order: expected 3, found 4"},
		checked: 2,
	}, {
		name: "reorder events by swapping their seqs",
		tamper: func(_ *testing.T, b *testBundle) []Event {
			b.events[2].Seq, b.events[3].Seq = 4, 3
			b.events[2], b.events[3] = b.events[3], b.events[2]
			return b.events
		},
		want:    &Break{Seq: 3, ID: "aud_tnt_A_4", Reason: ReasonHash},
		checked: 2,
	}, {
		name: "move in another tenant's event",
		tamper: func(t *testing.T, b *testBundle) []Event {
			b.events[2] = b.trail(t, "tnt_B", 3)[2]
			return b.events
		},
		want:    &Break{Seq: 3, ID: "aud_tnt_B_3", Reason: `belongs to tenant "tnt_B"`},
		checked: 2,
	}, {
		name: "rewrite from seq 3 with every hash recomputed, no checkpoint: undetectable",
		tamper: func(t *testing.T, b *testBundle) []Event {
			b.events[2].Action = "alert.delete"
			rewrite(t, b.events, 2)
			return b.events
		},
		checked: 6,
	}, {
		name: "rewrite from seq 3 with every hash recomputed, checkpoint at seq 5",
		tamper: func(t *testing.T, b *testBundle) []Event {
			b.events[2].Action = "alert.delete"
			rewrite(t, b.events, 2)
			return b.events
		},
		checkpoints: []int64{2, 5},
		want:        &Break{Seq: 5, ID: "aud_tnt_A_5", Reason: ReasonCheckpointHash},
		checked:     4,
	}, {
		name: "rewrite after the newest checkpoint: undetectable",
		tamper: func(t *testing.T, b *testBundle) []Event {
			b.events[2].Action = "alert.delete"
			rewrite(t, b.events, 2)
			return b.events
		},
		checkpoints: []int64{2},
		checked:     6,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var cps []Checkpoint
			for _, seq := range tc.checkpoints {
				cps = append(cps, b.checkpoint(t, b.events[seq-1]))
			}
			events := tc.tamper(t, b)

			res := VerifyWindow(events, Genesis(b.tenant), cps, b.keys)
			if tc.want == nil {
				wantOK(t, res)
			} else {
				wantBreak(t, res, *tc.want)
			}
			if res.Checked != tc.checked {
				t.Fatalf("checked %d events, want %d", res.Checked, tc.checked)
			}
			if len(cps) == 0 {
				if plain := Verify(events, Genesis(b.tenant)); !reflect.DeepEqual(plain, res) {
					t.Fatalf("Verify %+v, VerifyWindow without checkpoints %+v", plain, res)
				}
			}
		})
	}
}

func TestVerifyWindowFromAnchor(t *testing.T) {
	t.Parallel()
	t.Run("from the previous event", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := Verify(b.events[3:], b.events[2].Anchor())
		wantOK(t, res)
		if res.Checked != 3 || res.Last != b.events[5].Anchor() {
			t.Fatalf("checked %d up to %+v, want 3 up to event 6", res.Checked, res.Last)
		}
	})
	t.Run("from a checkpoint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cp := b.checkpoint(t, b.events[2])
		res := VerifyWindow(b.events[3:], cp.Anchor(), []Checkpoint{cp}, b.keys)
		wantOK(t, res)
		if res.Signed != 3 {
			t.Fatalf("signed through %d, want 3", res.Signed)
		}
	})
	t.Run("continue where the last window ended", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := Verify(b.events[:4], Genesis(b.tenant))
		wantOK(t, Verify(b.events[4:], first.Last))
	})
	t.Run("anchor hash of another event", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		from := Anchor{TenantID: b.tenant, Seq: 3, Hash: b.events[1].Hash}
		wantBreak(t, Verify(b.events[3:], from), Break{Seq: 4, ID: "aud_tnt_A_4", Reason: ReasonPrev})
	})
	t.Run("anchor seq off by one", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		from := Anchor{TenantID: b.tenant, Seq: 2, Hash: b.events[2].Hash}
		wantBreak(t, Verify(b.events[3:], from), Break{Seq: 4, ID: "aud_tnt_A_4", Reason: "seq gap: expected 3, found 4"})
	})
	t.Run("anchor contradicts a checkpoint", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		cp := b.checkpoint(t, b.events[2])
		from := Anchor{TenantID: b.tenant, Seq: 3, Hash: b.events[1].Hash}
		wantBreak(t, VerifyWindow(b.events[3:], from, []Checkpoint{cp}, b.keys), Break{Seq: 3, Reason: ReasonAnchorCheckpoint})
	})
	t.Run("no anchor", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := Verify(b.events, Anchor{})
		if res.OK || !strings.HasPrefix(res.FirstBroken.Reason, "no anchor") {
			t.Fatalf("got %+v, want a break for the missing anchor", res)
		}
	})
}

func TestCheckpointSignatures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		forge  func(b *testBundle, c *Checkpoint)
		reason string // "" for a bad signature
	}{
		{"seq changed", func(_ *testBundle, c *Checkpoint) { c.Seq = 4 }, ""},
		{"hash changed", func(b *testBundle, c *Checkpoint) { c.Hash = b.events[3].Hash }, ""},
		{"time changed", func(_ *testBundle, c *Checkpoint) { c.Time = c.Time.Add(time.Second) }, ""},
		{"signature byte flipped", func(_ *testBundle, c *Checkpoint) {
			c.Signature = slices.Clone(c.Signature)
			c.Signature[0] ^= 1
		}, ""},
		{"signed by another key under the same id", func(b *testBundle, c *Checkpoint) {
			forger := mustKey(9)
			f, err := SignCheckpoint(forger, b.keyID, *c)
			if err != nil {
				panic(err)
			}
			*c = f
		}, ""},
		{"key id changed", func(_ *testBundle, c *Checkpoint) { c.KeyID = "k2" }, "checkpoint at seq 3: unknown key k2"},
		{"tenant changed", func(_ *testBundle, c *Checkpoint) { c.TenantID = "tnt_B" }, `checkpoint at seq 3 belongs to tenant "tnt_B"`},
		{"no signature", func(_ *testBundle, c *Checkpoint) { c.Signature = nil }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			c := b.checkpoint(t, b.events[2])
			if err := VerifyCheckpoint(b.keys[b.keyID], c); err != nil {
				t.Fatalf("genuine checkpoint: %v", err)
			}
			tc.forge(b, &c)
			if tc.reason == "" {
				if err := VerifyCheckpoint(b.keys[b.keyID], c); err == nil {
					t.Fatal("forged checkpoint verified")
				}
				tc.reason = fmt.Sprintf("checkpoint at seq %d: signature does not verify", c.Seq)
			}
			wantBreak(t, VerifyWithCheckpoints(b.events, []Checkpoint{c}, b.keys), Break{Seq: c.Seq, Reason: tc.reason})
		})
	}
}

func TestSignCheckpointRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := Checkpoint{TenantID: b.tenant, Seq: 1, Hash: b.events[0].Hash, Time: testStart}
	cases := []struct {
		name string
		priv []byte
		c    func(c Checkpoint) Checkpoint
	}{
		{"short key", b.priv[:32], func(c Checkpoint) Checkpoint { return c }},
		{"seq 0", b.priv, func(c Checkpoint) Checkpoint { c.Seq = 0; return c }},
		{"hash not hex", b.priv, func(c Checkpoint) Checkpoint { c.Hash = "abc"; return c }},
		{"no tenant", b.priv, func(c Checkpoint) Checkpoint { c.TenantID = ""; return c }},
		{"no time", b.priv, func(c Checkpoint) Checkpoint { c.Time = time.Time{}; return c }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := SignCheckpoint(tc.priv, "k1", tc.c(good)); err == nil {
				t.Fatal("signed")
			}
		})
	}
	if _, err := SignCheckpoint(b.priv, "", good); err == nil {
		t.Fatal("signed without a key id")
	}
}

func TestCheckpointMessageIsStable(t *testing.T) {
	t.Parallel()
	c := Checkpoint{TenantID: "tnt_A", Seq: 42, Hash: GenesisHash("tnt_A"), Time: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600)), KeyID: "k1"}
	got, err := CheckpointMessage(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"hash":"` + GenesisHash("tnt_A") + `","key_id":"k1","seq":42,"tenant_id":"tnt_A","time":"2026-03-01T11:00:00.123456Z","type":"vigil-audit-checkpoint","v":1}`
	if string(got) != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}
}
