package certs

import "crypto/tls"

// ModernSuites are the TLS 1.2 suites offered by default: forward secret and
// AEAD only. (TLS 1.3 suites are not configurable in Go and all are good.)
var ModernSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// LegacySuites are added when a listener opts into legacy TLS: the CBC
// suites TLS 1.0/1.1 clients need, RSA key exchange (old Windows and Java
// without ECDHE), and 3DES (Windows XP/Server 2003 era). They are set
// explicitly because Go's GODEBUG switches for them (tls10server,
// tlsrsakex, tls3des) are going away.
var LegacySuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// ServerConfig returns a listener's TLS configuration: TLS 1.2+ with
// ModernSuites, or with legacy also TLS 1.0 and 1.1 and LegacySuites.
func ServerConfig(src *Source, legacy bool) *tls.Config {
	cfg := &tls.Config{
		GetCertificate: src.GetCertificate,
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   ModernSuites,
	}
	if legacy {
		cfg.MinVersion = tls.VersionTLS10
		cfg.CipherSuites = append(append([]uint16(nil), ModernSuites...), LegacySuites...)
	}
	return cfg
}
