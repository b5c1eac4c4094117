package pulid

import "testing"

func TestNewHasPrefixAndIsUnique(t *testing.T) {
	t.Parallel()
	seen := map[ID]bool{}
	for range 1000 {
		id := New("tnt")
		if got := id.Prefix(); got != "tnt" {
			t.Fatalf("Prefix(%q) = %q, want tnt", id, got)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestPrefixRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "tnt", "tnt_", "_01JD3Z7Q9W0M6N2V4S8K1F5R3T", "tnt_short", "tnt_01JD3Z7Q9W0M6N2V4S8K1F5R3!", "../etc/passwd"} {
		if p := ID(s).Prefix(); p != "" {
			t.Errorf("Prefix(%q) = %q, want empty", s, p)
		}
	}
}
