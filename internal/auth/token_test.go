package auth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testIssuer(t *testing.T, now func() time.Time) (*Issuer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	i, err := NewIssuer([]SigningKey{{ID: "k1", Private: priv}}, IssuerOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return i, priv
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parts(tok string) (header, payload map[string]any, sig string) {
	p := strings.Split(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(p[0])
	pb, _ := base64.RawURLEncoding.DecodeString(p[1])
	_ = json.Unmarshal(hb, &header)
	_ = json.Unmarshal(pb, &payload)
	return header, payload, p[2]
}

// signEd signs header.payload with priv as a legitimate EdDSA token would be.
func signEd(priv ed25519.PrivateKey, header, payload map[string]any) string {
	in := b64(header) + "." + b64(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

// Each forged or stale token is refused with ErrInvalidToken; a JWT-only
// check, before any database is involved. (The service tests add the
// checks that need a session: replay after logout, refresh token as access.)
func TestAccessTokenAttacks(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	iss, priv := testIssuer(t, clock)
	good, _, err := iss.Issue("usr_1", "ses_1", "tnt_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(good); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	h, p, sig := parts(good)
	with := func(m map[string]any, k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pub := priv.Public().(ed25519.PublicKey)
	hmacWithPub := func() string {
		hh := with(h, "alg", "HS256")
		in := b64(hh) + "." + b64(p)
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	_, attackerKey, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerKey.Public().(ed25519.PublicKey))}

	// A local listener: if the verifier ever fetched a jku/x5u URL, it would
	// connect here, and the test would notice.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fetched := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			fetched <- struct{}{}
			c.Close()
		}
	}()
	evil := "http://" + ln.Addr().String() + "/jwks.json"

	cases := map[string]string{
		"empty signature":           b64(h) + "." + b64(p) + ".",
		"payload edited, old sig":   b64(h) + "." + b64(with(p, "tid", "tnt_other")) + "." + sig,
		"HS256 with the public key": hmacWithPub(),
		"embedded jwk":              signEd(attackerKey, with(h, "jwk", attackerJWK), p),
		"jku header":                signEd(attackerKey, with(h, "jku", evil), p),
		"x5u header":                signEd(attackerKey, with(h, "x5u", evil), p),
		"unknown kid":               signEd(priv, with(h, "kid", "k2"), p),
		"path-like kid":             signEd(priv, with(h, "kid", "../../keys/signing-ed25519.pem"), p),
		"no kid":                    signEd(priv, with(h, "kid", nil), p),
		"signed by another key":     signEd(attackerKey, h, p),
		"expired":                   signEd(priv, h, with(p, "exp", now.Add(-time.Minute).Unix())),
		"nbf in the future":         signEd(priv, h, with(p, "nbf", now.Add(time.Hour).Unix())),
		"missing exp":               signEd(priv, h, with(p, "exp", nil)),
		"missing nbf":               signEd(priv, h, with(p, "nbf", nil)),
		"wrong aud":                 signEd(priv, h, with(p, "aud", []string{"someone-else"})),
		"wrong iss":                 signEd(priv, h, with(p, "iss", "evil")),
		"not an access token":       signEd(priv, h, with(p, "typ", "refresh")),
		"no session":                signEd(priv, h, with(p, "sid", nil)),
		"refresh token as access":   "vgr_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"garbage":                   "a.b.c",
		"empty":                     "",
	}
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		cases["alg "+alg] = b64(with(h, "alg", alg)) + "." + b64(p) + "."
		cases["alg "+alg+" with sig"] = b64(with(h, "alg", alg)) + "." + b64(p) + "." + sig
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := iss.Verify(tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted (err = %v)", err)
			}
		})
	}
	t.Cleanup(func() {
		select {
		case <-fetched:
			t.Error("the verifier fetched a key URL from a token header")
		default:
		}
	})
	_ = jwt.SigningMethodEdDSA
}

func TestJWKSPublishesVerificationKeys(t *testing.T) {
	t.Parallel()
	iss, priv := testIssuer(t, nil)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("%v %s", err, iss.JWKS())
	}
	k := set.Keys[0]
	x, _ := base64.RawURLEncoding.DecodeString(k["x"])
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["kid"] != "k1" || k["alg"] != "EdDSA" || !ed25519.PublicKey(x).Equal(priv.Public()) {
		t.Fatalf("bad JWK %v", k)
	}
	if _, ok := k["d"]; ok {
		t.Fatal("JWKS leaks the private key")
	}
}

// A token signed with a rotated-out key still verifies while a newer key signs.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	_, oldKey, _ := ed25519.GenerateKey(rand.Reader)
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	before, _ := NewIssuer([]SigningKey{{ID: "old", Private: oldKey}}, IssuerOptions{})
	tok, _, _ := before.Issue("usr_1", "ses_1", "")
	after, _ := NewIssuer([]SigningKey{{ID: "new", Private: newKey}, {ID: "old", Private: oldKey}}, IssuerOptions{})
	if _, err := after.Verify(tok); err != nil {
		t.Fatalf("old token refused after rotation: %v", err)
	}
	fresh, _, _ := after.Issue("usr_1", "ses_1", "")
	if h, _, _ := parts(fresh); h["kid"] != "new" {
		t.Fatalf("new tokens signed with %v", h["kid"])
	}
}
