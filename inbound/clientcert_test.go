package inbound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// testCA issues client certificates as Exchange Online's CA would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key}
}

func (ca *testCA) issue(t *testing.T, cn string, dnsNames ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// With client_cert_names set, MAIL is admitted only over TLS with a
// certificate from a trusted CA that names one of them (wildcards in the
// certificate count, as in Exchange Online's).
func TestClientCertificateNames(t *testing.T) {
	trusted, other := newTestCA(t, "Trusted CA"), newTestCA(t, "Other CA")
	pool := x509.NewCertPool()
	pool.AddCert(trusted.cert)
	ts := startServer(t, func(o *Options) {
		o.ClientCertNames = []string{"mail.protection.outlook.com"}
		o.ClientCAs = pool
	})
	for _, tc := range []struct {
		name string
		cert *tls.Certificate // nil: no STARTTLS at all
		want string
	}{
		{"exact name", ptr(trusted.issue(t, "mail.protection.outlook.com", "mail.protection.outlook.com")), "250"},
		{"wildcard in the certificate", ptr(trusted.issue(t, "eop", "*.protection.outlook.com")), "250"},
		{"other name", ptr(trusted.issue(t, "mx.attacker.test", "mx.attacker.test")), "451 4.7.1"},
		{"name only in CN", ptr(trusted.issue(t, "mail.protection.outlook.com")), "451 4.7.1"},
		{"untrusted CA", ptr(other.issue(t, "mail.protection.outlook.com", "mail.protection.outlook.com")), "451 4.7.1"},
		{"TLS without a certificate", &tls.Certificate{}, "451 4.7.1"},
		{"no TLS", nil, "530 5.7.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *smtp.Client
			var err error
			if tc.cert == nil {
				c, err = smtp.Dial(ts.addr)
			} else {
				cfg := ts.clientTLS.Clone()
				if tc.cert.Certificate != nil {
					cfg.Certificates = []tls.Certificate{*tc.cert}
				}
				c, err = smtp.DialStartTLS(ts.addr, cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := smtpCode(c.Mail("eop@example.org", nil)); got != tc.want {
				t.Errorf("MAIL: %q, want %q", got, tc.want)
			}
		})
	}
	// Implicit TLS is checked the same way.
	cfg := ts.clientTLS.Clone()
	cfg.Certificates = []tls.Certificate{trusted.issue(t, "x", "mail.protection.outlook.com")}
	conn, err := tls.Dial("tcp", ts.tlsAddr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Mail("eop@example.org", nil); err != nil {
		t.Errorf("MAIL over implicit TLS with a good certificate: %v", err)
	}
	if err := c.Rcpt("inbox@app1.test", nil); err != nil {
		t.Errorf("RCPT: %v", err)
	}
	w, _ := c.Data()
	w.Write([]byte("Subject: cert\r\n\r\nok\r\n"))
	if err := w.Close(); err != nil {
		t.Errorf("DATA: %v", err)
	}
	if got := ts.inbox(t, "app1"); len(got) != 1 || !strings.Contains(string(got[0]), "Subject: cert") {
		t.Errorf("stored: %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
