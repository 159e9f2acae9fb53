// Package inbound is maildock's SMTP receiver: it accepts mail for the
// configured addresses only, from the allowed networks only, and replies 250
// only once the message is fsynced into the store.
//
// Reply codes (RFC 5321, enhanced codes RFC 3463):
//
//	554 5.7.1  at connect: the source is outside allowed_networks (RFC 5321 3.1)
//	421 4.7.0  at connect: too many connections (in total or from this IP)
//	530 5.7.0  MAIL before STARTTLS when TLS is required (RFC 3207 4)
//	552 5.3.4  SIZE= at MAIL, or the data, over max_message_size (RFC 1870)
//	550 5.7.1  RCPT to a domain that is not ours: we never relay
//	550 5.1.1  RCPT to an unknown address of our domain
//	452 4.5.3  more than max_recipients (RFC 5321 4.5.3.1.8: a 452 makes the client send the rest later)
//	451 4.3.0  the store failed: temporary, so Exchange Online retries instead of bouncing
//	250 2.0.0  after DATA or BDAT LAST, once the message is committed and fsynced
//
// Timeouts are idle timeouts on the connection (every read and write
// extends its deadline), so a 50 MiB message over a slow but moving link is
// never cut off, while a silent peer is (RFC 5321 4.5.3.2 gives 5 minutes
// for commands and 3 minutes per data block; we use ReadTimeout for both).
package inbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/metrics"
)

// Options configure a Server.
type Options struct {
	Hostname            string
	Store               *mailstore.Store
	Directory           *Directory
	MaxMessageSize      int64
	MaxRecipients       int
	RequireTLS          bool
	AllowedNetworks     []netip.Prefix // empty: anyone
	TLSConfig           *tls.Config    // nil: no STARTTLS and no implicit TLS
	ReadTimeout         time.Duration  // idle time allowed while reading; default 5 minutes
	WriteTimeout        time.Duration  // idle time allowed while writing; default 1 minute
	MaxConnections      int            // default 500
	MaxConnectionsPerIP int            // default 64 (Exchange Online opens many from one address when it drains a queue)
	MaxErrors           int            // refused MAIL/RCPT per session before 421 4.7.0; default 20
	// ClientCertNames, if set, admits MAIL only over TLS with a client
	// certificate that chains to ClientCAs (nil: the system roots) and is
	// valid for one of these names; Exchange Online presents one for
	// mail.protection.outlook.com. Before TLS: 530 5.7.0; otherwise
	// 451 4.7.1.
	ClientCertNames []string
	ClientCAs       *x509.CertPool
	Metrics         *metrics.Metrics // nil: none
	Logger          *slog.Logger
}

// Directory maps recipient addresses to accounts.
type Directory struct {
	Exact    map[string]string // lowercased local@domain -> account
	CatchAll map[string]string // lowercased domain -> account ("@domain" addresses)
	// Pickup says, per account, whether to queue a drop-folder file and
	// whether to also keep the message in the mailbox.
	Pickup map[string]PickupPolicy
	// Quota is, per account, the bytes it may hold (0 or absent: no
	// limit). Beyond it RCPT and DATA get 452 4.2.2, so the sender keeps
	// the mail and retries instead of bouncing it.
	Quota map[string]int64

	domains map[string]bool // every domain of Exact and CatchAll, made by prepare
}

// prepare indexes the domains once, so RCPT does not scan every address.
func (d *Directory) prepare() *Directory {
	d.domains = make(map[string]bool, len(d.CatchAll))
	for dom := range d.CatchAll {
		d.domains[dom] = true
	}
	for addr := range d.Exact {
		if at := strings.LastIndexByte(addr, '@'); at >= 0 {
			d.domains[addr[at+1:]] = true
		}
	}
	return d
}

// PickupPolicy is an account's drop-folder setting.
type PickupPolicy struct {
	Enabled bool
	Keep    bool
}

func (d *Directory) ours(domain string) bool { return d.domains[domain] }

