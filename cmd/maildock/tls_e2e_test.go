package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/certs"
)

// legacy_tls per listener on the built binary, checked from outside with
// `openssl s_client` and Python's ssl module: with it off every listener
// speaks TLS 1.2+ with forward-secret AEAD suites only; with it on, TLS
// 1.0/1.1 and the CBC, RSA-key-exchange and 3DES suites of certs/policy.go
// (docs/SECURITY.md, "Legacy TLS, per listener") work too, and a modern
// client still gets a modern suite.

// opensslSuiteNames maps the Go suites of certs.ModernSuites and
// certs.LegacySuites to OpenSSL's names, as s_client prints them.
var opensslSuiteNames = map[uint16]string{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
}

var tls13SuiteNames = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// opensslSuites returns the OpenSSL names of those of suites usable at
// version (an s_client protocol name).
func opensslSuites(t *testing.T, suites []uint16, version string) []string {
	t.Helper()
	if version == "TLSv1.3" {
		return tls13SuiteNames
	}
	v := map[string]uint16{"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12}[version]
	info := map[uint16]*tls.CipherSuite{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		info[cs.ID] = cs
	}
	var out []string
	for _, id := range suites {
		name, ok := opensslSuiteNames[id]
		if !ok || info[id] == nil {
			t.Fatalf("certs offers %s: add its OpenSSL name to opensslSuiteNames", tls.CipherSuiteName(id))
		}
		if slices.Contains(info[id].SupportedVersions, v) {
			out = append(out, name)
		}
	}
	return out
}

// writeLegacyTLSConfig writes a config with every listener, plain and
// implicit TLS, on an ephemeral loopback port, and legacy_tls = legacy on
// all three protocols.
func writeLegacyTLSConfig(t *testing.T, dir string, legacy bool) string {
	t.Helper()
	return writeLegacyTLSConfigFor(t, dir, map[string]bool{"smtp": legacy, "imap": legacy, "pop3": legacy})
}

// writeLegacyTLSConfigFor is writeLegacyTLSConfig with legacy_tls set per
// protocol.
func writeLegacyTLSConfigFor(t *testing.T, dir string, legacyFor map[string]bool) string {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	var sections strings.Builder
	for _, s := range []string{"smtp", "imap", "pop3"} {
		fmt.Fprintf(&sections, "[%s]\nlisten = [\"127.0.0.1:0\"]\nlisten_tls = [\"127.0.0.1:0\"]\nlegacy_tls = %v\n", s, legacyFor[s])
	}
	cfg := fmt.Sprintf(`hostname = "mx.tls.test"
data_dir = %q
%s[auth]
plaintext_networks = []
[http]
listen = ""
[[account]]
name = "tls"
password_hash = %q
addresses = ["@tls.test"]
`, filepath.Join(dir, "data"), sections.String(), hash)
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsListeners are the six listener kinds; starttls is s_client's
// -starttls value ("" for implicit TLS).
var tlsListeners = []struct{ proto, starttls string }{
	{"smtp", "smtp"}, {"smtps", ""},
	{"imap", "imap"}, {"imaps", ""},
	{"pop3", "pop3"}, {"pop3s", ""},
}

// sClientResult is what one s_client run negotiated.
type sClientResult struct {
	ok               bool
	protocol, cipher string
	out              string
}

var (
	sClientProtocolRE = regexp.MustCompile(`(?m)^Protocol version: (\S+)`)
	sClientCipherRE   = regexp.MustCompile(`(?m)^Ciphersuite: (\S+)`)
)

// sClient runs `openssl s_client -brief` against addr (after STARTTLS if
// starttls is set) with stdin empty, so it quits after the handshake.
func sClient(t *testing.T, addr, starttls string, args ...string) sClientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	argv := []string{"s_client", "-connect", addr, "-brief"}
	if starttls != "" {
		argv = append(argv, "-starttls", starttls)
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, "openssl", argv...)
	cmd.Stdin = strings.NewReader("")
	cmd.WaitDelay = 2 * time.Second
	b, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl %s: timed out\n%s", strings.Join(argv, " "), b)
	}
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("openssl: %v", err)
	}
	r := sClientResult{out: string(b)}
	established := strings.Contains(r.out, "CONNECTION ESTABLISHED")
	if m := sClientProtocolRE.FindStringSubmatch(r.out); m != nil {
		r.protocol = m[1]
	}
	if m := sClientCipherRE.FindStringSubmatch(r.out); m != nil {
		r.cipher = m[1]
	}
	r.ok = err == nil && established && r.protocol != ""
	if !r.ok && (err == nil || established) {
		t.Fatalf("openssl %s: exit %v but established=%v: cannot tell the outcome\n%s", strings.Join(argv, " "), err, established, b)
	}
	return r
}

