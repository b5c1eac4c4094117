package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/ent/membership"
	"github.com/vigilhq/vigil/ent/session"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/password"
)

var cheap = password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

type testBundle struct {
	db  *database.DB
	svc *auth.Service
	ctx context.Context
}

func setup(t *testing.T, db *database.DB, throttle auth.Throttle) *testBundle {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	iss, err := auth.NewIssuer([]auth.SigningKey{{ID: "k1", Private: priv}}, auth.IssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.NewService(db, iss, auth.Options{Password: cheap, SignUp: true, Throttle: throttle})
	if err != nil {
		t.Fatal(err)
	}
	return &testBundle{db: db, svc: svc, ctx: context.Background()}
}

func code(err error) string {
	var e *auth.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestSignUpLoginAuthenticate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		cl := auth.Client{IP: "192.0.2.1", UserAgent: "test"}
		tok, err := b.svc.SignUp(b.ctx, "Owner@Example.com", "a long enough password", "Acme Corp", cl)
		if err != nil {
			t.Fatal(err)
		}
		if tok.User.Email != "owner@example.com" || tok.Tenant == nil || tok.Tenant.Name != "Acme Corp" {
			t.Fatalf("sign-up result %+v", tok)
		}
		c, err := b.svc.Authenticate(b.ctx, tok.AccessToken)
		if err != nil || c.Role != "OWNER" || c.TenantID != tok.Tenant.ID || c.Kind != caller.KindUser {
			t.Fatalf("authenticate: %+v %v", c, err)
		}
		// Wrong password and unknown user: one generic answer.
		_, errWrong := b.svc.Login(b.ctx, "owner@example.com", "wrong password!!", "", cl)
		_, errUnknown := b.svc.Login(b.ctx, "nobody@example.com", "wrong password!!", "", cl)
		if errWrong == nil || errUnknown == nil || errWrong.Error() != errUnknown.Error() || code(errWrong) != "UNAUTHENTICATED" {
			t.Fatalf("wrong password %v / unknown user %v", errWrong, errUnknown)
		}
		if _, err := b.svc.Login(b.ctx, "OWNER@example.com", "a long enough password", tok.Tenant.ID, cl); err != nil {
			t.Fatalf("login: %v", err)
		}
		// Short passwords and bad emails are refused with a clear reason.
		if _, err := b.svc.SignUp(b.ctx, "x@example.com", "short", "X", cl); code(err) != "BAD_USER_INPUT" {
			t.Fatalf("short password: %v", err)
		}
		if _, err := b.svc.SignUp(b.ctx, "not an email", "a long enough password", "X", cl); code(err) != "BAD_USER_INPUT" {
			t.Fatalf("bad email: %v", err)
		}
	})
}

// Using a refresh token twice revokes its whole session: the thief's and the
// owner's tokens all stop working.
func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		first, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		second, err := b.svc.Refresh(b.ctx, first.RefreshToken, auth.Client{})
		if err != nil {
			t.Fatalf("first refresh: %v", err)
		}
		if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID {
			t.Fatal("refresh did not rotate within the session")
		}
		// The old token comes back (stolen copy): refused, and the family dies.
		if _, err := b.svc.Refresh(b.ctx, first.RefreshToken, auth.Client{}); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := b.svc.Refresh(b.ctx, second.RefreshToken, auth.Client{}); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("newest token of a revoked family still works: %v", err)
		}
		if _, err := b.svc.Authenticate(b.ctx, second.AccessToken); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("access token of a revoked family still works: %v", err)
		}
		sys := caller.With(b.ctx, caller.System("test"))
		s, err := db.Ent.Session.Query().Where(session.ID(first.SessionID)).Only(sys)
		if err != nil || s.RevokedAt == nil || s.RevokeReason != "refresh_token_reuse" {
			t.Fatalf("session after reuse: %+v %v", s, err)
		}
	})
}

// Two concurrent uses of one refresh token: at most one wins.
func TestConcurrentRefreshIsReuse(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		tok, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.svc.Refresh(b.ctx, tok.RefreshToken, auth.Client{}); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins > 1 {
			t.Fatalf("%d concurrent refreshes with one token succeeded", wins)
		}
	})
}

