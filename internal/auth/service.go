package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/ent/apikey"
	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/ent/refreshtoken"
	"github.com/vigilhq/vigil/ent/session"
	"github.com/vigilhq/vigil/ent/user"
	"github.com/vigilhq/vigil/internal/account"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/password"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/tenancy"
)

// Throttle limits failed sign-ins per account and per client address
// (internal/ratelimit.LoginThrottle).
type Throttle interface {
	Check(ctx context.Context, account, ip string) (time.Duration, error)
	Failure(ctx context.Context, account, ip string) error
	Success(ctx context.Context, account string) error
}

// Options configure the Service.
type Options struct {
	Password   password.Params
	RefreshTTL time.Duration // default 30 days
	SignUp     bool          // public sign-up allowed
	Throttle   Throttle      // nil: no throttling
}

// Service signs users in and out and authenticates requests.
type Service struct {
	db        *database.DB
	issuer    *Issuer
	opt       Options
	dummyHash string
	now       func() time.Time
}

// NewService builds the service.
func NewService(db *database.DB, issuer *Issuer, o Options) (*Service, error) {
	if o.RefreshTTL == 0 {
		o.RefreshTTL = 30 * 24 * time.Hour
	}
	if o.Password.KeyLen == 0 {
		o.Password = password.Default
	}
	// Unknown accounts are checked against this hash so that they cost the
	// same time as a wrong password.
	dummy, err := password.Hash("not a real password, never matches", o.Password)
	if err != nil {
		return nil, err
	}
	return &Service{db: db, issuer: issuer, opt: o, dummyHash: dummy, now: time.Now}, nil
}

// Issuer returns the access-token issuer (for the JWKS endpoint).
func (s *Service) Issuer() *Issuer { return s.issuer }

// Client describes where a request comes from, for sessions and throttling.
type Client struct {
	IP        string
	UserAgent string
}

// Tokens are what a sign-in or refresh returns.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	User         *ent.User
	Tenant       *ent.Tenant // nil for a user with no tenant
	SessionID    pulid.ID
}

func system(ctx context.Context) context.Context {
	return caller.With(ctx, caller.System("auth"))
}

// SignUp creates a user and a tenant with the user as OWNER, and signs in.
func (s *Service) SignUp(ctx context.Context, email, pw, tenantName string, cl Client) (*Tokens, error) {
	if !s.opt.SignUp {
		return nil, ErrSignUpDisabled
	}
	sys := system(ctx)
	var out *Tokens
	err := s.db.WithTx(sys, func(tx *ent.Tx) error {
		c := tx.Client()
		u, err := account.CreateUser(sys, c, account.NewUser{Email: email, Password: pw}, s.opt.Password)
		if err != nil {
			return badInput("%v", err)
		}
		t, err := tenancy.CreateTenant(sys, c, tenantName, uniqueSlug(tenantName))
		if err != nil {
			return badInput("%v", err)
		}
		if _, err := tenancy.AddMember(sys, c, t.ID, u.ID, membership.RoleOWNER); err != nil {
			return err
		}
		out, err = s.startSession(sys, c, u, t, cl)
		return err
	})
	return out, err
}

// uniqueSlug derives a slug and adds a random suffix, so that two sign-ups
// with one company name do not collide (and do not reveal each other).
func uniqueSlug(name string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	base := tenancy.Slugify(name)
	if len(base) > 56 {
		base = strings.TrimRight(base[:56], "-")
	}
	if base == "" {
		base = "tenant"
	}
	return base + "-" + hex.EncodeToString(b)
}

