package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/maildock/maildock/metrics"
)

// ErrFailed is the one answer to wrong credentials, whatever was wrong: an
// unknown account, a wrong password, or a locked-out source.
var ErrFailed = errors.New("auth: invalid credentials")

// Account is a login name and its password hash.
type Account struct {
	Name         string
	PasswordHash string
}

// Options configure an Authenticator.
type Options struct {
	Accounts []Account
	// MaxFailures failed logins from one IP within Lockout lock that IP out
	// for Lockout; 0 disables the per-IP limit. Loopback is not exempt.
	MaxFailures int
	Lockout     time.Duration
	// MaxAccountFailures failed logins for one account (from anywhere)
	// within Lockout slow a distributed guesser: further attempts for that
	// account wait AccountDelay before being checked. Default 5*MaxFailures.
	MaxAccountFailures int
	AccountDelay       time.Duration // default 2s
	// CacheTTL keeps a successful login so an app that logs in every few
	// seconds does not cost a full bcrypt each time. Default 5 minutes; a
	// negative value disables the cache.
	CacheTTL time.Duration
	Metrics  *metrics.Metrics // nil: none
	Logger   *slog.Logger
}

// Authenticator checks logins for IMAP, POP3 and SMTP submission alike.
type Authenticator struct {
	opt   Options
	log   *slog.Logger
	dummy string // hash checked for unknown accounts, so they cost the same time
	key   []byte // HMAC key for the login cache

	mu       sync.Mutex
	accounts map[string]string // name -> hash
	cache    map[[32]byte]time.Time
	byIP     map[netip.Addr]*failures
	byAcct   map[string]*failures
}

type failures struct {
	n           int
	first       time.Time
	lockedUntil time.Time
}

// New returns an Authenticator.
func New(opts Options) *Authenticator {
	if opts.Lockout <= 0 {
		opts.Lockout = 15 * time.Minute
	}
	if opts.MaxAccountFailures == 0 {
		opts.MaxAccountFailures = 5 * opts.MaxFailures
	}
	if opts.AccountDelay <= 0 {
		opts.AccountDelay = 2 * time.Second
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{opt: opts, log: opts.Logger, key: make([]byte, 32),
		byIP: map[netip.Addr]*failures{}, byAcct: map[string]*failures{}}
	rand.Read(a.key)
	a.SetAccounts(opts.Accounts)
	return a
}

// SetAccounts replaces the accounts (config reload) and clears the login
// cache, so a changed password takes effect at once.
func (a *Authenticator) SetAccounts(accts []Account) {
	m := make(map[string]string, len(accts))
	model := ""
	for _, acc := range accts {
		m[acc.Name] = acc.PasswordHash
		if model == "" {
			model = acc.PasswordHash
		}
	}
	// Unknown accounts are checked against a hash of the same scheme and
	// cost as the real ones, so the answer takes the same time.
	dummy := dummyHashLike(model)
	a.mu.Lock()
	a.dummy = dummy
	a.accounts = m
	a.cache = map[[32]byte]time.Time{}
	a.mu.Unlock()
}

func (a *Authenticator) cacheKey(name, hash, password string) [32]byte {
	h := hmac.New(sha256.New, a.key)
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(hash))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// Authenticate checks username and password for a login from remote. It
// returns the account name, or ErrFailed after the same work whatever the
// reason, or ctx's error.
func (a *Authenticator) Authenticate(ctx context.Context, remote netip.Addr, username, password string) (string, error) {
	remote = remote.Unmap()
	now := time.Now()
	a.mu.Lock()
	hash, known := a.accounts[username]
	ipf := a.byIP[remote]
	locked := ipf != nil && now.Before(ipf.lockedUntil)
	af := a.byAcct[username]
	slow := af != nil && a.opt.MaxAccountFailures > 0 && af.n >= a.opt.MaxAccountFailures && now.Sub(af.first) < a.opt.Lockout
	var key [32]byte
	cached := false
	if known && !locked && a.opt.CacheTTL > 0 {
		key = a.cacheKey(username, hash, password)
		exp, ok := a.cache[key]
		cached = ok && now.Before(exp)
	}
	a.mu.Unlock()

	if cached {
		return username, nil
	}
	if slow {
		select {
		case <-time.After(a.opt.AccountDelay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	// Always one full hash comparison, so an unknown account, a wrong
	// password and a lockout take the same time.
	check := hash
	if !known {
		check = a.dummy
	}
	ok := VerifyPassword(check, password) && known && !locked
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok {
		delete(a.byAcct, username)
		if a.opt.CacheTTL > 0 {
			a.cache[key] = now.Add(a.opt.CacheTTL)
		}
		return username, nil
	}
	if locked {
		return "", ErrFailed
	}
	ipf = a.count(a.byIP, remote, now)
	if a.opt.MaxFailures > 0 && ipf.n >= a.opt.MaxFailures {
		ipf.lockedUntil = now.Add(a.opt.Lockout)
		a.log.Warn("auth: too many failed logins; source locked out", "remote", remote.String(), "failures", ipf.n, "until", ipf.lockedUntil.Format(time.RFC3339))
		a.opt.Metrics.LockedOut()
	}
	af = a.countAcct(username, now)
	if a.opt.MaxAccountFailures > 0 && af.n == a.opt.MaxAccountFailures {
		a.log.Warn("auth: many failed logins for one account; slowing its logins", "account", username, "failures", af.n)
	}
	return "", ErrFailed
}

func (a *Authenticator) count(m map[netip.Addr]*failures, k netip.Addr, now time.Time) *failures {
	if len(m) > 4096 {
		a.sweepLocked(now)
	}
	f := m[k]
	if f == nil || now.Sub(f.first) >= a.opt.Lockout {
		f = &failures{first: now}
		m[k] = f
	}
	f.n++
	return f
}

// sweepLocked forgets expired failure records, so a scan from many
// addresses cannot grow the maps without bound.
func (a *Authenticator) sweepLocked(now time.Time) {
	for k, f := range a.byIP {
		if now.Sub(f.first) >= a.opt.Lockout && !now.Before(f.lockedUntil) {
			delete(a.byIP, k)
		}
	}
	for k, f := range a.byAcct {
		if now.Sub(f.first) >= a.opt.Lockout {
			delete(a.byAcct, k)
		}
	}
	for k, exp := range a.cache {
		if !now.Before(exp) {
			delete(a.cache, k)
		}
	}
}

func (a *Authenticator) countAcct(name string, now time.Time) *failures {
	if len(a.byAcct) > 4096 {
		a.sweepLocked(now)
	}
	f := a.byAcct[name]
	if f == nil || now.Sub(f.first) >= a.opt.Lockout {
		f = &failures{first: now}
		a.byAcct[name] = f
	}
	f.n++
	return f
}

// LockedOut reports whether remote is locked out now.
func (a *Authenticator) LockedOut(remote netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.byIP[remote.Unmap()]
	return f != nil && time.Now().Before(f.lockedUntil)
}
