package inbound

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// listener admits connections: allowed networks (554 5.7.1 at connect) and
// connection caps (421 4.7.0), and wraps each in an idleConn.
type listener struct {
	net.Listener
	s     *Server
	inner bool // under tls.NewListener: the TLS layer wraps what we return
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr())
		if reply, reason := l.s.admit(ip); reply != "" {
			l.s.opt.Metrics.ConnectionRefused("smtp", reason)
			// Said before any TLS handshake, also on implicit-TLS ports:
			// a refused peer gets no handshake at all.
			l.s.log.Info("connection refused", "remote", c.RemoteAddr().String(), "reply", reply)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(reply + "\r\n"))
			c.Close()
			continue
		}
		return l.s.track(&idleConn{Conn: c, ip: ip, read: l.s.opt.ReadTimeout, write: l.s.opt.WriteTimeout, implicitTLS: l.inner}), nil
	}
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// admit returns "" or the reply that refuses a new connection from ip, and
// the reason for metrics.
func (s *Server) admit(ip netip.Addr) (reply, reason string) {
	if len(s.opt.AllowedNetworks) > 0 {
		ok := false
		for _, p := range s.opt.AllowedNetworks {
			if p.Contains(ip) {
				ok = true
				break
			}
		}
		if !ok {
			return "554 5.7.1 " + s.opt.Hostname + " does not accept mail from your address", "network"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "421 4.3.2 " + s.opt.Hostname + " shutting down", "shutdown"
	case s.total >= s.opt.MaxConnections:
		return "421 4.7.0 " + s.opt.Hostname + " too many connections, try again later", "cap"
	case s.perIP[ip] >= s.opt.MaxConnectionsPerIP:
		return "421 4.7.0 " + s.opt.Hostname + " too many connections from your address, try again later", "cap"
	}
	s.total++
	s.perIP[ip]++
	return "", ""
}

func (s *Server) track(c *idleConn) *idleConn {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.release = func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.total--
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
		s.mu.Unlock()
	}
	return c
}

// idleConn moves its deadline forward on every read and write: a slow but
// moving transfer (a 50 MiB message over a thin link) is never cut off, a
// silent peer is. go-smtp's own ReadTimeout is one deadline for the whole
// DATA phase, so it is not used.
type idleConn struct {
	net.Conn
	ip          netip.Addr
	read, write time.Duration
	implicitTLS bool
	once        sync.Once
	release     func()
	// hangUp makes the next write the last: the session sets it before
	// returning its final 421, which go-smtp then writes.
	hangUp atomic.Bool
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.read))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	n, err := c.Conn.Write(p)
	if c.hangUp.Load() {
		c.Conn.Close()
	}
	return n, err
}

// idleConnOf finds the idleConn under a session's connection (under the
// *tls.Conn after STARTTLS or on an implicit-TLS port).
func idleConnOf(c net.Conn) *idleConn {
	for {
		switch v := c.(type) {
		case *idleConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

func (c *idleConn) Close() error {
	c.once.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}
