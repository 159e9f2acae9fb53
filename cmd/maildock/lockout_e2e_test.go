package main

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// A burst of wrong passwords from one address locks that address out,
// over IMAP and POP3 alike, even for the right password; another address
// (127.0.0.2, still loopback) logs in; the lockout is logged once and
// counted.
func TestLockoutOnTheWire(t *testing.T) {
	dir := t.TempDir()
	path := writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "127.0.0.1:0")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "[auth]\n", "[auth]\nmax_failures = 4\nlockout = \"10m\"\n", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", path)

	imapFrom := func(local, pass string) error {
		c := imapclient.New(dialFrom(t, local, p.addr("imap")), nil)
		defer c.Close()
		if err := c.Login("scanner", pass).Wait(); err != nil {
			return err
		}
		return c.Logout().Wait()
	}
	popFrom := func(local, pass string) string {
		pc := newPOP3Session(t, dialFrom(t, local, p.addr("pop3")))
		pc.cmd("USER scanner")
		l := pc.cmd("PASS " + pass)
		pc.cmd("QUIT")
		return l
	}
	// Two wrong over IMAP, two over POP3: the fourth locks 127.0.0.1 out.
	for range 2 {
		if err := imapFrom("127.0.0.1", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
		if l := popFrom("127.0.0.1", "wrong"); !strings.HasPrefix(l, "-ERR [AUTH]") {
			t.Fatalf("POP3 wrong password: %q", l)
		}
	}
	if err := imapFrom("127.0.0.1", testPassword); err == nil {
		t.Error("IMAP: the right password got in from a locked-out address")
	}
	if l := popFrom("127.0.0.1", testPassword); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("POP3 from a locked-out address: %q, want the same -ERR [AUTH] as a wrong password", l)
	}
	if err := imapFrom("127.0.0.2", testPassword); err != nil {
		t.Errorf("IMAP from another address: %v", err)
	}
	if l := popFrom("127.0.0.2", testPassword); !strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3 from another address: %q", l)
	}
	if n := strings.Count(p.log.String(), "source locked out"); n != 1 {
		t.Errorf("%d lockout log lines, want 1", n)
	}
	body := getMetrics(t, p.addr("http"))
	if !regexp.MustCompile(`(?m)^maildock_auth_lockouts_total 1$`).MatchString(body) {
		t.Errorf("lockout not counted:\n%s", grepMaildock(body))
	}
	if !regexp.MustCompile(`(?m)^maildock_auth_failures_total\{proto="imap"\} 3$`).MatchString(body) {
		t.Errorf("IMAP failures not counted:\n%s", grepMaildock(body))
	}
}

// dialFrom connects to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
