package imapserve

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Every failed login gets the same answer, whatever was wrong.
func TestLoginFailuresLookAlike(t *testing.T) {
	e := newIMAPEnv(t)
	const want = "NO [AUTHENTICATIONFAILED] Authentication failed"
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", imapUser, "wrong"},
		{"unknown account", "nobody", imapPass},
		{"empty password", imapUser, ""},
		{"other account's password", imapUser, imapOtherPwd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []string{"LOGIN", "AUTHENTICATE PLAIN", "AUTHENTICATE PLAIN (IR)", "AUTHENTICATE LOGIN", "AUTHENTICATE LOGIN (IR)"} {
				rc := e.raw()
				var st string
				switch via {
				case "LOGIN":
					_, st = rc.cmd("LOGIN %q %q", tc.user, tc.pass)
				case "AUTHENTICATE PLAIN":
					rc.send("A1 AUTHENTICATE PLAIN")
					if l := rc.line(); l != "+ " {
						t.Fatalf("%s: continuation %q, want %q", via, l, "+ ")
					}
					rc.send(b64("\x00" + tc.user + "\x00" + tc.pass))
					st = strings.TrimPrefix(rc.line(), "A1 ")
				case "AUTHENTICATE PLAIN (IR)":
					_, st = rc.cmd("AUTHENTICATE PLAIN %s", b64("\x00"+tc.user+"\x00"+tc.pass))
				case "AUTHENTICATE LOGIN":
					rc.send("A1 AUTHENTICATE LOGIN")
					if l := rc.line(); l != "+ "+b64("Username:") {
						t.Fatalf("%s: first continuation %q", via, l)
					}
					rc.send(b64(tc.user))
					if l := rc.line(); l != "+ "+b64("Password:") {
						t.Fatalf("%s: second continuation %q", via, l)
					}
					rc.send(b64(tc.pass))
					st = strings.TrimPrefix(rc.line(), "A1 ")
				case "AUTHENTICATE LOGIN (IR)":
					rc.send("A1 AUTHENTICATE LOGIN " + b64(tc.user))
					if l := rc.line(); l != "+ "+b64("Password:") {
						t.Fatalf("%s: continuation %q", via, l)
					}
					rc.send(b64(tc.pass))
					st = strings.TrimPrefix(rc.line(), "A1 ")
				}
				if st != want {
					t.Errorf("%s: %q, want %q", via, st, want)
				}
			}
		})
	}
	if got := e.srv.perAcctCount(imapUser); got != 0 {
		t.Errorf("failed logins hold %d account slots", got)
	}
}

func (s *Server) perAcctCount(account string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perAcct[account]
}

func TestLoginMechanisms(t *testing.T) {
	e := newIMAPEnv(t)
	plain := b64("\x00" + imapUser + "\x00" + imapPass)
	for _, tc := range []struct {
		name   string
		dialog []string // client lines; "" entries expect a continuation
		want   string
	}{
		{"LOGIN", []string{`A1 LOGIN app "s3cret pass"`}, "OK"},
		{"LOGIN literal", []string{"A1 LOGIN app {11+}", "s3cret pass"}, "OK"},
		{"PLAIN", []string{"A1 AUTHENTICATE PLAIN", "", plain}, "OK"},
		{"PLAIN SASL-IR", []string{"A1 AUTHENTICATE PLAIN " + plain}, "OK"},
		{"plain lower case", []string{"A1 authenticate plain " + plain}, "OK"},
		{"PLAIN with authzid = user", []string{"A1 AUTHENTICATE PLAIN " + b64(imapUser+"\x00"+imapUser+"\x00"+imapPass)}, "OK"},
		{"PLAIN other authzid", []string{"A1 AUTHENTICATE PLAIN " + b64(imapOther+"\x00"+imapUser+"\x00"+imapPass)}, "NO [AUTHORIZATIONFAILED]"},
		{"PLAIN malformed", []string{"A1 AUTHENTICATE PLAIN " + b64("app-no-nuls")}, "NO [AUTHENTICATIONFAILED]"},
		{"PLAIN bad base64", []string{"A1 AUTHENTICATE PLAIN", "", "%%%"}, "BAD"},
		{"PLAIN cancelled", []string{"A1 AUTHENTICATE PLAIN", "", "*"}, "BAD"},
		{"LOGIN mechanism", []string{"A1 AUTHENTICATE LOGIN", "", b64(imapUser), "", b64(imapPass)}, "OK"},
		{"LOGIN mechanism SASL-IR", []string{"A1 AUTHENTICATE LOGIN " + b64(imapUser), "", b64(imapPass)}, "OK"},
		{"unknown mechanism", []string{"A1 AUTHENTICATE CRAM-MD5"}, "NO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := e.raw()
			for _, l := range tc.dialog {
				if l == "" {
					if got := rc.line(); !strings.HasPrefix(got, "+") {
						t.Fatalf("want a continuation, got %q", got)
					}
					continue
				}
				rc.send(l)
			}
			var st string
			for {
				st = rc.line()
				if !strings.HasPrefix(st, "* ") && !strings.HasPrefix(st, "+") {
					break
				}
			}
			if !strings.HasPrefix(st, "A1 "+tc.want) {
				t.Fatalf("got %q, want %q", st, "A1 "+tc.want)
			}
			if tc.want == "OK" {
				if !strings.Contains(st, "IDLE") {
					t.Errorf("OK without the logged-in capabilities: %q", st)
				}
				rc.ok("SELECT INBOX")
			}
		})
	}
}

