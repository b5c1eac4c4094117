package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// Default login failure budgets. Per account: 5 failures, then one more
// attempt every 3 minutes, so guessing one password is slow whatever the
// attacker's addresses. Per address: 30 failures a minute, so one client
// cannot sweep many accounts, while an office behind one NAT still can
// mistype.
var (
	DefaultLoginPerAccount = Limit{Rate: 5, Period: 15 * time.Minute, Burst: 5}
	DefaultLoginPerIP      = Limit{Rate: 30, Period: time.Minute, Burst: 30}
)

// LoginThrottle counts failed logins per account and per client address:
//
//	if wait, err := t.Check(ctx, account, ip); err != nil || wait > 0 { refuse }
//	if !passwordOK { t.Failure(ctx, account, ip) } else { t.Success(ctx, account) }
//
// Only failures count, so signing in normally never uses the budget.
// Because Check only looks, attempts that run concurrently all pass Check
// before their Failures are recorded: the budget bounds sequential guessing,
// and concurrency per account needs bounding where logins are served (the
// password hash's cost already makes each attempt expensive).
//
// A spent account budget throttles the account rather than closing it: one
// attempt comes back every Period/Rate (3 minutes by default). Anyone can
// spend it, so the owner is slowed too; that is the price of bounding
// guesses per account whatever the attacker's addresses.
type LoginThrottle struct {
	limiter    Limiter
	perAccount Limit
	perIP      Limit
}

// NewLoginThrottle returns a throttle on l. It panics when l is nil or a
// limit is invalid, a wiring mistake to be caught at start-up.
func NewLoginThrottle(l Limiter, perAccount, perIP Limit) *LoginThrottle {
	if l == nil {
		panic("ratelimit: NewLoginThrottle needs a limiter")
	}
	if err := errors.Join(perAccount.validate(), perIP.validate()); err != nil {
		panic(err)
	}
	return &LoginThrottle{limiter: l, perAccount: perAccount, perIP: perIP}
}

// Check reports how long to wait before account may try a password from ip:
// zero when both have failure budget left. It consumes nothing. On error
// the wait is zero, and whether to let the attempt through is the caller's
// decision.
func (t *LoginThrottle) Check(ctx context.Context, account, ip string) (time.Duration, error) {
	byAccount, err := t.limiter.Peek(ctx, accountKey(account), t.perAccount)
	if err != nil {
		return 0, err
	}
	byIP, err := t.limiter.Peek(ctx, ipKey(ip), t.perIP)
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	if !byAccount.Allowed {
		wait = byAccount.RetryAfter
	}
	if !byIP.Allowed {
		wait = max(wait, byIP.RetryAfter)
	}
	return wait, nil
}

// Failure records a failed attempt against both account and ip. A budget
// already spent stays spent; further failures do not lengthen the wait.
func (t *LoginThrottle) Failure(ctx context.Context, account, ip string) error {
	_, errAccount := t.limiter.Allow(ctx, accountKey(account), t.perAccount)
	_, errIP := t.limiter.Allow(ctx, ipKey(ip), t.perIP)
	return errors.Join(errAccount, errIP)
}

// Success restores account's budget. The address keeps its count: one valid
// password must not buy a client fresh guesses at other accounts.
func (t *LoginThrottle) Success(ctx context.Context, account string) error {
	return t.limiter.Reset(ctx, accountKey(account))
}

// Keys are hashed so that they have a bounded length whatever a client
// sends, and so that Redis holds no e-mail addresses or client addresses.
// The "account:" and "ip:" parts keep the two kinds apart.
func accountKey(account string) string {
	return "login:account:" + digest(strings.ToLower(strings.TrimSpace(account)))
}

// ipKey takes the address with or without a port; an empty or unparseable
// one is a bucket of its own, shared with every other caller passing it.
func ipKey(ip string) string {
	return "login:ip:" + digest(normaliseIP(ip))
}

// normaliseIP makes one client one key: IPv4-mapped IPv6 is IPv4, and IPv6
// counts per /64, the block one subscriber usually gets, since a client
// that may choose among 2^64 addresses would otherwise escape the limit.
func normaliseIP(ip string) string {
	s := strings.TrimSpace(ip)
	addr, err := netip.ParseAddr(s)
	if err != nil {
		addrPort, err := netip.ParseAddrPort(s)
		if err != nil {
			return strings.ToLower(s)
		}
		addr = addrPort.Addr()
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		prefix, _ := addr.Prefix(64) // cannot fail for IPv6 and 64
		return prefix.String()
	}
	return addr.String()
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