// Server receives mail over SMTP.
type Server struct {
	opt  Options
	log  *slog.Logger
	smtp *smtp.Server
	dir  atomic.Pointer[Directory]
	ids  atomic.Uint64

	mu       sync.Mutex
	total    int
	perIP    map[netip.Addr]int
	sessions map[*session]struct{}
	conns    map[*idleConn]struct{}
	closed   bool
}

// New returns a Server; call Serve or ServeTLS with listeners.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Directory == nil {
		return nil, errors.New("inbound: Store and Directory are required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = 50 << 20
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 100
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 500
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 20
	}
	if opts.MaxConnectionsPerIP <= 0 {
		opts.MaxConnectionsPerIP = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.ClientCertNames) > 0 {
		if opts.TLSConfig == nil {
			return nil, errors.New("inbound: ClientCertNames needs a TLSConfig")
		}
		opts.TLSConfig = requestClientCerts(opts.TLSConfig)
	}
	s := &Server{opt: opts, log: opts.Logger, perIP: map[netip.Addr]int{}, sessions: map[*session]struct{}{}, conns: map[*idleConn]struct{}{}}
	s.dir.Store(opts.Directory.prepare())
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	srv.MaxMessageBytes = opts.MaxMessageSize
	srv.MaxRecipients = 0 // enforced in Rcpt, with the right code
	// Lines in DATA longer than RFC 5321's 1,000 are common in real mail
	// (Exchange, HTML mailers); commands stay bounded by go-smtp's parser.
	srv.MaxLineLength = 0
	srv.EnableSMTPUTF8 = true
	srv.EnableBINARYMIME = true
	// Deadlines are per read and write, set by idleConn.
	srv.ReadTimeout, srv.WriteTimeout = 0, 0
	srv.TLSConfig = opts.TLSConfig
	srv.ErrorLog = slogAdapter{opts.Logger}
	s.smtp = srv
	return s, nil
}

// SetDirectory replaces the recipient directory (config reload).
func (s *Server) SetDirectory(d *Directory) { s.dir.Store(d.prepare()) }

// Serve accepts plain connections, offering STARTTLS if TLS is configured.
func (s *Server) Serve(l net.Listener) error {
	err := s.smtp.Serve(&listener{Listener: l, s: s})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeTLS accepts implicit-TLS connections.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opt.TLSConfig == nil {
		return errors.New("inbound: ServeTLS without a TLS config")
	}
	err := s.smtp.Serve(tls.NewListener(&listener{Listener: l, s: s, inner: true}, s.opt.TLSConfig))
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, lets transactions in progress
// finish until ctx is done, then closes every connection (go-smtp sends 421
// to each).
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.smtp.Shutdown(ctx) }()
	// Sessions outside a transaction go now; those in one go when it ends
	// (see session.Reset); connections that never said EHLO go too.
	s.mu.Lock()
	s.closed = true
	busy := map[*idleConn]bool{}
	var idle []net.Conn
	for ss := range s.sessions {
		ic := underlying(ss.c.Conn())
		busy[ic] = true
		if !ss.inTx {
			idle = append(idle, ss.c.Conn())
		}
	}
	var silent []net.Conn
	for c := range s.conns {
		switch {
		case busy[c]:
		case c.implicitTLS:
			// No session yet, maybe mid-handshake: nothing can be said.
			silent = append(silent, c)
		default:
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range idle {
		s.goodbye(c)
	}
	for _, c := range silent {
		c.Close()
	}
	select {
	case err := <-done:
		if errors.Is(err, smtp.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		s.mu.Lock()
		var rest []net.Conn
		for ss := range s.sessions {
			rest = append(rest, ss.c.Conn())
		}
		s.mu.Unlock()
		for _, c := range rest {
			s.goodbye(c)
		}
		s.smtp.Close()
		<-done
		return ctx.Err()
	}
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }

// underlying finds our idleConn below a TLS connection.
func underlying(c net.Conn) *idleConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	ic, _ := c.(*idleConn)
	return ic
}
