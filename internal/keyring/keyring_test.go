package keyring

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKeepsKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 {
		t.Fatalf("created %v, want both key files", created)
	}
	for _, f := range created {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600 (%v)", f, st.Mode().Perm(), err)
		}
	}
	k2, created, err := LoadOrCreate(dir)
	if err != nil || len(created) != 0 {
		t.Fatalf("second load created %v, %v", created, err)
	}
	if !k1.Signing.Equal(k2.Signing) || string(k1.Master) != string(k2.Master) || k1.SigningKeyID != k2.SigningKeyID {
		t.Fatal("keys changed between loads")
	}
}

func TestCorruptKeyIsAnErrorNotAReplacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "keys", MasterFile)
	if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("corrupt master key accepted")
	}
}