// Login checks a password and starts a session in tenantID, or in the user's
// oldest membership when tenantID is empty.
func (s *Service) Login(ctx context.Context, email, pw string, tenantID pulid.ID, cl Client) (*Tokens, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if s.opt.Throttle != nil {
		wait, err := s.opt.Throttle.Check(ctx, email, cl.IP)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return nil, rateLimited(wait)
		}
	}
	sys := system(ctx)
	u, err := s.db.Ent.User.Query().Where(user.Email(email)).Only(sys)
	hash := s.dummyHash
	if err == nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, rehash, verr := password.Verify(pw, hash, s.opt.Password)
	if err != nil || verr != nil || !ok || u.Disabled {
		if s.opt.Throttle != nil {
			_ = s.opt.Throttle.Failure(ctx, email, cl.IP)
		}
		return nil, ErrBadCredentials
	}
	if s.opt.Throttle != nil {
		_ = s.opt.Throttle.Success(ctx, email)
	}
	if rehash {
		if h, err := password.Hash(pw, s.opt.Password); err == nil {
			_ = s.db.Ent.User.UpdateOne(u).SetPasswordHash(h).Exec(sys)
		}
	}
	q := s.db.Ent.Membership.Query().Where(membership.UserID(u.ID)).Order(ent.Asc(membership.FieldCreatedAt)).WithTenant()
	if tenantID != "" {
		q = q.Where(membership.TenantID(tenantID))
	}
	m, err := q.First(sys)
	if ent.IsNotFound(err) {
		if tenantID != "" {
			return nil, &Error{Code: "FORBIDDEN", Msg: "you are not a member of that tenant"}
		}
		return nil, &Error{Code: "FORBIDDEN", Msg: "you are not a member of any tenant"}
	}
	if err != nil {
		return nil, err
	}
	var out *Tokens
	err = s.db.WithTx(sys, func(tx *ent.Tx) error {
		out, err = s.startSession(sys, tx.Client(), u, m.Edges.Tenant, cl)
		return err
	})
	return out, err
}

func (s *Service) startSession(ctx context.Context, c *ent.Client, u *ent.User, t *ent.Tenant, cl Client) (*Tokens, error) {
	now := s.now()
	sc := c.Session.Create().
		SetUserID(u.ID).
		SetExpiresAt(now.Add(s.opt.RefreshTTL)).
		SetLastSeenAt(now).
		SetUserAgent(truncate(cl.UserAgent, 512)).
		SetIP(truncate(cl.IP, 64))
	if t != nil {
		sc.SetTenantID(t.ID)
	}
	sess, err := sc.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s.issue(ctx, c, u, t, sess)
}

func (s *Service) issue(ctx context.Context, c *ent.Client, u *ent.User, t *ent.Tenant, sess *ent.Session) (*Tokens, error) {
	refresh, hash := newRefreshToken()
	expires := sess.ExpiresAt
	if _, err := c.RefreshToken.Create().SetSessionID(sess.ID).SetTokenHash(hash).SetExpiresAt(expires).Save(ctx); err != nil {
		return nil, fmt.Errorf("store refresh token: %w", err)
	}
	var tid pulid.ID
	if t != nil {
		tid = t.ID
	}
	access, exp, err := s.issuer.Issue(u.ID, sess.ID, tid)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, User: u, Tenant: t, SessionID: sess.ID}, nil
}

const refreshPrefix = "vgr_"

func newRefreshToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = refreshPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashSecret(token)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Refresh exchanges a refresh token for a new pair. A token that was used
// before revokes its whole session: someone else holds a copy.
func (s *Service) Refresh(ctx context.Context, token string, cl Client) (*Tokens, error) {
	if !strings.HasPrefix(token, refreshPrefix) {
		return nil, ErrSessionEnded
	}
	sys := system(ctx)
	var out *Tokens
	var reused pulid.ID
	err := s.db.WithTx(sys, func(tx *ent.Tx) error {
		c := tx.Client()
		rt, err := c.RefreshToken.Query().Where(refreshtoken.TokenHash(hashSecret(token))).WithSession().Only(sys)
		if ent.IsNotFound(err) {
			return ErrSessionEnded
		}
		if err != nil {
			return err
		}
		now := s.now()
		sess := rt.Edges.Session
		if sess.RevokedAt != nil || now.After(sess.ExpiresAt) || now.After(rt.ExpiresAt) {
			return ErrSessionEnded
		}
		// Mark used only if nobody did in the meantime: two uses of one
		// token, even concurrent, are reuse.
		n, err := c.RefreshToken.Update().Where(refreshtoken.ID(rt.ID), refreshtoken.UsedAtIsNil()).SetUsedAt(now).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			reused = sess.ID
			return ErrSessionEnded
		}
		u, err := c.User.Get(sys, sess.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return ErrSessionEnded
		}
		var t *ent.Tenant
		if sess.TenantID != "" {
			// The role may have been removed since sign-in.
			m, err := c.Membership.Query().Where(membership.UserID(u.ID), membership.TenantID(sess.TenantID)).WithTenant().Only(sys)
			if err != nil {
				return ErrSessionEnded
			}
			t = m.Edges.Tenant
		}
		sess, err = c.Session.UpdateOne(sess).SetLastSeenAt(now).SetIP(truncate(cl.IP, 64)).Save(sys)
		if err != nil {
			return err
		}
		out, err = s.issue(sys, c, u, t, sess)
		return err
	})
	if reused != "" {
		// Outside the failed transaction: the revocation must stick.
		if rerr := s.revoke(sys, reused, "refresh_token_reuse"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	return out, err
}

// Logout ends a session at once: its access tokens stop working on the next
// request and its refresh tokens are dead.
func (s *Service) Logout(ctx context.Context, sessionID pulid.ID) error {
	return s.revoke(system(ctx), sessionID, "logout")
}

// RevokeSession ends one of userID's sessions. Another user's session
// answers like a missing one.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID pulid.ID) (*ent.Session, error) {
	sys := system(ctx)
	sess, err := s.db.Ent.Session.Query().Where(session.ID(sessionID), session.UserID(userID)).Only(sys)
	if err != nil {
		return nil, err
	}
	if err := s.revoke(sys, sess.ID, "revoked"); err != nil {
		return nil, err
	}
	return s.db.Ent.Session.Get(sys, sess.ID)
}

