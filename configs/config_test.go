package configs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testHash is bcrypt("change-me"), as in the example file.
const testHash = "$2a$10$f.DzCz3blU703VKcqYjP4uXYbjYtetJzroC7BcEgxONwBL0O8Vx7W"

// oneAccount is a valid [[account]] of four lines.
const oneAccount = `[[account]]
name = "app1"
password_hash = "` + testHash + `"
addresses = ["inbox@app1.example.com"]
`

// lines joins its arguments into a document, one per line: argument i
// is on line i+1.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), "t.toml")
	if err != nil {
		t.Fatalf("Parse: unexpected problems:\n%v\ndocument:\n%s", err, doc)
	}
	return c
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T %q is not Problems", err, err)
	}
	return ps
}

const exampleFile = "maildock.example.toml"

func TestExampleLoads(t *testing.T) {
	c, err := LoadWithOptions(exampleFile, LoadOptions{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, "maildock.example.com"},
		{"smtp.listen", c.SMTP.Listen, []string{"0.0.0.0:25"}},
		{"smtp.listen_tls", c.SMTP.ListenTLS, []string{}},
		{"smtp.require_tls", c.SMTP.RequireTLS, true},
		{"smtp.allowed_prefixes", c.SMTP.AllowedPrefixes, []netip.Prefix{
			netip.MustParsePrefix("40.92.0.0/15"),
			netip.MustParsePrefix("40.107.0.0/16"),
			netip.MustParsePrefix("52.100.0.0/14"),
			netip.MustParsePrefix("104.47.0.0/17"),
			netip.MustParsePrefix("2a01:111:f400::/48"),
			netip.MustParsePrefix("2a01:111:f403::/48"),
		}},
		{"tls", c.TLS, TLSConfig{CertFile: "/etc/maildock/tls/fullchain.pem", KeyFile: "/etc/maildock/tls/privkey.pem"}},
		{"accounts", len(c.Accounts), 2},
		{"domains", c.Domains(), []string{"app1.example.com", "app2.example.com"}},
		{"app1 pickup", c.Accounts[0].Pickup, (*PickupConfig)(nil)},
		{"app1 retention", c.Accounts[0].Retention.D(), 30 * 24 * time.Hour},
		{"app1 quota", c.Accounts[0].Quota, 2 * GiB},
		{"app2 pickup", *c.Accounts[1].Pickup, PickupConfig{Dir: "/srv/app2/drop", Format: "eml", Keep: false, LineEndings: "crlf", FileMode: "0640"}},
		{"submission off", c.Submission.Listen, []string{}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	for _, a := range c.Accounts {
		if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte("change-me")) != nil {
			t.Errorf("account %s: the hash is not of the placeholder password the comment names", a.Name)
		}
	}
}

// TestExampleWithCertificates loads the example with every file check,
// its certificate paths pointed at generated files; and checks that,
// as shipped, the missing certificate is reported at its line.
func TestExampleWithCertificates(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	certLine := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "cert_file") {
			certLine = i + 1
		}
	}

	_, err = Parse(data, exampleFile)
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Line != certLine || !strings.Contains(ps[0].Msg, "no such file") {
		t.Errorf("example without its certificate: got %v, want one problem at line %d about the missing file", ps, certLine)
	}

	cert, key := writeCert(t, t.TempDir())
	data = bytes.Replace(data, []byte("/etc/maildock/tls/fullchain.pem"), []byte(cert), 1)
	data = bytes.Replace(data, []byte("/etc/maildock/tls/privkey.pem"), []byte(key), 1)
	if _, err := Parse(data, exampleFile); err != nil {
		t.Errorf("example with a real certificate: %v", err)
	}
}

