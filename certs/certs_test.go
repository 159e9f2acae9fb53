package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
)

func TestSelfSignedIsMadeOnceAndServes(t *testing.T) {
	dir := t.TempDir()
	a, err := SelfSigned(dir, "mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := SelfSigned(dir, "mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := a.GetCertificate(nil)
	cb, _ := b.GetCertificate(nil)
	if string(ca.Certificate[0]) != string(cb.Certificate[0]) {
		t.Error("second start generated a new certificate instead of reusing the first")
	}
	if got := ca.Leaf.DNSNames; len(got) != 1 || got[0] != "mail.example.test" {
		t.Errorf("DNS names = %v", got)
	}
	_, keyFile := a.Files()
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
}

func handshake(t *testing.T, server *tls.Config, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		tc.Handshake()
		tc.Write([]byte("x"))
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

func TestPolicy(t *testing.T) {
	src, err := SelfSigned(t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := src.GetCertificate(nil)
	pool := x509.NewCertPool()
	pool.AddCert(leaf.Leaf)
	tests := []struct {
		name    string
		legacy  bool
		version uint16
		suite   uint16
		ok      bool
	}{
		{"modern TLS1.3", false, tls.VersionTLS13, 0, true},
		{"modern TLS1.2 GCM", false, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{"modern refuses TLS1.0", false, tls.VersionTLS10, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{"modern refuses TLS1.1", false, tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{"modern refuses RSA kx", false, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{"legacy TLS1.0 CBC", true, tls.VersionTLS10, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true},
		{"legacy TLS1.1 RSA kx", true, tls.VersionTLS11, tls.TLS_RSA_WITH_AES_256_CBC_SHA, true},
		{"legacy 3DES", true, tls.VersionTLS10, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, true},
		{"legacy still TLS1.3", true, tls.VersionTLS13, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tt.version, MaxVersion: tt.version}
			if tt.suite != 0 {
				client.CipherSuites = []uint16{tt.suite}
			}
			st, err := handshake(t, ServerConfig(src, tt.legacy), client)
			if tt.ok != (err == nil) {
				t.Fatalf("handshake err = %v, want ok=%v", err, tt.ok)
			}
			if err == nil && st.Version != tt.version {
				t.Errorf("version %x, want %x", st.Version, tt.version)
			}
		})
	}
}
