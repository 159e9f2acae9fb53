package imapserve

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/metrics"
)

// Defaults for Options.
const (
	DefaultMaxConnsPerIP      = 50
	DefaultMaxConnsPerAccount = 20
	// DefaultIdleTimeout is the autologout timer: RFC 3501 section 5.4 wants
	// at least 30 minutes. Shorter values are raised to it.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAppendLimit is the largest message APPEND takes.
	DefaultAppendLimit = 50 << 20
)

// Options configure a Server.
type Options struct {
	Store *mailstore.Store
	Auth  *auth.Authenticator
	// TLSConfig enables STARTTLS on Serve and is used by ServeTLS.
	TLSConfig *tls.Config
	// AllowPlaintext reports whether a client at remote may log in without
	// TLS ([auth] plaintext_networks). Elsewhere, until STARTTLS, the server
	// advertises LOGINDISABLED and answers LOGIN and AUTHENTICATE with
	// NO [PRIVACYREQUIRED]. Nil allows no one.
	AllowPlaintext func(remote netip.Addr) bool
	// Connection caps; 0 means the default. Over the per-IP cap a new
	// connection gets "* BYE"; over the per-account cap a login gets
	// NO [LIMIT].
	MaxConnsPerIP, MaxConnsPerAccount int
	// AppendLimit is the largest message APPEND accepts (STATUS
	// APPENDLIMIT); 0 means DefaultAppendLimit. go-imap itself refuses
	// literals over 100 MiB, so larger values act as 100 MiB.
	AppendLimit int64
	// IdleTimeout is the autologout timer of a logged-in client that sends
	// nothing (IDLE included); 0 or anything below 30 minutes means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	Metrics     *metrics.Metrics // nil: none
	Logger      *slog.Logger

	// idleForTest, if set, is the autologout timer, below the RFC minimum.
	idleForTest time.Duration
}

// Server serves the store over IMAP4rev1. Its methods are safe for
// concurrent use.
type Server struct {
	opt   Options
	log   *slog.Logger
	store *mailstore.Store
	auth  *auth.Authenticator

	idleTimeout time.Duration

	// go-imap decides about plaintext login per server, not per
	// connection: one server for connections that may log in without TLS,
	// one for the others.
	insecure, secure     *imapserver.Server
	insecureLn, secureLn *chanListener
	innerDone            sync.WaitGroup

	hub *hub

	ctx    context.Context // cancelled by Shutdown: logins and store calls
	cancel context.CancelFunc

	nextID atomic.Uint64

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int
	perAcct   map[string]int
	noSession chan struct{} // closed and replaced when sessions becomes empty
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("imapserve: Options.Store and Options.Auth are required")
	}
	if opts.MaxConnsPerIP <= 0 {
		opts.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if opts.MaxConnsPerAccount <= 0 {
		opts.MaxConnsPerAccount = DefaultMaxConnsPerAccount
	}
	if opts.AppendLimit <= 0 {
		opts.AppendLimit = DefaultAppendLimit
	}
	if opts.IdleTimeout < DefaultIdleTimeout {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opt:         opts,
		log:         opts.Logger,
		store:       opts.Store,
		auth:        opts.Auth,
		idleTimeout: cmp.Or(opts.idleForTest, opts.IdleTimeout),
		listeners:   map[net.Listener]struct{}{},
		sessions:    map[*session]struct{}{},
		perIP:       map[netip.Addr]int{},
		perAcct:     map[string]int{},
		noSession:   make(chan struct{}),
	}
	close(s.noSession)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hub = newHub(opts.Store, s.log)

	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	s.insecureLn, s.secureLn = newChanListener(addr), newChanListener(addr)
	s.insecure = imapserver.New(s.imapOptions(true))
	s.secure = imapserver.New(s.imapOptions(false))
	for srv, ln := range map[*imapserver.Server]*chanListener{s.insecure: s.insecureLn, s.secure: s.secureLn} {
		s.innerDone.Add(1)
		go func() {
			defer s.innerDone.Done()
			srv.Serve(ln)
		}()
		<-ln.ready
	}
	return s, nil
}

// capabilities lists what is advertised besides what go-imap adds by
// itself (SASL-IR, LITERAL-, STARTTLS, AUTH=PLAIN AUTH=LOGIN or
// LOGINDISABLED before login; ENABLE, IDLE, UNSELECT, UTF8=ACCEPT after).
//
// Not advertised, though the commands work: BINARY, because go-imap
// leaves the "<origin>" out of partial BINARY[...]<n.m> responses
// (RFC 3516 section 4.2), and so IMAP4rev2, which needs BINARY (and
// LIST-EXTENDED in full). APPENDLIMIT is the bare form (RFC 7889 section
// 3.2: STATUS (APPENDLIMIT) gives the number): with APPENDLIMIT=n go-imap
// would refuse an oversized non-synchronizing literal before reading it,
// and then run the message's lines as commands.
var capabilities = imap.CapSet{
	imap.CapIMAP4rev1:   {},
	imap.CapNamespace:   {},
	imap.CapUIDPlus:     {},
	imap.CapESearch:     {},
	imap.CapSearchRes:   {},
	imap.CapListStatus:  {},
	imap.CapMove:        {},
	imap.CapChildren:    {},
	imap.CapSpecialUse:  {},
	imap.CapLiteralPlus: {},
	imap.CapAppendLimit: {},
}

