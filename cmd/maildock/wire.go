package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/certs"
	"github.com/maildock/maildock/configs"
	"github.com/maildock/maildock/imapserve"
	"github.com/maildock/maildock/imapserve/pop3"
	"github.com/maildock/maildock/inbound"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/pickup"
)

// This file is the only place config turns into packages' Options.

func smtpOptions(cfg *configs.Config, store *mailstore.Store, src *certs.Source, log *slog.Logger) (inbound.Options, error) {
	var cas *x509.CertPool // nil: the system roots
	if cfg.SMTP.ClientCAFile != "" {
		var err error
		if cas, err = configs.LoadCAFile(cfg.SMTP.ClientCAFile); err != nil {
			return inbound.Options{}, fmt.Errorf("smtp.client_ca_file: %w", err)
		}
	}
	return inbound.Options{
		Hostname:            cfg.Hostname,
		Store:               store,
		Directory:           directory(cfg),
		MaxMessageSize:      int64(cfg.SMTP.MaxMessageSize),
		MaxRecipients:       cfg.SMTP.MaxRecipients,
		RequireTLS:          cfg.SMTP.RequireTLS,
		AllowedNetworks:     cfg.SMTP.AllowedPrefixes,
		TLSConfig:           certs.ServerConfig(src, cfg.SMTP.LegacyTLS),
		MaxConnections:      cfg.SMTP.MaxConnections,
		MaxConnectionsPerIP: cfg.SMTP.MaxConnectionsPerIP,
		MaxErrors:           cfg.SMTP.MaxErrors,
		ClientCertNames:     cfg.SMTP.ClientCertNames,
		ClientCAs:           cas,
		Logger:              log,
	}, nil
}

func pickupFolders(cfg *configs.Config) []pickup.Folder {
	var fs []pickup.Folder
	for _, a := range cfg.Accounts {
		if a.Pickup == nil {
			continue
		}
		fs = append(fs, pickup.Folder{Account: a.Name, Dir: a.Pickup.Dir, Format: a.Pickup.Format,
			LineEndings: a.Pickup.LineEndings, FileMode: a.Pickup.Perm()})
	}
	return fs
}

func authOptions(cfg *configs.Config, log *slog.Logger) auth.Options {
	accts := make([]auth.Account, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		accts[i] = auth.Account{Name: a.Name, PasswordHash: a.PasswordHash}
	}
	return auth.Options{Accounts: accts, MaxFailures: cfg.Auth.MaxFailures, Lockout: cfg.Auth.Lockout.D(), Logger: log}
}

func authAccounts(cfg *configs.Config) []auth.Account { return authOptions(cfg, nil).Accounts }

// plaintextAllowed says whether a peer may log in without TLS.
func plaintextAllowed(prefixes []netip.Prefix) func(net.Addr) bool {
	return func(a net.Addr) bool {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return false
		}
		ip := ap.Addr().Unmap()
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}

func pop3Options(cfg *configs.Config, backend pop3.Backend, src *certs.Source, log *slog.Logger) pop3.Options {
	return pop3.Options{
		Backend:        backend,
		TLSConfig:      certs.ServerConfig(src, cfg.POP3.LegacyTLS),
		AllowPlaintext: plaintextAllowed(cfg.Auth.PlaintextPrefixes),
		Greeting:       cfg.Hostname,
		Implementation: "maildock",
		MaxConnsPerIP:  cfg.POP3.MaxConnectionsPerIP,
		Logger:         log,
	}
}

func imapOptions(cfg *configs.Config, store *mailstore.Store, a *auth.Authenticator, src *certs.Source, log *slog.Logger) imapserve.Options {
	allowed := plaintextAllowed(cfg.Auth.PlaintextPrefixes)
	return imapserve.Options{
		Store:     store,
		Auth:      a,
		TLSConfig: certs.ServerConfig(src, cfg.IMAP.LegacyTLS),
		AllowPlaintext: func(ip netip.Addr) bool {
			return allowed(&net.TCPAddr{IP: ip.AsSlice()})
		},
		AppendLimit:        int64(cfg.SMTP.MaxMessageSize),
		MaxConnsPerIP:      cfg.IMAP.MaxConnectionsPerIP,
		MaxConnsPerAccount: cfg.IMAP.MaxConnectionsPerAccount,
		Logger:             log,
	}
}

// directory maps every account address to its account: full addresses
// exactly, "@domain" as the domain's catch-all.
func directory(cfg *configs.Config) *inbound.Directory {
	d := &inbound.Directory{Exact: map[string]string{}, CatchAll: map[string]string{},
		Pickup: map[string]inbound.PickupPolicy{}, Quota: map[string]int64{}}
	for _, a := range cfg.Accounts {
		if a.Quota > 0 {
			d.Quota[a.Name] = int64(a.Quota)
		}
		if a.Pickup != nil {
			d.Pickup[a.Name] = inbound.PickupPolicy{Enabled: true, Keep: a.Pickup.Keep}
		}
		for _, addr := range a.Addresses {
			addr = strings.ToLower(addr)
			if strings.HasPrefix(addr, "@") {
				d.CatchAll[addr[1:]] = a.Name
			} else {
				d.Exact[addr] = a.Name
			}
		}
	}
	return d
}

// retentionPolicies maps each account with a retention to it.
func retentionPolicies(cfg *configs.Config) map[string]time.Duration {
	p := map[string]time.Duration{}
	for _, a := range cfg.Accounts {
		if a.Retention > 0 {
			p[a.Name] = a.Retention.D()
		}
	}
	return p
}