// RevokeUserSessions ends every session of a user (password change, account
// disabled, removal from a tenant), optionally only those acting in tenantID.
func (s *Service) RevokeUserSessions(ctx context.Context, userID, tenantID pulid.ID, reason string) error {
	sys := system(ctx)
	q := s.db.Ent.Session.Update().Where(session.UserID(userID), session.RevokedAtIsNil())
	if tenantID != "" {
		q = q.Where(session.TenantID(tenantID))
	}
	return q.SetRevokedAt(s.now()).SetRevokeReason(reason).Exec(sys)
}

func (s *Service) revoke(ctx context.Context, id pulid.ID, reason string) error {
	return s.db.Ent.Session.Update().Where(session.ID(id), session.RevokedAtIsNil()).
		SetRevokedAt(s.now()).SetRevokeReason(reason).Exec(ctx)
}

// Authenticate turns an access token into a caller. The session the token
// names is checked on every request, so logout, revocation, disabling and
// role removal take effect at once.
func (s *Service) Authenticate(ctx context.Context, token string) (*caller.Caller, error) {
	claims, err := s.issuer.Verify(token)
	if err != nil {
		return nil, unauthenticated(err)
	}
	sys := system(ctx)
	sess, err := s.db.Ent.Session.Query().Where(session.ID(claims.SessionID)).WithUser().Only(sys)
	if err != nil {
		return nil, unauthenticated(err)
	}
	u := sess.Edges.User
	if sess.RevokedAt != nil || u.Disabled || string(u.ID) != claims.Subject || sess.TenantID != claims.TenantID {
		return nil, unauthenticated(errors.New("session ended"))
	}
	c := &caller.Caller{Kind: caller.KindUser, Name: u.Email, UserID: u.ID, SessionID: sess.ID, Superadmin: u.Superadmin}
	if sess.TenantID != "" {
		m, err := s.db.Ent.Membership.Query().Where(membership.UserID(u.ID), membership.TenantID(sess.TenantID)).Only(sys)
		if err != nil {
			return nil, unauthenticated(fmt.Errorf("no longer a member: %w", err))
		}
		c.TenantID, c.Role = sess.TenantID, string(m.Role)
	}
	return c, nil
}

// API keys look like vgl_<lookup>_<secret>: the lookup finds the row, the
// whole string's SHA-256 is compared in constant time.
const apiKeyPrefix = "vgl_"

// NewAPIKeySecret returns a fresh key string and what to store of it.
func NewAPIKeySecret() (secret, lookup, hash string) {
	l := make([]byte, 8)
	k := make([]byte, 32)
	_, _ = rand.Read(l)
	_, _ = rand.Read(k)
	lookup = hex.EncodeToString(l)
	secret = apiKeyPrefix + lookup + "_" + base64.RawURLEncoding.EncodeToString(k)
	return secret, lookup, hashSecret(secret)
}

// LooksLikeAPIKey tells API keys from JWTs in an Authorization header.
func LooksLikeAPIKey(s string) bool { return strings.HasPrefix(s, apiKeyPrefix) }

