// Package auth owns authentication: Ed25519-signed access tokens with key ids
// and a JWKS, sessions with rotating hashed refresh tokens (reuse revokes the
// family), password sign-in with throttling, API keys, and turning a request's
// credentials into the typed caller. What a caller may do is internal/authz.
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vigilhq/vigil/internal/pulid"
)

// ErrInvalidToken is every reason an access token is refused. Callers never
// learn which check failed; logs may.
var ErrInvalidToken = errors.New("invalid or expired access token")

// SigningKey is one Ed25519 key with its key id.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// Claims are Vigil's access-token claims.
type Claims struct {
	jwt.RegisteredClaims
	SessionID pulid.ID `json:"sid"`
	TenantID  pulid.ID `json:"tid,omitempty"`
	Type      string   `json:"typ"`
}

const accessType = "access"

// Issuer signs and verifies access tokens. The first key signs; every key
// verifies, so a rotated-out key keeps working until its tokens expire.
type Issuer struct {
	keys     []SigningKey
	byID     map[string]ed25519.PublicKey
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// IssuerOptions configure an Issuer.
type IssuerOptions struct {
	Issuer   string        // default "vigil"
	Audience string        // default "vigil-api"
	TTL      time.Duration // default 15 minutes
	Now      func() time.Time
}

// NewIssuer returns an issuer that signs with keys[0].
func NewIssuer(keys []SigningKey, o IssuerOptions) (*Issuer, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no signing key")
	}
	if o.Issuer == "" {
		o.Issuer = "vigil"
	}
	if o.Audience == "" {
		o.Audience = "vigil-api"
	}
	if o.TTL == 0 {
		o.TTL = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	byID := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		if k.ID == "" || len(k.Private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("auth: signing key %q is not a valid Ed25519 key", k.ID)
		}
		byID[k.ID] = k.Private.Public().(ed25519.PublicKey)
	}
	return &Issuer{keys: keys, byID: byID, issuer: o.Issuer, audience: o.Audience, ttl: o.TTL, now: o.Now}, nil
}

// TTL is how long an access token lives.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue signs an access token for a session.
func (i *Issuer) Issue(userID, sessionID, tenantID pulid.ID) (string, time.Time, error) {
	now := i.now().Truncate(time.Second)
	exp := now.Add(i.ttl)
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   string(userID),
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		SessionID: sessionID,
		TenantID:  tenantID,
		Type:      accessType,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = i.keys[0].ID
	s, err := t.SignedString(i.keys[0].Private)
	return s, exp, err
}

// forbiddenHeaders would let a token choose its own key; they are refused
// outright, and never fetched.
var forbiddenHeaders = []string{"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit"}

// Verify checks an access token: EdDSA only, a known kid, none of the
// key-bearing headers, issuer, audience, expiry (required), not-before and
// the access type. Every failure is ErrInvalidToken (wrapped with the reason
// for logs).
func (i *Issuer) Verify(token string) (*Claims, error) {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(i.issuer),
		jwt.WithAudience(i.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	claims := &Claims{}
	_, err := p.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		for _, h := range forbiddenHeaders {
			if _, ok := t.Header[h]; ok {
				return nil, fmt.Errorf("header %q not accepted", h)
			}
		}
		kid, ok := t.Header["kid"].(string)
		if !ok {
			return nil, errors.New("no kid")
		}
		key, ok := i.byID[kid]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.Type != accessType || claims.SessionID == "" || claims.Subject == "" || claims.NotBefore == nil {
		return nil, fmt.Errorf("%w: not an access token", ErrInvalidToken)
	}
	return claims, nil
}

// JWKS returns the JSON Web Key Set of the verification keys.
func (i *Issuer) JWKS() []byte {
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range i.keys {
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP", Crv: "Ed25519", Kid: k.ID, Use: "sig", Alg: "EdDSA",
			X: base64.RawURLEncoding.EncodeToString(k.Private.Public().(ed25519.PublicKey)),
		})
	}
	b, _ := json.Marshal(set)
	return b
}
