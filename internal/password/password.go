// Package password hashes and verifies passwords with argon2id, stored in the
// PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so that parameters
// can be raised later and old hashes recognised for rehashing.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32
	KeyLen      uint32
}

// Default is at or above OWASP's current argon2id minimum (19 MiB, t=2, p=1
// or equivalents): 64 MiB, t=1, p=2 costs about 185 ms on two cores.
var Default = Params{MemoryKiB: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32}

// Length bounds for a new password.
const (
	MinLength = 12
	MaxLength = 128
)

// Errors callers branch on.
var (
	ErrTooShort  = fmt.Errorf("password must be at least %d characters", MinLength)
	ErrTooLong   = fmt.Errorf("password must be at most %d characters", MaxLength)
	ErrMalformed = errors.New("password hash is not a valid argon2id PHC string")
)

// Check validates a new password's length (in characters, not bytes).
func Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	return nil
}

// Hash returns the PHC string of pw under p.
func Hash(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches hash, and whether hash was made with
// parameters other than want (so the caller should store a fresh hash).
func Verify(pw, hash string, want Params) (ok, rehash bool, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, false, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return false, false, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, false, ErrMalformed
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return false, false, ErrMalformed
	}
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.MemoryKiB != want.MemoryKiB || p.Iterations != want.Iterations || p.Parallelism != want.Parallelism ||
		uint32(len(salt)) != want.SaltLen || uint32(len(key)) != want.KeyLen
	return ok, rehash, nil
}