// writeCert writes a self-signed certificate and its key into dir.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "maildock.example.com"},
		DNSNames:     []string{"maildock.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestDevelopment(t *testing.T) {
	c := Development()
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, "localhost"},
		{"data_dir", c.DataDir, "./maildock-data"},
		{"self-signed", c.TLS.SelfSigned(), true},
		{"listeners", c.Listeners(), []Listener{
			{"smtp", "127.0.0.1:2525"},
			{"imap", "127.0.0.1:1143"}, {"imaps", "127.0.0.1:1993"},
			{"pop3", "127.0.0.1:1110"}, {"pop3s", "127.0.0.1:1995"},
			{"http", "127.0.0.1:8025"},
		}},
		{"accounts", len(c.Accounts), 1},
		{"name", c.Accounts[0].Name, "app"},
		{"addresses", c.Accounts[0].Addresses, []string{"@app.localhost"}},
		{"pickup", *c.Accounts[0].Pickup, PickupConfig{Dir: "./maildock-data/drop/app", Format: "eml", Keep: true, LineEndings: "crlf", FileMode: "0640"}},
		{"domains", c.Domains(), []string{"app.localhost"}},
		{"plaintext prefixes", c.Auth.PlaintextPrefixes, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		{"allowed prefixes", c.SMTP.AllowedPrefixes, []netip.Prefix{}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("Development() %s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if err := bcrypt.CompareHashAndPassword([]byte(c.Accounts[0].PasswordHash), []byte("app")); err != nil {
		t.Errorf("Development() password hash is not of \"app\": %v", err)
	}
	for _, l := range c.Listeners() {
		a, err := netip.ParseAddrPort(l.Addr)
		if err != nil || !a.Addr().IsLoopback() {
			t.Errorf("Development() %s listens on %s, want loopback only", l.Proto, l.Addr)
		}
	}
	v := &validator{}
	v.config(c)
	if len(v.probs) > 0 {
		t.Errorf("Development() is not valid:\n%v", v.probs)
	}

	// Each call is its own copy.
	c.Accounts[0].Name = "changed"
	c.SMTP.Listen[0] = "changed"
	if d := Development(); d.Accounts[0].Name != "app" || d.SMTP.Listen[0] != "127.0.0.1:2525" {
		t.Errorf("Development() shares state between calls")
	}
}

// TestDefaults parses a file with nothing but an account.
func TestDefaults(t *testing.T) {
	host, _ := os.Hostname()
	c := mustParse(t, oneAccount)
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, host},
		{"data_dir", c.DataDir, "/var/lib/maildock"},
		{"log", c.Log, LogConfig{Level: "info", Format: "text"}},
		{"tls", c.TLS, TLSConfig{}},
		{"smtp.listen", c.SMTP.Listen, []string{"127.0.0.1:25"}},
		{"smtp.listen_tls", c.SMTP.ListenTLS, []string{}},
		{"smtp.max_message_size", c.SMTP.MaxMessageSize, 50 * MiB},
		{"smtp.max_recipients", c.SMTP.MaxRecipients, 100},
		{"smtp.require_tls", c.SMTP.RequireTLS, false},
		{"smtp.allowed_networks", c.SMTP.AllowedNetworks, []string{}},
		{"smtp.legacy_tls", c.SMTP.LegacyTLS, false},
		{"smtp.max_connections", c.SMTP.MaxConnections, 500},
		{"smtp.max_connections_per_ip", c.SMTP.MaxConnectionsPerIP, 64},
		{"smtp.max_errors", c.SMTP.MaxErrors, 20},
		{"imap", c.IMAP, ListenerConfig{Listen: []string{"127.0.0.1:143"}, ListenTLS: []string{"127.0.0.1:993"},
			MaxConnectionsPerIP: 50, MaxConnectionsPerAccount: 20}},
		{"pop3", c.POP3, ListenerConfig{Listen: []string{"127.0.0.1:110"}, ListenTLS: []string{"127.0.0.1:995"},
			MaxConnectionsPerIP: 50}},
		{"submission", c.Submission, ListenerConfig{Listen: []string{}, ListenTLS: []string{},
			MaxConnectionsPerIP: 50, MaxConnectionsPerAccount: 20}},
		{"auth.plaintext_networks", c.Auth.PlaintextNetworks, []string{"127.0.0.0/8", "::1/128"}},
		{"auth.max_failures", c.Auth.MaxFailures, 10},
		{"auth.lockout", c.Auth.Lockout.D(), 15 * time.Minute},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8025"},
		{"relay", c.Relay, RelayConfig{
			Mode: "oauth2", Host: "smtp.office365.com:587", TLS: "starttls",
			QueueLifetime: Duration(48 * time.Hour), RetryInitial: Duration(time.Minute), MaxConnections: 4,
		}},
		{"pickup_out", len(c.PickupOut), 0},
		{"account pickup", c.Accounts[0].Pickup, (*PickupConfig)(nil)},
		{"account retention", c.Accounts[0].Retention, Duration(0)},
		{"account quota", c.Accounts[0].Quota, Size(0)},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("default %s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

// TestDefaultsOfRepeatedTables covers the defaults filled in after
// decoding: [account.pickup], [[pickup_out]], relay_as, token_url.
func TestDefaultsOfRepeatedTables(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, lines(
		`[submission]`,
		`listen = ["127.0.0.1:587"]`,
		`[relay]`,
		`tenant_id = "contoso.onmicrosoft.com"`,
		`client_id = "11111111-1111-1111-1111-111111111111"`,
		`client_secret_file = "`+secret+`"`,
		`[[pickup_out]]`,
		`dir = "/srv/out"`,
		`account = "app1"`,
	)+oneAccount+lines(
		`send_as = ["app1@contoso.com", "other@contoso.com"]`,
		`[account.pickup]`,
		`dir = "/srv/drop"`,
		`[[account]]`,
		`name = "app2"`,
		`password_hash = "`+testHash+`"`,
		`addresses = ["@app2.example.com"]`,
		`send_as = ["app2@contoso.com"]`,
		`relay_as = "mailbox@contoso.com"`,
		`[account.pickup]`,
		`dir = "/srv/drop2"`,
		`keep = false`,
		`format = "maildir"`,
		`line_endings = "lf"`,
		`file_mode = "0600"`,
	))
	checks := []struct {
		name      string
		got, want any
	}{
		{"token_url", c.Relay.TokenURL, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"},
		{"pickup_out after", c.PickupOut[0].After, "delete"},
		{"app1 relay_as", c.Accounts[0].RelayAs, "app1@contoso.com"},
		{"app1 pickup", *c.Accounts[0].Pickup, PickupConfig{Dir: "/srv/drop", Format: "eml", Keep: true, LineEndings: "crlf", FileMode: "0640"}},
		{"app1 perm", c.Accounts[0].Pickup.Perm(), os.FileMode(0o640)},
		{"app2 relay_as", c.Accounts[1].RelayAs, "mailbox@contoso.com"},
		{"app2 pickup", *c.Accounts[1].Pickup, PickupConfig{Dir: "/srv/drop2", Format: "maildir", Keep: false, LineEndings: "lf", FileMode: "0600"}},
		{"app2 perm", c.Accounts[1].Pickup.Perm(), os.FileMode(0o600)},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

// TestEmptyListVersusOmitted: a listen key that is left out keeps its
// default; one set to [] turns the listener off.
func TestEmptyListVersusOmitted(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		get     func(*Config) any
		want    any
		proto   string // must (not) appear in Listeners()
		present bool
	}{
		{"imap.listen_tls omitted", lines("[imap]", `listen = ["127.0.0.1:143"]`),
			func(c *Config) any { return c.IMAP.ListenTLS }, []string{"127.0.0.1:993"}, "imaps", true},
		{"imap.listen_tls empty", lines("[imap]", `listen_tls = []`),
			func(c *Config) any { return c.IMAP.ListenTLS }, []string{}, "imaps", false},
		{"smtp.listen omitted", lines("[smtp]", `max_recipients = 5`),
			func(c *Config) any { return c.SMTP.Listen }, []string{"127.0.0.1:25"}, "smtp", true},
		{"smtp.listen empty", lines("[smtp]", `listen = []`),
			func(c *Config) any { return c.SMTP.Listen }, []string{}, "smtp", false},
		{"smtp.listen replaced, not appended", lines("[smtp]", `listen = ["0.0.0.0:2525", "[::]:2525"]`),
			func(c *Config) any { return c.SMTP.Listen }, []string{"0.0.0.0:2525", "[::]:2525"}, "smtp", true},
		{"pop3 section omitted", "",
			func(c *Config) any { return c.POP3.Listen }, []string{"127.0.0.1:110"}, "pop3", true},
		{"http empty disables", lines("[http]", `listen = ""`),
			func(c *Config) any { return c.HTTP.Listen }, "", "http", false},
		{"plaintext_networks empty", lines("[auth]", `plaintext_networks = []`),
			func(c *Config) any { return c.Auth.PlaintextPrefixes }, []netip.Prefix{}, "", false},
		{"submission set", lines("[submission]", `listen_tls = ["127.0.0.1:465"]`, "[relay]", `mode = "smarthost"`, `host = "smtp.example.com:587"`),
			func(c *Config) any { return c.Submission.ListenTLS }, []string{"127.0.0.1:465"}, "submissions", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.doc+oneAccount)
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if tt.proto == "" {
				return
			}
			found := false
			for _, l := range c.Listeners() {
				found = found || l.Proto == tt.proto
			}
			if found != tt.present {
				t.Errorf("Listeners() has %s: %v, want %v", tt.proto, found, tt.present)
			}
		})
	}
}