func (s *Server) imapOptions(insecureAuth bool) *imapserver.Options {
	return &imapserver.Options{
		NewSession:   s.newSession,
		Caps:         capabilities,
		Logger:       goIMAPLogger{s.log},
		TLSConfig:    s.opt.TLSConfig,
		InsecureAuth: insecureAuth,
	}
}

// goIMAPLogger passes go-imap's own messages to slog. It reports client
// disconnections and read errors as "failed to read command"; those are
// routine. "handling X command" is an error that is not an *imap.Error:
// the session's methods return only those, so these come from go-imap's
// parser (a malformed sequence set or mailbox name, which it answers
// with NO [SERVERBUG]): the client's doing, worth a warning. Panics are
// errors.
type goIMAPLogger struct{ log *slog.Logger }

func (l goIMAPLogger) Printf(format string, args ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	switch {
	case strings.HasPrefix(msg, "panic"):
		l.log.Error("imap: "+msg, "component", "go-imap")
	case strings.HasPrefix(msg, "handling "):
		l.log.Warn("imap: "+msg, "component", "go-imap")
	default:
		l.log.Debug("imap: "+msg, "component", "go-imap")
	}
}

// Serve accepts plain connections on l (STARTTLS if Options.TLSConfig is
// set) until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, false)
}

// ServeTLS accepts implicit-TLS connections on l until Shutdown.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opt.TLSConfig == nil {
		return errors.New("imapserve: ServeTLS needs Options.TLSConfig")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("imapserve: server is shut down")
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("imap: accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imapserve: accept: %w", err)
		}
		delay = 0
		s.accept(c, implicitTLS)
	}
}

// accept admits a connection (per-IP cap) and hands it to go-imap.
func (s *Server) accept(c net.Conn, implicitTLS bool) {
	ip := peerIP(c.RemoteAddr())
	id := s.nextID.Add(1)
	s.mu.Lock()
	refuse := ""
	switch {
	case s.closed:
		refuse = "Server shutting down"
	case s.perIP[ip] >= s.opt.MaxConnsPerIP:
		refuse = "Too many connections from your address"
	default:
		s.perIP[ip]++
	}
	s.mu.Unlock()
	if refuse != "" {
		s.log.Info("imap: connection refused", "conn", id, "remote", c.RemoteAddr().String(), "reason", refuse)
		go s.refuse(c, implicitTLS, refuse)
		return
	}
	nc := &netConn{Conn: c, id: id, ip: ip, implicit: implicitTLS, idle: s.idleTimeout}
	nc.release = func() {
		s.mu.Lock()
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		s.mu.Unlock()
	}
	s.log.Debug("imap: connection", "conn", id, "remote", c.RemoteAddr().String(), "implicit_tls", implicitTLS)
	if implicitTLS {
		s.secureLn.push(tls.Server(nc, s.opt.TLSConfig))
		return
	}
	if s.opt.AllowPlaintext != nil && s.opt.AllowPlaintext(ip) {
		s.insecureLn.push(nc)
		return
	}
	s.secureLn.push(nc)
}

// refuse says BYE to a connection over a cap (inside TLS on an
// implicit-TLS port) and closes it.
func (s *Server) refuse(c net.Conn, implicitTLS bool, text string) {
	s.opt.Metrics.ConnectionRefused("imap", "cap")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if implicitTLS {
		c = tls.Server(c, s.opt.TLSConfig)
	}
	fmt.Fprintf(c, "* BYE [UNAVAILABLE] %s\r\n", text)
	c.Close()
}

// newSession is go-imap's NewSession: it finds our netConn under the
// connection go-imap got.
func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	raw := c.NetConn()
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	nc, ok := raw.(*netConn)
	if !ok {
		return nil, nil, fmt.Errorf("imapserve: unexpected connection type %T", raw)
	}
	sess := &session{
		srv:  s,
		conn: c,
		nc:   nc,
		id:   nc.id,
		log:  s.log.With("conn", nc.id, "remote", nc.RemoteAddr().String()),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	if len(s.sessions) == 0 {
		s.noSession = make(chan struct{})
	}
	s.sessions[sess] = struct{}{}
	sess.ended = s.opt.Metrics.SessionStarted("imap")
	s.mu.Unlock()
	nc.setAutologout(func() { sess.bye("Autologout; idle for too long") })
	return sess, nil, nil
}

func (s *Server) endSession(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess]; !ok {
		return
	}
	delete(s.sessions, sess)
	sess.ended()
	if sess.account != "" {
		if s.perAcct[sess.account]--; s.perAcct[sess.account] <= 0 {
			delete(s.perAcct, sess.account)
		}
	}
	if len(s.sessions) == 0 {
		close(s.noSession)
	}
}

// claimAccount counts a login against the per-account cap.
func (s *Server) claimAccount(account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perAcct[account] >= s.opt.MaxConnsPerAccount {
		return false
	}
	s.perAcct[account]++
	return true
}

// Shutdown stops accepting connections, says BYE to every session, and
// waits for them to end until ctx is done; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	wait := s.noSession
	s.mu.Unlock()

	for _, sess := range sessions {
		go sess.bye("Server shutting down")
	}
	var err error
	select {
	case <-wait:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	// Closes the connections that are left and waits for go-imap's accept
	// loops.
	s.insecure.Close()
	s.secure.Close()
	s.innerDone.Wait()
	s.hub.close()
	return err
}