// startTLSGo dials addr and, for a plain port, runs proto's STARTTLS
// (SMTP STARTTLS, IMAP STARTTLS, POP3 STLS) by hand, then hands the
// connection to a Go TLS client with cfg and shakes hands.
func startTLSGo(addr, starttls string, cfg *tls.Config) (tls.ConnectionState, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	// Each step sends a line (if any) and reads the reply: lines for
	// which more says so, then one starting with want.
	type step struct {
		send, want string
		more       func(string) bool
	}
	none := func(string) bool { return false }
	smtpMore := func(l string) bool { return len(l) > 3 && l[3] == '-' }
	imapUntagged := func(l string) bool { return strings.HasPrefix(l, "* ") }
	steps := map[string][]step{
		"smtp": {{"", "220", smtpMore}, {"EHLO tls.test", "250", smtpMore}, {"STARTTLS", "220", none}},
		"imap": {{"", "* OK", none}, {"a STARTTLS", "a OK", imapUntagged}},
		"pop3": {{"", "+OK", none}, {"STLS", "+OK", none}},
	}[starttls]
	for _, s := range steps {
		if s.send != "" {
			if _, err := fmt.Fprintf(c, "%s\r\n", s.send); err != nil {
				return tls.ConnectionState{}, err
			}
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return tls.ConnectionState{}, fmt.Errorf("after %q: %w", s.send, err)
			}
			if s.more(line) {
				continue
			}
			if !strings.HasPrefix(line, s.want) {
				return tls.ConnectionState{}, fmt.Errorf("after %q: got %q, want %s", s.send, line, s.want)
			}
			break
		}
	}
	if br.Buffered() > 0 {
		return tls.ConnectionState{}, fmt.Errorf("unexpected bytes before the handshake")
	}
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

// pythonTLS10 connects to each NAME,HOST,PORT with Python's ssl module
// limited to TLS 1.0 and prints NAME OK VERSION CIPHER GREETING, or NAME
// FAIL REASON for an SSL error.
const pythonTLS10 = `
import socket, ssl, sys
for spec in sys.argv[1:]:
    name, host, port = spec.split(",")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw) as s:
                # readline: Go splits CBC records 1/n-1 at TLS 1.0.
                greeting = s.makefile("rb").readline().decode("ascii", "replace").strip()
                print(name, "OK", s.version(), s.cipher()[0], greeting, flush=True)
    except ssl.SSLError as e:
        print(name, "FAIL", e.reason or e, flush=True)
`

