package inbound

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"
)

// errClientCert is temporary on purpose: a certificate that does not
// check out is more often a renewal or a config slip on either side than
// an attacker, and Exchange Online keeps retrying a 4xx for two days
// where a 5xx would bounce the mail.
var errClientCert = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Client certificate not accepted"}

// requestClientCerts makes the TLS layer ask for a client certificate
// without requiring one: it is checked at MAIL, so the refusal is an SMTP
// reply the sender logs rather than a failed handshake it retries blindly.
func requestClientCerts(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.ClientAuth = tls.RequestClientCert
	return c
}

// checkClientCert verifies the client certificate of a TLS session
// against Options.ClientCAs (nil: the system roots) and
// Options.ClientCertNames. It returns the name that matched.
func (s *Server) checkClientCert(state tls.ConnectionState) (string, error) {
	if len(state.PeerCertificates) == 0 {
		return "", errors.New("no client certificate")
	}
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	// Exchange Online's certificate is a server certificate it also uses
	// as a client; any extended key usage is accepted.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: s.opt.ClientCAs, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "", err
	}
	for _, name := range s.opt.ClientCertNames {
		if leaf.VerifyHostname(name) == nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("certificate names %v (CN %q) match none of %v", leaf.DNSNames, leaf.Subject.CommonName, s.opt.ClientCertNames)
}
