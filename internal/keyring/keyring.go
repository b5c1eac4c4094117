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
	Master       []byte // 32 bytes
	Dir          string
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
	sum := sha256.Sum256(k.Signing.Public().(ed25519.PublicKey))
	k.SigningKeyID = hex.EncodeToString(sum[:8])

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
