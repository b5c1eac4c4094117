package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigilhq/vigil/internal/caller"
)

// Cookie names of browser sessions.
const (
	AccessCookie  = "vigil_session"
	RefreshCookie = "vigil_refresh"
	CSRFCookie    = "vigil_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// AuthenticateRequest finds the caller of an HTTP request: a Bearer access
// token or API key in Authorization, else the browser session cookie. A
// cookie-authenticated request that is not GET or HEAD must also send the
// CSRF cookie's value in X-CSRF-Token (double submit), so another site cannot
// ride on the cookie. No credentials: (nil, nil), an anonymous request.
func (s *Service) AuthenticateRequest(r *http.Request) (*caller.Caller, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		return s.AuthenticateBearer(ctx, h)
	}
	ck, err := r.Cookie(AccessCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		csrf, err := r.Cookie(CSRFCookie)
		sent := r.Header.Get(CSRFHeader)
		if err != nil || csrf.Value == "" || sent == "" || subtle.ConstantTimeCompare([]byte(csrf.Value), []byte(sent)) != 1 {
			return nil, ErrCSRF
		}
	}
	return s.Authenticate(ctx, ck.Value)
}

// AuthenticateBearer finds the caller of an Authorization value
// "Bearer <access token or API key>" (HTTP header, or a websocket's
// connection_init payload).
func (s *Service) AuthenticateBearer(ctx context.Context, h string) (*caller.Caller, error) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, ErrUnauthenticated
	}
	if LooksLikeAPIKey(cred) {
		return s.AuthenticateAPIKey(ctx, cred)
	}
	return s.Authenticate(ctx, cred)
}

// ClientOf describes the request's origin. The peer address is used as is:
// Vigil does not trust X-Forwarded-For unless a proxy setting says so (later).
func ClientOf(r *http.Request) Client {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return Client{IP: ip, UserAgent: r.UserAgent()}
}

// CookieJar collects cookies that resolvers set during a GraphQL request; the
// server writes them before the response.
type CookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
	Secure  bool
	// Refresh is the request's refresh-token cookie, for refreshSession
	// called by a browser that cannot read it.
	Refresh string
}

type jarKey struct{}

// WithCookieJar returns ctx carrying a new jar for request r.
func WithCookieJar(ctx context.Context, r *http.Request, secure bool) (context.Context, *CookieJar) {
	j := &CookieJar{Secure: secure}
	if c, err := r.Cookie(RefreshCookie); err == nil {
		j.Refresh = c.Value
	}
	return context.WithValue(ctx, jarKey{}, j), j
}

// RefreshFromCookie returns the refresh-token cookie of the request, if any.
func RefreshFromCookie(ctx context.Context) string {
	if j, ok := ctx.Value(jarKey{}).(*CookieJar); ok {
		return j.Refresh
	}
	return ""
}

// Cookies returns what was set.
func (j *CookieJar) Cookies() []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*http.Cookie(nil), j.cookies...)
}

func (j *CookieJar) set(c *http.Cookie) {
	c.Secure = j.Secure
	c.SameSite = http.SameSiteStrictMode
	j.mu.Lock()
	j.cookies = append(j.cookies, c)
	j.mu.Unlock()
}

// SetSessionCookies makes the browser hold the session: the access token and
// refresh token HttpOnly, the CSRF token readable by the page's script.
func SetSessionCookies(ctx context.Context, t *Tokens, refreshTTL time.Duration) bool {
	j, ok := ctx.Value(jarKey{}).(*CookieJar)
	if !ok {
		return false
	}
	csrf := make([]byte, 32)
	_, _ = rand.Read(csrf)
	j.set(&http.Cookie{Name: AccessCookie, Value: t.AccessToken, Path: "/", HttpOnly: true, Expires: t.ExpiresAt})
	j.set(&http.Cookie{Name: RefreshCookie, Value: t.RefreshToken, Path: "/graphql", HttpOnly: true, MaxAge: int(refreshTTL.Seconds())})
	j.set(&http.Cookie{Name: CSRFCookie, Value: base64.RawURLEncoding.EncodeToString(csrf), Path: "/"})
	return true
}

// ClearSessionCookies removes them (logout).
func ClearSessionCookies(ctx context.Context) {
	j, ok := ctx.Value(jarKey{}).(*CookieJar)
	if !ok {
		return
	}
	for _, n := range []string{AccessCookie, CSRFCookie} {
		j.set(&http.Cookie{Name: n, Path: "/", MaxAge: -1})
	}
	j.set(&http.Cookie{Name: RefreshCookie, Path: "/graphql", MaxAge: -1})
}

// RefreshTTL is how long sessions last.
func (s *Service) RefreshTTL() time.Duration { return s.opt.RefreshTTL }