// Without TLS, from where plaintext is not allowed: LOGINDISABLED, no
// AUTH=, NO [PRIVACYREQUIRED]; after STARTTLS, login works.
func TestPlaintextOnlyFromAllowedNetworks(t *testing.T) {
	e := newIMAPEnv(t, func(o *Options) {
		o.AllowPlaintext = func(ip netip.Addr) bool { return ip == netip.MustParseAddr("192.0.2.1") }
	})
	rc := e.raw()
	caps, _ := rc.cmd("CAPABILITY")
	if c := caps[0]; !strings.Contains(c, "LOGINDISABLED") || strings.Contains(c, "AUTH=") || !strings.Contains(c, "STARTTLS") {
		t.Errorf("capabilities before TLS: %q", c)
	}
	for _, cmd := range []string{`LOGIN app "s3cret pass"`, "AUTHENTICATE PLAIN " + b64("\x00app\x00s3cret pass")} {
		if _, st := rc.cmd("%s", cmd); !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
			t.Errorf("%s: %q, want NO [PRIVACYREQUIRED]", cmd, st)
		}
	}

	// STARTTLS, then the same login works (go-imap's client).
	c, err := imapclient.DialStartTLS(e.plain, &imapclient.Options{TLSConfig: e.clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Caps().Has(imap.CapLoginDisabled) {
		t.Errorf("LOGINDISABLED after STARTTLS: %v", c.Caps())
	}
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	// Implicit TLS: login at once.
	ct, err := imapclient.DialTLS(e.tls, &imapclient.Options{TLSConfig: e.clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	if err := ct.Authenticate(sasl.NewPlainClient("", imapUser, imapPass)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN over implicit TLS: %v", err)
	}
	if !strings.Contains(e.logs.String(), `tls="TLS 1.`) {
		t.Errorf("login log lacks the TLS version:\n%s", e.logs.String())
	}
}

func TestStartTLSRules(t *testing.T) {
	e := newIMAPEnv(t)
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	if _, st := rc.cmd("STARTTLS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("STARTTLS after login: %q, want BAD", st)
	}
	rt := e.rawTLS()
	if caps, _ := rt.cmd("CAPABILITY"); strings.Contains(caps[0], "STARTTLS") || strings.Contains(caps[0], "LOGINDISABLED") {
		t.Errorf("implicit TLS capabilities: %q", caps[0])
	}
	// Commands pipelined after STARTTLS in the same packet must not be
	// run in the clear.
	c, err := net.Dial("tcp", e.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rp := newRaw(t, c)
	rp.send("A1 STARTTLS\r\nA2 NOOP")
	if l := rp.line(); !strings.HasPrefix(l, "A1 OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(c, e.clientTLS)
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS handshake succeeded over injected plaintext")
	}
}

func TestConnectionCaps(t *testing.T) {
	e := newIMAPEnv(t, func(o *Options) {
		o.MaxConnsPerAccount = 2
		o.MaxConnsPerIP = 4
	})
	a := e.login(imapUser, imapPass)
	e.login(imapUser, imapPass)
	c := e.client()
	err := c.Login(imapUser, imapPass).Wait()
	var ierr *imap.Error
	if !errors.As(err, &ierr) || ierr.Code != imap.ResponseCodeLimit {
		t.Fatalf("third login: %v, want NO [LIMIT]", err)
	}
	// Another account is not affected; a logout frees a place.
	e.login(imapOther, imapOtherPwd) // 4th connection from this IP
	if err := a.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5e9, "the account's place to be freed", func() bool { return e.srv.perAcctCount(imapUser) < 2 })
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatalf("login after a logout: %v", err)
	}
	// Per IP: the 4 connections above are still open (a closed).
	waitFor(t, 5e9, "a's connection to be released", func() bool { return e.srv.perIPCount() == 3 })
	e.client()
	rc, err := net.Dial("tcp", e.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 200)
	n, _ := rc.Read(buf)
	if got := string(buf[:n]); !strings.HasPrefix(got, "* BYE") {
		t.Errorf("5th connection from one IP got %q, want * BYE", got)
	}
}

func (s *Server) perIPCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.perIP {
		n += c
	}
	return n
}

func TestCapabilities(t *testing.T) {
	e := newIMAPEnv(t)
	rc := e.raw()
	pre, _ := rc.cmd("CAPABILITY")
	if pre[0] != "* CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS AUTH=PLAIN AUTH=LOGIN" {
		t.Errorf("before login: %q", pre[0])
	}
	rc.ok(`LOGIN app "s3cret pass"`)
	post, _ := rc.cmd("CAPABILITY")
	have := map[string]bool{}
	for _, c := range strings.Fields(post[0])[2:] {
		have[c] = true
	}
	for _, c := range []string{"IMAP4rev1", "IDLE", "MOVE", "UIDPLUS", "NAMESPACE", "UNSELECT", "ESEARCH", "SEARCHRES",
		"LITERAL+", "SASL-IR", "CHILDREN", "LIST-STATUS", "SPECIAL-USE", "APPENDLIMIT", "ENABLE"} {
		if !have[c] {
			t.Errorf("after login: no %s in %q", c, post[0])
		}
	}
	for _, c := range []string{"IMAP4rev2", "BINARY", "STARTTLS", "LOGINDISABLED", "CONDSTORE"} {
		if have[c] {
			t.Errorf("after login: %s advertised: %q", c, post[0])
		}
	}
}
