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

func TestRotateSigningKeepsTheOldKeyForVerification(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before, _, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	newID, retiredID, err := RotateSigning(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, created, err := LoadOrCreate(dir)
	if err != nil || len(created) != 0 {
		t.Fatalf("reload after rotation: %v %v", created, err)
	}
	if retiredID != before.SigningKeyID || after.SigningKeyID != newID || newID == retiredID {
		t.Fatalf("ids: before %s, new %s, retired %s, active now %s", before.SigningKeyID, newID, retiredID, after.SigningKeyID)
	}
	if len(after.Retired) != 1 || after.Retired[0].ID != retiredID || !after.Retired[0].Key.Equal(before.Signing) {
		t.Fatalf("retired keys %+v", after.Retired)
	}
	if string(after.Master) != string(before.Master) {
		t.Fatal("rotating the signing key changed the master key")
	}
}
