package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
)

// A browser session: login with cookie sets HttpOnly, SameSite=Strict
// cookies; a mutation carried by the cookie without the CSRF token is
// refused; with it, it passes; refresh works from the cookie alone.
func TestCookieSessionNeedsCSRFToken(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true, dev: true})
	b.signUp(t, "owner@example.com", "Acme")

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	send := func(query string, csrf string) *gqlResponse {
		req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", strings.NewReader(mustJSON(map[string]any{"query": query})))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := &gqlResponse{status: resp.StatusCode, header: resp.Header}
		_ = json.NewDecoder(resp.Body).Decode(out)
		return out
	}
	r := send(`mutation { login(input: {email: "owner@example.com", password: "a long enough password", cookie: true}) { expiresAt } }`, "")
	if len(r.Errors) != 0 {
		t.Fatalf("login: %+v", r.Errors)
	}
	byName := map[string]*http.Cookie{}
	for _, c := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(c)
		if err != nil {
			t.Fatal(err)
		}
		byName[ck.Name] = ck
	}
	for _, name := range []string{"vigil_session", "vigil_refresh"} {
		c := byName[name]
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie %s: %+v", name, c)
		}
	}
	csrf := byName["vigil_csrf"]
	if csrf == nil || csrf.HttpOnly || csrf.Value == "" {
		t.Fatalf("csrf cookie: %+v", csrf)
	}

	// The cookie alone does not authorise a state change.
	if r := send(`mutation { logout }`, ""); r.status != http.StatusForbidden || r.code() != "FORBIDDEN" {
		t.Fatalf("cookie mutation without CSRF token: %d %+v", r.status, r.Errors)
	}
	if r := send(`mutation { logout }`, "wrong"+csrf.Value); r.code() != "FORBIDDEN" {
		t.Fatalf("cookie mutation with a wrong CSRF token: %+v", r.Errors)
	}
	if r := send(`{ viewer { user { email } } }`, csrf.Value); len(r.Errors) != 0 || !strings.Contains(string(r.Data), "owner@example.com") {
		t.Fatalf("cookie query with CSRF token: %+v %s", r.Errors, r.Data)
	}
	// Refresh from the HttpOnly cookie, then log out.
	if r := send(`mutation { refreshSession(refreshToken: "") { expiresAt } }`, csrf.Value); len(r.Errors) != 0 {
		t.Fatalf("refresh from cookie: %+v", r.Errors)
	}
	u, _ := http.NewRequest(http.MethodGet, b.url+"/", nil)
	for _, c := range jar.Cookies(u.URL) {
		if c.Name == "vigil_csrf" {
			csrf = c
		}
	}
	if r := send(`mutation { logout }`, csrf.Value); len(r.Errors) != 0 {
		t.Fatalf("logout with CSRF token: %+v", r.Errors)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Repeated wrong passwords lock the account with RATE_LIMITED and a
// retryAfter; the right password is refused too while locked.
func TestLoginBruteForceIsThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	b.signUp(t, "victim@example.com", "Victim")
	try := func(pw string) *gqlResponse {
		return b.post(t, `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`,
			map[string]any{"i": map[string]any{"email": "victim@example.com", "password": pw}})
	}
	var last *gqlResponse
	for i := range 10 {
		last = try("guess number " + string(rune('a'+i)) + " wrong")
		if last.code() == "RATE_LIMITED" {
			break
		}
		if last.code() != "UNAUTHENTICATED" || last.Errors[0].Message != "invalid email or password" {
			t.Fatalf("attempt %d: %+v", i, last.Errors)
		}
	}
	if last.code() != "RATE_LIMITED" {
		t.Fatalf("10 wrong passwords were not throttled: %+v", last.Errors)
	}
	if ra, _ := last.Errors[0].Extensions["retryAfter"].(float64); ra < 1 {
		t.Fatalf("RATE_LIMITED without retryAfter: %+v", last.Errors[0])
	}
	if r := try("a long enough password"); r.code() != "RATE_LIMITED" {
		t.Fatalf("right password during lockout: %+v", r.Errors)
	}
	// Another account is not affected by the victim's lock.
	b.signUp(t, "other@example.com", "Other")
	b.login(t, "other@example.com", "")
}

// Refresh reuse over the API ends the session, and an access token replayed
// after logout is UNAUTHENTICATED with HTTP 401.
func TestRefreshReuseAndReplayOverHTTP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, setupOpts{identity: true, db: db})
		a := b.signUp(t, "a@example.com", "A")
		refresh := func(tok string) *gqlResponse {
			return b.post(t, `mutation($r: String!) { refreshSession(refreshToken: $r) { accessToken refreshToken } }`, map[string]any{"r": tok})
		}
		r := refresh(a.RefreshToken)
		if len(r.Errors) != 0 {
			t.Fatalf("refresh: %+v", r.Errors)
		}
		var d struct {
			RefreshSession struct{ AccessToken, RefreshToken string }
		}
		_ = json.Unmarshal(r.Data, &d)
		if r := refresh(a.RefreshToken); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("reused refresh token: %+v", r.Errors)
		}
		if r := b.bearer(t, d.RefreshSession.AccessToken, `{ viewer { user { id } } }`, nil); r.status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
			t.Fatalf("access token of a family revoked by reuse: %d %+v", r.status, r.Errors)
		}

		fresh := b.login(t, "a@example.com", "")
		if r := b.bearer(t, fresh.AccessToken, `mutation { logout }`, nil); len(r.Errors) != 0 {
			t.Fatalf("logout: %+v", r.Errors)
		}
		if r := b.bearer(t, fresh.AccessToken, `{ viewer { user { id } } }`, nil); r.status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
			t.Fatalf("access token replayed after logout: %d %+v", r.status, r.Errors)
		}
		// A refresh token is not an access token.
		if r := b.bearer(t, fresh.RefreshToken, `{ viewer { user { id } } }`, nil); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("refresh token as access token: %+v", r.Errors)
		}
	})
}

func TestJWKSEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true})
	var set struct{ Keys []map[string]string }
	if code := getJSON(t, b.url+"/.well-known/jwks.json", &set); code != 200 || len(set.Keys) != 1 || set.Keys[0]["kty"] != "OKP" || set.Keys[0]["d"] != "" {
		t.Fatalf("jwks %d %+v", code, set)
	}
}

func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{identity: true, cors: []string{"https://portal.example"}})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, b.url+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := preflight("https://portal.example"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://portal.example" || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("https://evil.example"); r.StatusCode != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin preflight: %d %v", r.StatusCode, r.Header)
	}
}

// vigil serve --tls-cert/--tls-key: TLS 1.2 or newer only, with HSTS.
func TestTLSWithHSTS(t *testing.T) {
	t.Parallel()
	certFile, keyFile := selfSigned(t)
	b := setup(t, setupOpts{identity: true, tlsCert: certFile, tlsKey: keyFile})
	url := strings.Replace(b.url, "http://", "https://", 1)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HSTS %q, TLS %+v", resp.Header.Get("Strict-Transport-Security"), resp.TLS)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(url + "/healthz"); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}