func TestLegacyTLS(t *testing.T) {
	for _, tool := range []string{"openssl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: run `make test`, which installs it", tool)
		}
	}
	// Debian 12's OpenSSL 3 is built without 3DES suites; then the 3DES
	// checks are made with Go's TLS client only.
	openssl3DES := exec.Command("openssl", "ciphers", "DES-CBC3-SHA:@SECLEVEL=0").Run() == nil

	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy_tls=%v", legacy), func(t *testing.T) {
			t.Parallel() // the two servers side by side; each one's checks in sequence
			dir := t.TempDir()
			p := startServe(t, dir, "--config", writeLegacyTLSConfig(t, dir, legacy))
			addrs := map[string]string{}
			for _, l := range tlsListeners {
				addrs[l.proto] = p.addr(l.proto)
			}
			policy := certs.ModernSuites
			if legacy {
				policy = append(slices.Clone(certs.ModernSuites), certs.LegacySuites...)
			}
			modern12 := opensslSuites(t, certs.ModernSuites, "TLSv1.2")

			// want: whether the handshake succeeds, the protocol s_client
			// reports, and the suites it may negotiate (nil: exactly the
			// pinned one). failure: the alert a refusal must come with.
			type check struct {
				name    string
				args    []string
				want    bool
				proto   string
				suites  []string
				failure string
			}
			const (
				versionAlert = "alert protocol version"
				suiteAlert   = "alert handshake failure"
			)
			checks := []check{
				{"TLS1.0", []string{"-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"}, legacy, "TLSv1", opensslSuites(t, policy, "TLSv1"), versionAlert},
				{"TLS1.1", []string{"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"}, legacy, "TLSv1.1", opensslSuites(t, policy, "TLSv1.1"), versionAlert},
				// A modern client gets a modern suite even with legacy on.
				{"TLS1.2", []string{"-tls1_2"}, true, "TLSv1.2", modern12, ""},
				{"TLS1.3", []string{"-tls1_3"}, true, "TLSv1.3", tls13SuiteNames, ""},
				{"TLS1.2 only ECDHE-RSA-AES128-SHA (CBC)", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"}, legacy, "TLSv1.2", nil, suiteAlert},
				{"TLS1.2 only AES128-GCM-SHA256 (RSA kx)", []string{"-tls1_2", "-cipher", "AES128-GCM-SHA256"}, legacy, "TLSv1.2", nil, suiteAlert},
				{"TLS1.2 only AES256-SHA (RSA kx, CBC)", []string{"-tls1_2", "-cipher", "AES256-SHA"}, legacy, "TLSv1.2", nil, suiteAlert},
			}
			if openssl3DES {
				checks = append(checks, check{"TLS1.0 only DES-CBC3-SHA (3DES)", []string{"-tls1", "-cipher", "DES-CBC3-SHA:@SECLEVEL=0"}, legacy, "TLSv1", nil, suiteAlert})
			}
			for _, l := range tlsListeners {
				for _, c := range checks {
					t.Run(l.proto+"/"+c.name, func(t *testing.T) {
						r := sClient(t, addrs[l.proto], l.starttls, c.args...)
						if r.ok != c.want {
							t.Fatalf("handshake ok=%v, want ok=%v with legacy_tls=%v (%s %s)\n%s", r.ok, c.want, legacy, r.protocol, r.cipher, r.out)
						}
						if !r.ok {
							if !strings.Contains(r.out, c.failure) {
								t.Errorf("refused without %q: the server must refuse in the handshake\n%s", c.failure, r.out)
							}
							return
						}
						if r.protocol != c.proto {
							t.Errorf("protocol %s, want %s", r.protocol, c.proto)
						}
						suites := c.suites
						if suites == nil {
							suites = []string{strings.Split(c.args[slices.Index(c.args, "-cipher")+1], ":")[0]}
						}
						if !slices.Contains(suites, r.cipher) {
							t.Errorf("cipher %s, want one of %v", r.cipher, suites)
						}
					})
				}
			}

			// 3DES (both suites of certs.LegacySuites) at TLS 1.0 with Go's client.
			for _, l := range tlsListeners {
				for _, suite := range []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA} {
					t.Run(l.proto+"/TLS1.0 only "+tls.CipherSuiteName(suite)+" (Go client)", func(t *testing.T) {
						st, err := startTLSGo(addrs[l.proto], l.starttls, &tls.Config{
							InsecureSkipVerify: true,
							MinVersion:         tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
							CipherSuites: []uint16{suite},
						})
						if (err == nil) != legacy {
							t.Fatalf("handshake err=%v, want ok=%v with legacy_tls=%v", err, legacy, legacy)
						}
						if err != nil {
							if !strings.Contains(err.Error(), "protocol version") {
								t.Errorf("refused with %v, want a protocol version alert", err)
							}
							return
						}
						if st.Version != tls.VersionTLS10 || st.CipherSuite != suite {
							t.Errorf("negotiated %s %s, want TLS 1.0 %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(suite))
						}
					})
				}
			}

			// Independently of OpenSSL's command line: Python's ssl module
			// limited to TLS 1.0, on IMAPS and POP3S, reads the greeting.
			t.Run("python ssl TLSv1 imaps pop3s", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				args := []string{"-c", pythonTLS10}
				for _, proto := range []string{"imaps", "pop3s"} {
					host, port, _ := net.SplitHostPort(addrs[proto])
					args = append(args, proto+","+host+","+port)
				}
				cmd := exec.CommandContext(ctx, "python3", args...)
				cmd.WaitDelay = 2 * time.Second
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("python3: %v\n%s", err, out)
				}
				lines := map[string]string{}
				for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					name, rest, _ := strings.Cut(line, " ")
					lines[name] = rest
				}
				greeting := map[string]string{"imaps": "* OK", "pop3s": "+OK"}
				for _, proto := range []string{"imaps", "pop3s"} {
					got, ok := lines[proto]
					switch {
					case !ok:
						t.Errorf("%s: no result from python\n%s", proto, out)
					case legacy:
						f := strings.Fields(got)
						if len(f) < 4 || f[0] != "OK" || f[1] != "TLSv1" || !slices.Contains(opensslSuites(t, policy, "TLSv1"), f[2]) ||
							!strings.HasPrefix(strings.Join(f[3:], " "), greeting[proto]) {
							t.Errorf("%s: python says %q, want OK TLSv1, a legacy suite and the %q greeting", proto, got, greeting[proto])
						}
					default:
						if !strings.HasPrefix(got, "FAIL") || !strings.Contains(got, "PROTOCOL_VERSION") {
							t.Errorf("%s: python says %q, want FAIL with a protocol version alert", proto, got)
						}
					}
				}
			})
		})
	}
}

// legacy_tls is per protocol: on for POP3 only, TLS 1.0 works on pop3 and
// pop3s and nowhere else (an old scanner's POP3 must not open IMAP and
// SMTP to TLS 1.0).
func TestLegacyTLSPerProtocol(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writeLegacyTLSConfigFor(t, dir, map[string]bool{"pop3": true}))
	for _, l := range tlsListeners {
		want := strings.HasPrefix(l.proto, "pop3")
		st, err := startTLSGo(p.addr(l.proto), l.starttls, &tls.Config{
			InsecureSkipVerify: true,
			MinVersion:         tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
		})
		if (err == nil) != want {
			t.Errorf("%s: TLS 1.0 handshake err=%v, want ok=%v", l.proto, err, want)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("%s: TLS 1.0 refused with %v, want a protocol version alert", l.proto, err)
		}
		if err == nil && st.Version != tls.VersionTLS10 {
			t.Errorf("%s: negotiated %s, want TLS 1.0", l.proto, tls.VersionName(st.Version))
		}
		// TLS 1.2 with a modern suite works everywhere.
		if _, err := startTLSGo(p.addr(l.proto), l.starttls, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}); err != nil {
			t.Errorf("%s: TLS 1.2: %v", l.proto, err)
		}
	}
}
