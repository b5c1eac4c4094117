package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// goldenEvent is the test vector of the format: its canonical bytes and hash
// must never change under CanonicalVersion 1, or every stored trail breaks.
func goldenEvent(t *testing.T) Event {
	t.Helper()
	e := Event{
		ID:        "aud_01",
		TenantID:  "tnt_01",
		Time:      time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.UTC),
		Actor:     Actor{Kind: "user", ID: "usr_01", Name: ""},
		RealActor: Actor{Kind: "user", ID: "usr_root", Name: ""},
		Action:    "alert.update",
		Target:    Target{Type: "alert", ID: "alr_01"},
		Diff: map[string]any{
			"status": map[string]any{"from": "open", "to": "closed"},
			"score":  92.5,
			"count":  int64(1) << 60,
			"note":   "line\nbreak \"quoted\" <tag> é",
			"none":   nil,
		},
		RequestID: "req_01",
		PII:       []SealedPII{{Subject: "usr_01", Data: []byte{1, 2, 3, 250}}},
	}
	if _, err := Append(Genesis("tnt_01"), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCanonicalGoldenVector(t *testing.T) {
	t.Parallel()
	e := goldenEvent(t)
	got, err := Canonical(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"alert.update",` +
		`"actor":{"id":"usr_01","kind":"user","name":""},` +
		`"diff":{"count":1152921504606846976,"none":null,"note":"line\nbreak \"quoted\" <tag> é","score":92.5,"status":{"from":"open","to":"closed"}},` +
		`"id":"aud_01","ip":"",` +
		`"pii":[{"data":"AQID+g==","subject":"usr_01"}],` +
		`"prev_hash":"` + GenesisHash("tnt_01") + `",` +
		`"real_actor":{"id":"usr_root","kind":"user","name":""},` +
		`"request_id":"req_01","seq":1,` +
		`"target":{"id":"alr_01","type":"alert"},` +
		`"tenant_id":"tnt_01","time":"2026-01-02T03:04:05.678901Z","user_agent":"","v":1}`
	if string(got) != want {
		t.Fatalf("canonical\n got %s\nwant %s", got, want)
	}
	if e.Hash != hashOf([]byte(want)) {
		t.Fatalf("hash %s is not the SHA-256 of the canonical bytes", e.Hash)
	}
	const wantHash = "93dd6c2fe55910954440a683bcb11b3dc935c28d4af463ce4f380867d5b7e8f5"
	if e.Hash != wantHash {
		t.Fatalf("hash %s, want %s", e.Hash, wantHash)
	}
	if g := GenesisHash("tnt_01"); g != "5e7c11ff7c20ff2c77a01ded6fcaab35f25e5823082f455c2b3c1b8bd0cb0866" {
		t.Fatalf("genesis hash %s", g)
	}
}

// The sample of RFC 8785's author (github.com/cyberphone/json-canonicalization)
// and the key-sorting example of RFC 8785 §3.2.3.
func TestCanonicalIsRFC8785(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{{
		in:   `{"numbers": [1E30,4.50,6,2e-3,0.000000000000000000000000001], "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "other": [null, true, false]}`,
		want: `{"escaping":"€$\u000f\nA'B\"\\\\\"/","numbers":[1e+30,4.5,6,0.002,1e-27],"other":[null,true,false]}`,
	}, {
		in:   `{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
		want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
	}, {
		in:   `{"a":"\u0000\u001f\u007f\u2028/<>&"}`,
		want: "{\"a\":\"\uFFFD\\u001f\u007f\u2028/<>&\"}",
	}}
	for _, tc := range cases {
		dec := json.NewDecoder(strings.NewReader(tc.in))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		got, err := appendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("canonical of %s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalNumbers(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"7", "7"}, {"-12", "-12"},
		{"1.0", "1"}, {"1e2", "100"}, {"-0.0", "0"}, {"0.1", "0.1"},
		{"1e21", "1e+21"}, {"1e20", "100000000000000000000"}, {"1.5e-7", "1.5e-7"},
		{"0.000001", "0.000001"}, {"333333333.33333329", "333333333.3333333"},
		{"9007199254740993", "9007199254740993"}, // beyond 2^53, kept exact
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{"1e400", ""}, {"abc", ""}, {"", ""}, {"01", ""}, {"+1", ""}, {"NaN", ""},
	}
	for _, tc := range cases {
		got, err := canonicalNumber(json.Number(tc.in))
		if tc.want == "" {
			if err == nil {
				t.Errorf("number %q gave %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("number %q gave %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// Go values in a diff take the same forms, through encoding/json.
	goValues := []struct {
		v    any
		want string
	}{
		{92.5, "92.5"}, {float32(0.1), "0.1"}, {int8(-3), "-3"}, {1e-7, "1e-7"}, {1e21, "1e+21"},
		{uint64(math.MaxUint64), "18446744073709551615"}, {math.Copysign(0, -1), "0"},
	}
	for _, tc := range goValues {
		d, err := normalizeDiff(map[string]any{"v": tc.v})
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendValue(nil, d)
		if err != nil || string(got) != `{"v":`+tc.want+`}` {
			t.Errorf("diff value %v (%T) gave %s, %v; want %s", tc.v, tc.v, got, err, tc.want)
		}
	}
}

func TestSealNormalizesWhatIsStored(t *testing.T) {
	t.Parallel()
	e := testEvent("tnt_A", 1)
	e.Time = time.Date(2026, 1, 2, 3, 4, 5, 678901999, time.FixedZone("X", 7200))
	e.UserAgent = "evil\xff\x00agent"
	e.Diff = map[string]any{"when": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "n": 3, "s": struct {
		A string `json:"a"`
	}{"x"}}
	if _, err := Append(Genesis("tnt_A"), &e); err != nil {
		t.Fatal(err)
	}
	if e.Time != time.Date(2026, 1, 2, 1, 4, 5, 678901000, time.UTC) || e.Time.Location() != time.UTC {
		t.Errorf("time %v, want UTC truncated to microseconds", e.Time)
	}
	if e.UserAgent != "evil\uFFFD\uFFFDagent" {
		t.Errorf("user agent %q, want invalid byte and NUL replaced", e.UserAgent)
	}
	if e.Diff["n"] != json.Number("3") || e.Diff["when"] != "2026-01-01T00:00:00Z" || e.Diff["s"].(map[string]any)["a"] != "x" {
		t.Errorf("diff %#v, want its JSON form", e.Diff)
	}

	// What a database gives back verifies: the diff through a JSON column,
	// the time in another zone, nanoseconds below the stored precision.
	stored := e
	raw, err := json.Marshal(e.Diff)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	stored.Diff = nil
	if err := dec.Decode(&stored.Diff); err != nil {
		t.Fatal(err)
	}
	stored.Time = e.Time.In(time.FixedZone("Y", -3600))
	wantOK(t, Verify([]Event{stored}, Genesis("tnt_A")))
}

func TestSealRejectsBugs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(e *Event)
		prev string
	}{
		{"no id", func(e *Event) { e.ID = "" }, ""},
		{"no tenant", func(e *Event) { e.TenantID = "" }, ""},
		{"seq 0", func(e *Event) { e.Seq = 0 }, ""},
		{"no action", func(e *Event) { e.Action = "" }, ""},
		{"no time", func(e *Event) { e.Time = time.Time{} }, ""},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, ""},
		{"diff with a channel", func(e *Event) { e.Diff = map[string]any{"c": make(chan int)} }, ""},
		{"diff with NaN", func(e *Event) { e.Diff = map[string]any{"x": math.NaN()} }, ""},
		{"prev not a hash", func(*Event) {}, "nothex"},
		{"prev in upper case", func(*Event) {}, strings.ToUpper(GenesisHash("tnt_A"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := testEvent("tnt_A", 1)
			e.Seq = 1
			tc.edit(&e)
			prev := tc.prev
			if prev == "" {
				prev = GenesisHash("tnt_A")
			}
			if err := e.Seal(prev); err == nil {
				t.Fatal("sealed")
			}
		})
	}
	e := testEvent("tnt_B", 1)
	if _, err := Append(Genesis("tnt_A"), &e); err == nil {
		t.Fatal("appended tenant B's event to tenant A's chain")
	}
}

func FuzzCanonical(f *testing.F) {
	f.Add("aud_1", "tnt_1", "alert.update", "ci", "curl/8", int64(1), int64(1767225600000000), []byte(`{"a":1,"b":[true,null,"x"],"c":{"d":1.5e-7}}`), []byte{1, 2})
	f.Add("aud_\xff", "tnt_\x00", "a", "\u2028", "é", int64(9), int64(0), []byte(`{"big":123456789012345678901234567890,"f":1e21,"z":-0}`), []byte(nil))
	f.Add("x", "y", "z", "", "", int64(1<<40), int64(-62135596800000000), []byte(`not json`), []byte{})
	f.Fuzz(func(t *testing.T, id, tenant, action, name, ua string, seq, micros int64, diffJSON, pii []byte) {
		// Keep to what Seal accepts: years 1 to 9999, seq from 1.
		const minMicros, maxMicros = -62135596800000000, 253402300799999999
		micros = minMicros + (micros%(maxMicros-minMicros)+(maxMicros-minMicros))%(maxMicros-minMicros)
		seq = max(seq&math.MaxInt32, 1)
		if id == "" || tenant == "" || action == "" || micros == minMicros {
			return // Seal rejects these; micros == minMicros is the zero time.Time
		}
		var diff map[string]any
		dec := json.NewDecoder(bytes.NewReader(diffJSON))
		dec.UseNumber()
		if dec.Decode(&diff) != nil {
			diff = map[string]any{"raw": string(diffJSON)}
		}
		e := Event{
			ID: id, TenantID: tenant, Seq: seq, Action: action,
			Time:  time.UnixMicro(micros).In(time.FixedZone("Z", 5400)),
			Actor: Actor{Kind: "user", ID: "usr", Name: name}, UserAgent: ua,
			Diff: diff, PII: []SealedPII{{Subject: name, Data: pii}},
		}
		unsealed := e
		unsealed.PrevHash = GenesisHash(tenant)
		before, err := Canonical(unsealed)
		if err != nil {
			return // values Seal rejects too, such as keys that collide once cleaned
		}
		if err := e.Seal(GenesisHash(tenant)); err != nil {
			t.Fatalf("Canonical accepted what Seal rejects: %v", err)
		}
		c1, err := Canonical(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, c1) {
			t.Fatalf("sealing changed the canonical form\nbefore %s\n after %s", before, c1)
		}
		if c2, _ := Canonical(e); !bytes.Equal(c1, c2) {
			t.Fatalf("two encodings differ\n%s\n%s", c1, c2)
		}
		if !json.Valid(c1) {
			t.Fatalf("not JSON: %s", c1)
		}
		p, err := ParseCanonical(c1)
		if err != nil {
			t.Fatalf("parse %s: %v", c1, err)
		}
		c3, err := Canonical(p)
		if err != nil || !bytes.Equal(c1, c3) {
			t.Fatalf("round trip changed the encoding (%v)\n%s\n%s", err, c1, c3)
		}
		p.Hash = e.Hash
		wantOK(t, Verify([]Event{p}, Anchor{TenantID: e.TenantID, Seq: e.Seq - 1, Hash: e.PrevHash}))

		// The diff as a JSON column returns it, numbers read as doubles when
		// small enough to be exact, still hashes the same.
		raw, err := json.Marshal(e.Diff)
		if err != nil {
			t.Fatal(err)
		}
		var fromColumn map[string]any
		if err := json.Unmarshal(raw, &fromColumn); err != nil {
			t.Fatal(err)
		}
		if exactAsDoubles(e.Diff) {
			stored := e
			stored.Diff = fromColumn
			if c4, err := Canonical(stored); err != nil || !bytes.Equal(c1, c4) {
				t.Fatalf("diff read back as float64 changed the encoding (%v)\n%s\n%s", err, c1, c4)
			}
		}
	})
}

// exactAsDoubles reports whether every number of v survives float64.
func exactAsDoubles(v any) bool {
	switch v := v.(type) {
	case json.Number:
		if !isIntegerLiteral(string(v)) {
			return true // already a double's shortest form
		}
		f, err := v.Float64()
		return err == nil && math.Abs(f) <= 1<<53
	case []any:
		for _, x := range v {
			if !exactAsDoubles(x) {
				return false
			}
		}
	case map[string]any:
		for _, x := range v {
			if !exactAsDoubles(x) {
				return false
			}
		}
	}
	return true
}