// Logout, disabling the account and removing the membership each end access
// at once, before the access token expires.
func TestAccessEndsAtOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		sys := caller.With(b.ctx, caller.System("test"))
		signIn := func() *auth.Tokens {
			t.Helper()
			tok, err := b.svc.Login(b.ctx, "a@example.com", "a long enough password", "", auth.Client{})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		first, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}

		if err := b.svc.Logout(b.ctx, first.SessionID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Authenticate(b.ctx, first.AccessToken); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("access token replayed after logout: %v", err)
		}
		if _, err := b.svc.Refresh(b.ctx, first.RefreshToken, auth.Client{}); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("refresh after logout: %v", err)
		}

		tok := signIn()
		if err := db.Ent.Membership.Update().Where(membership.UserID(tok.User.ID)).SetRole(membership.RoleVIEWER).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if c, err := b.svc.Authenticate(b.ctx, tok.AccessToken); err != nil || c.Role != "VIEWER" {
			t.Fatalf("role change not seen at once: %+v %v", c, err)
		}
		if _, err := db.Ent.Membership.Delete().Where(membership.UserID(tok.User.ID)).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Authenticate(b.ctx, tok.AccessToken); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("access after membership removal: %v", err)
		}
	})
}

// A disabled account cannot use an existing token or sign in again.
func TestDisabledAccount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		sys := caller.With(b.ctx, caller.System("test"))
		tok, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ent.User.UpdateOneID(tok.User.ID).SetDisabled(true).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Authenticate(b.ctx, tok.AccessToken); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("disabled user's token: %v", err)
		}
		if _, err := b.svc.Login(b.ctx, "a@example.com", "a long enough password", "", auth.Client{}); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("disabled user's login: %v", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		tok, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := caller.With(b.ctx, &caller.Caller{Kind: caller.KindUser, UserID: tok.User.ID, TenantID: tok.Tenant.ID, Role: "OWNER"})
		secret, lookup, hash := auth.NewAPIKeySecret()
		past := time.Now().Add(-time.Hour)
		k, err := db.Ent.APIKey.Create().SetName("shipper").SetLookup(lookup).SetSecretHash(hash).
			SetScopes([]string{"events:write"}).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.svc.AuthenticateAPIKey(b.ctx, secret)
		if err != nil || c.Kind != caller.KindPartner || c.TenantID != tok.Tenant.ID || !c.HasScope("events:write") || c.HasScope("alerts:read") {
			t.Fatalf("api key caller %+v %v", c, err)
		}
		for name, bad := range map[string]string{
			"wrong secret": secret[:len(secret)-2] + "xx",
			"no prefix":    secret[4:],
			"short":        "vgl_abc_def",
		} {
			if _, err := b.svc.AuthenticateAPIKey(b.ctx, bad); code(err) != "UNAUTHENTICATED" {
				t.Errorf("%s accepted: %v", name, err)
			}
		}
		if err := db.Ent.APIKey.UpdateOne(k).SetExpiresAt(past).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.AuthenticateAPIKey(b.ctx, secret); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("expired key accepted: %v", err)
		}
	})
}

// Changing the password ends every other session at once and keeps the
// current one.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		b := setup(t, db, nil)
		here, err := b.svc.SignUp(b.ctx, "a@example.com", "a long enough password", "A", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := b.svc.Login(b.ctx, "a@example.com", "a long enough password", "", auth.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.svc.ChangePassword(b.ctx, here.User.ID, here.SessionID, "wrong current password", "a brand new password"); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("wrong current password: %v", err)
		}
		if err := b.svc.ChangePassword(b.ctx, here.User.ID, here.SessionID, "a long enough password", "short"); code(err) != "BAD_USER_INPUT" {
			t.Fatalf("short new password: %v", err)
		}
		if err := b.svc.ChangePassword(b.ctx, here.User.ID, here.SessionID, "a long enough password", "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Authenticate(b.ctx, elsewhere.AccessToken); code(err) != "UNAUTHENTICATED" {
			t.Fatalf("other session survived the password change: %v", err)
		}
		if _, err := b.svc.Authenticate(b.ctx, here.AccessToken); err != nil {
			t.Fatalf("current session ended: %v", err)
		}
		if _, err := b.svc.Login(b.ctx, "a@example.com", "a brand new password", "", auth.Client{}); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}
