package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maildock/maildock/metrics"
)

// Errors a Backend returns.
var (
	ErrAuthFailed = errors.New("pop3: authentication failed")
	ErrInUse      = errors.New("pop3: maildrop in use")
	ErrGone       = errors.New("pop3: message no longer exists")
)

// Backend logs users in.
type Backend interface {
	// Login checks the credentials and locks the maildrop. It returns
	// ErrAuthFailed or ErrInUse, or another error for trouble.
	Login(ctx context.Context, c ConnInfo, username, password string) (Maildrop, error)
}

// ConnInfo describes the connection a login comes from.
type ConnInfo struct {
	ID        string // the connection id every log line of the session carries
	Remote    net.Addr
	TLS       *tls.ConnectionState // nil without TLS
	Mechanism string               // USER, PLAIN or LOGIN
}

// Maildrop is a locked mailbox snapshot for one session.
type Maildrop interface {
	Messages() []Message               // fixed for the session; number n is Messages()[n-1]
	Open(n int) (io.ReadCloser, error) // raw bytes of message n; ErrGone if it vanished
	Commit(deleted []int) error        // at QUIT: remove these message numbers
	Close()                            // always called once, last: releases the lock
}

// Message is one message of a maildrop.
type Message struct {
	Size int64  // octets with CRLF line endings, as RETR sends them before dot-stuffing
	UIDL string // unique and stable for the message's life
}

// Options configure a Server.
type Options struct {
	Backend   Backend
	TLSConfig *tls.Config // nil: no STLS and no ServeTLS
	// AllowPlaintext says whether a peer may log in without TLS. nil: never.
	AllowPlaintext func(remote net.Addr) bool
	Greeting       string        // host name in the greeting
	IdleTimeout    time.Duration // default 10 minutes (RFC 1939 section 3)
	Expire         string        // CAPA EXPIRE value; "" = not advertised
	LoginDelay     int           // CAPA LOGIN-DELAY seconds; 0 = not advertised
	Implementation string        // CAPA IMPLEMENTATION
	// Connection caps: beyond them a new connection gets
	// "-ERR [SYS/TEMP]" and is closed. 0 means the default.
	MaxConns      int              // default 500
	MaxConnsPerIP int              // default 50
	Metrics       *metrics.Metrics // nil: none
	Logger        *slog.Logger
}

// Server serves POP3.
type Server struct {
	opt Options
	log *slog.Logger
	ids atomic.Uint64

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perIP     map[netip.Addr]int
	closed    bool
	wg        sync.WaitGroup
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.Greeting == "" {
		opts.Greeting = "localhost"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 500
	}
	if opts.MaxConnsPerIP <= 0 {
		opts.MaxConnsPerIP = 50
	}
	return &Server{opt: opts, log: opts.Logger, listeners: map[net.Listener]struct{}{},
		conns: map[*conn]struct{}{}, perIP: map[netip.Addr]int{}}
}

// Serve accepts plain connections (STLS offered when TLS is configured).
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts implicit-TLS connections (port 995).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.opt.TLSConfig == nil {
		return errors.New("pop3: ServeTLS without a TLS config")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicit bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		c := s.newConn(nc, implicit)
		ip := peerIP(nc.RemoteAddr())
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		if len(s.conns) >= s.opt.MaxConns || s.perIP[ip] >= s.opt.MaxConnsPerIP {
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c.refuse()
			}()
			continue
		}
		s.conns[c] = struct{}{}
		s.perIP[ip]++
		s.wg.Add(1)
		s.mu.Unlock()
		ended := s.opt.Metrics.SessionStarted("pop3")
		go func() {
			defer s.wg.Done()
			defer ended()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			if s.perIP[ip]--; s.perIP[ip] <= 0 {
				delete(s.perIP, ip)
			}
			s.mu.Unlock()
		}()
	}
}

// Close stops at once: listeners and connections are closed; nothing is
// committed.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return nil
}

// Shutdown stops accepting, tells every session the server is going away
// (without committing its deletions) and waits for them to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// peerIP is the address a connection comes from, for the per-IP cap.
func peerIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// refuse tells a connection over a cap to come back later (inside TLS on
// an implicit-TLS port) and closes it.
func (c *conn) refuse() {
	defer c.nc.Close()
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	c.log.Warn("pop3: connection refused: too many connections")
	c.s.opt.Metrics.ConnectionRefused("pop3", "cap")
	fmt.Fprintf(c.nc, "-ERR [SYS/TEMP] too many connections, try again later\r\n")
}

func (s *Server) newConn(nc net.Conn, implicit bool) *conn {
	c := &conn{s: s, nc: nc, id: fmt.Sprintf("p%06d", s.ids.Add(1))}
	if implicit {
		c.nc = tls.Server(nc, s.opt.TLSConfig)
		c.isTLS = true
	}
	c.log = s.log.With("conn", c.id, "remote", nc.RemoteAddr().String())
	c.br = bufio.NewReaderSize(c.nc, 1024)
	c.bw = bufio.NewWriterSize(c.nc, 32<<10)
	return c
}
