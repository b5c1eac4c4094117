package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/ratelimit"
)

func newThrottle(b *testBundle) *ratelimit.LoginThrottle {
	return ratelimit.NewLoginThrottle(b.limiter, ratelimit.DefaultLoginPerAccount, ratelimit.DefaultLoginPerIP)
}

func check(t *testing.T, b *testBundle, th *ratelimit.LoginThrottle, account, ip string) time.Duration {
	t.Helper()
	wait, err := th.Check(b.ctx, account, ip)
	if err != nil {
		t.Fatalf("Check(%q, %q): %v", account, ip, err)
	}
	return wait
}

func fail(t *testing.T, b *testBundle, th *ratelimit.LoginThrottle, account, ip string) {
	t.Helper()
	if err := th.Failure(b.ctx, account, ip); err != nil {
		t.Fatalf("Failure(%q, %q): %v", account, ip, err)
	}
}

func TestLoginFailuresLockTheAccount(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		th := newThrottle(b)
		for i := range 5 {
			if wait := check(t, b, th, "alice@example.com", "192.0.2.1"); wait != 0 {
				t.Fatalf("before failure %d: wait %s, want none", i+1, wait)
			}
			fail(t, b, th, "alice@example.com", "192.0.2.1")
		}
		// Five failures in 15 minutes: the next attempt is one emission
		// interval (3 minutes) away, whatever the address or spelling.
		for _, attempt := range [][2]string{
			{"alice@example.com", "192.0.2.1"},
			{"  Alice@Example.COM ", "198.51.100.7"},
		} {
			wait := check(t, b, th, attempt[0], attempt[1])
			if !near(wait, 3*time.Minute) {
				t.Errorf("Check%q = %s, want about 3m", attempt, wait)
			}
		}
		if wait := check(t, b, th, "bob@example.com", "198.51.100.7"); wait != 0 {
			t.Errorf("another account from another address: wait %s, want none", wait)
		}
		if wait := check(t, b, th, "bob@example.com", "192.0.2.1"); wait != 0 {
			t.Errorf("another account from alice's address (5 of its 30 spent): wait %s, want none", wait)
		}
	})
}

func TestLoginFailuresLockTheAddress(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		th := newThrottle(b)
		for i := range 30 {
			fail(t, b, th, fmt.Sprintf("user%d@example.com", i), "2001:db8::1")
		}
		// Same /64, new account: locked for one interval (2 s) of the
		// address's 30-a-minute budget.
		wait := check(t, b, th, "fresh@example.com", "[2001:db8::ffff]:443")
		if !near(wait, 2*time.Second) {
			t.Errorf("new account from the spent /64: wait %s, want about 2s", wait)
		}
		if wait := check(t, b, th, "fresh@example.com", "2001:db8:1::1"); wait != 0 {
			t.Errorf("same account from another /64: wait %s, want none", wait)
		}
	})
}

func TestLoginSuccessResetsTheAccount(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		th := newThrottle(b)
		for range 5 {
			fail(t, b, th, "alice@example.com", "192.0.2.1")
		}
		if wait := check(t, b, th, "alice@example.com", "192.0.2.9"); wait == 0 {
			t.Fatal("five failures did not lock the account")
		}
		if err := th.Success(b.ctx, "ALICE@example.com"); err != nil {
			t.Fatal(err)
		}
		if wait := check(t, b, th, "alice@example.com", "192.0.2.9"); wait != 0 {
			t.Fatalf("after Success: wait %s, want none", wait)
		}
		// The full budget is back: four more failures still leave one.
		for range 4 {
			fail(t, b, th, "alice@example.com", "192.0.2.9")
		}
		if wait := check(t, b, th, "alice@example.com", "192.0.2.9"); wait != 0 {
			t.Fatalf("after four new failures: wait %s, want none", wait)
		}
	})
}

func TestLoginSuccessKeepsTheAddressCount(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		th := newThrottle(b)
		for i := range 30 {
			fail(t, b, th, fmt.Sprintf("user%d@example.com", i), "192.0.2.1")
		}
		if err := th.Success(b.ctx, "mallory@example.com"); err != nil {
			t.Fatal(err)
		}
		if wait := check(t, b, th, "user31@example.com", "192.0.2.1"); wait == 0 {
			t.Fatal("one successful login reopened the address's budget")
		}
	})
}

func TestLoginCheckDoesNotConsume(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		th := newThrottle(b)
		for range 50 {
			if wait := check(t, b, th, "alice@example.com", "192.0.2.1"); wait != 0 {
				t.Fatalf("Check alone led to wait %s", wait)
			}
		}
		for range 4 {
			fail(t, b, th, "alice@example.com", "192.0.2.1")
		}
		if wait := check(t, b, th, "alice@example.com", "192.0.2.1"); wait != 0 {
			t.Fatalf("after 50 Checks and 4 failures: wait %s, want none", wait)
		}
		fail(t, b, th, "alice@example.com", "192.0.2.1")
		if wait := check(t, b, th, "alice@example.com", "192.0.2.1"); wait == 0 {
			t.Fatal("after the fifth failure: no wait")
		}
	})
}

func TestLoginLockLiftsOverTime(t *testing.T) {
	t.Parallel()
	b := setupMemory(t)
	th := newThrottle(b)
	for range 5 {
		fail(t, b, th, "alice@example.com", "192.0.2.1")
	}
	wait := check(t, b, th, "alice@example.com", "192.0.2.1")
	b.clock.Advance(wait - time.Nanosecond)
	if check(t, b, th, "alice@example.com", "192.0.2.1") == 0 {
		t.Fatal("lock lifted before the wait Check reported")
	}
	b.clock.Advance(time.Nanosecond)
	if w := check(t, b, th, "alice@example.com", "192.0.2.1"); w != 0 {
		t.Fatalf("after the reported wait: still %s to go", w)
	}
	fail(t, b, th, "alice@example.com", "192.0.2.1")
	if check(t, b, th, "alice@example.com", "192.0.2.1") == 0 {
		t.Fatal("one attempt came back, but a failure of it did not lock again")
	}
}

func TestLoginKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		one := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
		th := ratelimit.NewLoginThrottle(b.limiter, one, one)
		fail(t, b, th, "alice", "192.0.2.1")
		// An account named like the spent address, and an address
		// spelled like the spent account, each have their own bucket.
		if wait := check(t, b, th, "192.0.2.1", "192.0.2.2"); wait != 0 {
			t.Errorf("account named like the spent address: wait %s", wait)
		}
		if wait := check(t, b, th, "bob", "alice"); wait != 0 {
			t.Errorf("address spelled like the spent account: wait %s", wait)
		}
		if wait := check(t, b, th, "bob", "192.0.2.1"); wait == 0 {
			t.Error("the address's failure was not counted")
		}
		if wait := check(t, b, th, "alice", "192.0.2.2"); wait == 0 {
			t.Error("the account's failure was not counted")
		}
	})
}
