// Package account owns user accounts: creating them with a checked, hashed
// password and a normalised email. Sign-in and sessions live in internal/auth.
package account

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/mail"
	"strings"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/password"
)

// NewUser is what CreateUser needs.
type NewUser struct {
	Email       string
	DisplayName string
	Password    string
	Superadmin  bool
}

// NormalizeEmail checks an address and lower-cases it.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email, "@") {
		return "", fmt.Errorf("%q is not an email address", email)
	}
	return strings.ToLower(email), nil
}

// CreateUser creates an account.
func CreateUser(ctx context.Context, c *ent.Client, u NewUser, p password.Params) (*ent.User, error) {
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return nil, err
	}
	if err := password.Check(u.Password); err != nil {
		return nil, err
	}
	hash, err := password.Hash(u.Password, p)
	if err != nil {
		return nil, err
	}
	usr, err := c.User.Create().
		SetEmail(email).
		SetDisplayName(u.DisplayName).
		SetPasswordHash(hash).
		SetSuperadmin(u.Superadmin).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fmt.Errorf("a user with email %s exists already", email)
	}
	return usr, err
}

// GeneratePassword returns a random 24-character password.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