// AuthenticateAPIKey turns an API key into a caller.
func (s *Service) AuthenticateAPIKey(ctx context.Context, secret string) (*caller.Caller, error) {
	rest, ok := strings.CutPrefix(secret, apiKeyPrefix)
	lookup, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(lookup) != 16 {
		return nil, unauthenticated(errors.New("malformed API key"))
	}
	sys := system(ctx)
	k, err := s.db.Ent.APIKey.Query().Where(apikey.Lookup(lookup)).Only(sys)
	if err != nil {
		return nil, unauthenticated(err)
	}
	if subtle.ConstantTimeCompare([]byte(k.SecretHash), []byte(hashSecret(secret))) != 1 {
		return nil, unauthenticated(errors.New("wrong secret"))
	}
	now := s.now()
	if k.RevokedAt != nil || (k.ExpiresAt != nil && now.After(*k.ExpiresAt)) {
		return nil, unauthenticated(errors.New("revoked or expired"))
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		_ = s.db.Ent.APIKey.UpdateOne(k).SetLastUsedAt(now).Exec(sys)
	}
	kind := caller.KindAPIKey
	if k.Role == apikey.RolePARTNER {
		kind = caller.KindPartner
	}
	return &caller.Caller{Kind: kind, Name: k.Name, APIKeyID: k.ID, TenantID: k.TenantID, Role: string(k.Role), Scopes: k.Scopes}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Scopes an API key may carry.
var Scopes = []string{"events:write", "events:read", "alerts:read", "alerts:write", "alerts:subscribe", "rules:read", "intel:read"}

// CheckScopes refuses unknown scopes, naming them.
func CheckScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("an API key needs at least one scope: %s", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		known := false
		for _, k := range Scopes {
			known = known || s == k
		}
		if !known {
			return fmt.Errorf("unknown scope %q; use %s", s, strings.Join(Scopes, ", "))
		}
	}
	return nil
}

// ChangePassword replaces a user's password after checking the current one,
// and ends every other session of the user at once.
func (s *Service) ChangePassword(ctx context.Context, userID, keepSession pulid.ID, current, next string) error {
	sys := system(ctx)
	u, err := s.db.Ent.User.Get(sys, userID)
	if err != nil {
		return err
	}
	// The current password is guessed against the same budget as sign-in.
	cl := ClientFrom(ctx)
	if s.opt.Throttle != nil {
		if wait, err := s.opt.Throttle.Check(ctx, u.Email, cl.IP); err != nil {
			return err
		} else if wait > 0 {
			return rateLimited(wait)
		}
	}
	ok, _, err := password.Verify(current, u.PasswordHash, s.opt.Password)
	if err != nil || !ok {
		if s.opt.Throttle != nil {
			_ = s.opt.Throttle.Failure(ctx, u.Email, cl.IP)
		}
		return ErrBadCredentials
	}
	if err := password.Check(next); err != nil {
		return badInput("%v", err)
	}
	hash, err := password.Hash(next, s.opt.Password)
	if err != nil {
		return err
	}
	return s.db.WithTx(sys, func(tx *ent.Tx) error {
		if err := tx.User.UpdateOneID(userID).SetPasswordHash(hash).Exec(sys); err != nil {
			return err
		}
		return tx.Session.Update().
			Where(session.UserID(userID), session.RevokedAtIsNil(), session.IDNEQ(keepSession)).
			SetRevokedAt(s.now()).SetRevokeReason("password_changed").Exec(sys)
	})
}

// Recheck answers whether c, authenticated earlier (an open websocket), may
// still act: its session is not ended and it is still a member, or its API
// key is not revoked or expired. It returns c with its current role.
func (s *Service) Recheck(ctx context.Context, c *caller.Caller) (*caller.Caller, error) {
	sys := system(ctx)
	now := s.now()
	out := *c
	switch c.Kind {
	case caller.KindUser:
		sess, err := s.db.Ent.Session.Query().Where(session.ID(c.SessionID)).WithUser().Only(sys)
		if err != nil {
			return nil, unauthenticated(fmt.Errorf("session: %w", err))
		}
		if sess.RevokedAt != nil || sess.Edges.User.Disabled {
			return nil, unauthenticated(errors.New("session ended"))
		}
		if c.TenantID != "" {
			m, err := s.db.Ent.Membership.Query().Where(membership.UserID(c.UserID), membership.TenantID(c.TenantID)).Only(sys)
			if err != nil {
				return nil, unauthenticated(fmt.Errorf("no longer a member: %w", err))
			}
			out.Role = string(m.Role)
		}
	case caller.KindAPIKey, caller.KindPartner:
		k, err := s.db.Ent.APIKey.Query().Where(apikey.ID(c.APIKeyID)).Only(sys)
		if err != nil {
			return nil, unauthenticated(fmt.Errorf("api key: %w", err))
		}
		if k.RevokedAt != nil || (k.ExpiresAt != nil && now.After(*k.ExpiresAt)) {
			return nil, unauthenticated(errors.New("api key revoked or expired"))
		}
		out.Role, out.Scopes = string(k.Role), k.Scopes
	}
	return &out, nil
}
