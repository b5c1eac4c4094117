// Package keyring owns the keys Vigil generates for itself on first start and
// keeps in the data directory: the Ed25519 key that signs access tokens and
// audit checkpoints, and the master key that wraps data-encryption keys. Files
// are created with mode 0600 in a 0700 directory and never overwritten.
package keyring

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names inside <data-dir>/keys.
const (
	SigningFile = "signing-ed25519.pem"
	MasterFile  = "master.key"
)

// Keys are the loaded keys.
type Keys struct {
	Signing      ed25519.PrivateKey
	SigningKeyID string // kid: a hash of the public key
	// Retired signing keys still verify tokens they signed; see RotateSigning.
	Retired []RetiredKey
	Master  []byte // 32 bytes
	Dir     string
}

// RetiredKey is a signing key that no longer signs but still verifies.
type RetiredKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// LoadOrCreate loads the keys under dataDir/keys, creating any that are
// missing. created lists the files it wrote.
func LoadOrCreate(dataDir string) (k *Keys, created []string, err error) {
	dir := filepath.Join(dataDir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create key directory %s: %w", dir, err)
	}
	k = &Keys{Dir: dir}

	signPath := filepath.Join(dir, SigningFile)
	k.Signing, err = loadSigning(signPath)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, nil, gerr
		}
		der, merr := x509.MarshalPKCS8PrivateKey(priv)
		if merr != nil {
			return nil, nil, merr
		}
		if err = writeNew(signPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, nil, err
		}
		k.Signing, created = priv, append(created, signPath)
	} else if err != nil {
		return nil, nil, err
	}
	k.SigningKeyID = KeyID(k.Signing)
	retired, err := filepath.Glob(filepath.Join(dir, "signing-ed25519.*.pem"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(retired)
	for _, path := range retired {
		key, err := loadSigning(path)
		if err != nil {
			return nil, nil, err
		}
		k.Retired = append(k.Retired, RetiredKey{ID: KeyID(key), Key: key})
	}

	masterPath := filepath.Join(dir, MasterFile)
	k.Master, err = loadMaster(masterPath)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, nil, err
		}
		if err = writeNew(masterPath, []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
			return nil, nil, err
		}
		k.Master, created = key, append(created, masterPath)
	} else if err != nil {
		return nil, nil, err
	}
	return k, created, nil
}

// KeyID names a signing key in token headers: a hash of its public key.
func KeyID(k ed25519.PrivateKey) string {
	sum := sha256.Sum256(k.Public().(ed25519.PublicKey))
	return hex.EncodeToString(sum[:8])
}

// RotateSigning makes a new signing key active and keeps the previous one
// as signing-ed25519.<kid>.pem, so tokens it signed verify until they expire.
// Running servers pick the new key up when restarted. Retired files can be
// deleted once the access-token lifetime (15 minutes) has passed.
func RotateSigning(dataDir string) (newID, retiredID string, err error) {
	k, _, err := LoadOrCreate(dataDir)
	if err != nil {
		return "", "", err
	}
	active := filepath.Join(k.Dir, SigningFile)
	old, err := os.ReadFile(active)
	if err != nil {
		return "", "", err
	}
	if err := writeNew(filepath.Join(k.Dir, "signing-ed25519."+k.SigningKeyID+".pem"), old); err != nil {
		return "", "", err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	tmp := active + ".new"
	_ = os.Remove(tmp)
	if err := writeNew(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, active); err != nil {
		return "", "", err
	}
	return KeyID(priv), k.SigningKeyID, nil
}

func loadSigning(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return priv, nil
}

func loadMaster(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes in base64", path)
	}
	return key, nil
}

// writeNew writes a file that must not exist yet, readable by the owner only.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
