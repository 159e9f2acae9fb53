package auth

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fastHash keeps tests quick under the race detector.
func fastHash(pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

func newTestAuth(t *testing.T, maxFailures int) (*Authenticator, string) {
	t.Helper()
	h := fastHash("right")
	return New(Options{Accounts: []Account{{Name: "app1", PasswordHash: h}}, MaxFailures: maxFailures, Lockout: time.Hour}), h
}

var (
	ip1 = netip.MustParseAddr("127.0.0.1")
	ip2 = netip.MustParseAddr("127.0.0.2")
)

func TestAuthenticate(t *testing.T) {
	a, _ := newTestAuth(t, 0)
	ctx := context.Background()
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"right", "app1", "right", true},
		{"right again (cached)", "app1", "right", true},
		{"wrong password", "app1", "wrong", false},
		{"unknown account", "nobody", "right", false},
		{"case of the name matters", "APP1", "right", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, err := a.Authenticate(ctx, ip1, tt.user, tt.pass)
			if tt.ok && (err != nil || acct != "app1") {
				t.Errorf("got %q, %v; want app1", acct, err)
			}
			if !tt.ok && !errors.Is(err, ErrFailed) {
				t.Errorf("got %q, %v; want ErrFailed", acct, err)
			}
		})
	}
}

func TestLockoutPerIP(t *testing.T) {
	a, _ := newTestAuth(t, 3)
	ctx := context.Background()
	for range 3 {
		a.Authenticate(ctx, ip1, "app1", "guess")
	}
	if !a.LockedOut(ip1) {
		t.Fatal("not locked out after 3 failures")
	}
	if _, err := a.Authenticate(ctx, ip1, "app1", "right"); !errors.Is(err, ErrFailed) {
		t.Errorf("right password from a locked-out IP: %v, want ErrFailed", err)
	}
	if _, err := a.Authenticate(ctx, netip.MustParseAddr("::ffff:127.0.0.1"), "app1", "right"); !errors.Is(err, ErrFailed) {
		t.Errorf("same IP 4-in-6: %v, want ErrFailed", err)
	}
	if acct, err := a.Authenticate(ctx, ip2, "app1", "right"); err != nil || acct != "app1" {
		t.Errorf("right password from another IP: %q %v", acct, err)
	}
}

func TestReloadClearsCache(t *testing.T) {
	a, _ := newTestAuth(t, 0)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, ip1, "app1", "right"); err != nil {
		t.Fatal(err)
	}
	h2 := fastHash("new")
	a.SetAccounts([]Account{{Name: "app1", PasswordHash: h2}})
	if _, err := a.Authenticate(ctx, ip1, "app1", "right"); !errors.Is(err, ErrFailed) {
		t.Errorf("old password after reload: %v, want ErrFailed", err)
	}
	if _, err := a.Authenticate(ctx, ip1, "app1", "new"); err != nil {
		t.Errorf("new password after reload: %v", err)
	}
}

func TestAccountFailuresSlowDown(t *testing.T) {
	h := fastHash("right")
	a := New(Options{Accounts: []Account{{Name: "app1", PasswordHash: h}}, MaxFailures: 0, MaxAccountFailures: 2, AccountDelay: time.Hour, Lockout: time.Hour})
	for i := range 2 {
		a.Authenticate(context.Background(), netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), "app1", "guess")
	}
	// The next attempt for app1 waits AccountDelay: with a cancelled
	// context it returns the context's error instead of checking.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Authenticate(ctx, ip2, "app1", "guess"); !errors.Is(err, context.Canceled) {
		t.Errorf("attempt on a slowed account: %v, want it to wait (context.Canceled)", err)
	}
}
