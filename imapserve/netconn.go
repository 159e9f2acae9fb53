package imapserve

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// goIMAPIdleWait is the shortest read deadline go-imap's imapserver sets while
// it waits for the next command of a logged-in client or for IDLE's DONE (it
// uses 35 minutes, RFC 3501 section 5.4). Shorter deadlines are its per-command
// and per-literal timeouts.
const goIMAPIdleWait = 30 * time.Minute

// netConn is what go-imap's imapserver sees as the connection (or, with TLS,
// what the *tls.Conn it sees runs on, so that its *tls.Conn checks for
// LOGINDISABLED and STARTTLS still work). It changes go-imap's fixed
// deadlines in two ways:
//
//   - Deadlines move with progress: each Read and Write gets the whole
//     duration go-imap asked for, so a 50 MiB FETCH to a slow client (go-imap
//     allows 5 minutes per literal) or a slow APPEND completes as long as
//     bytes keep moving, while a peer that stops reading or writing is cut
//     off.
//   - The wait for the next command of a logged-in client (and for DONE in
//     IDLE) is the server's IdleTimeout; when it expires the client gets
//     "* BYE" (autologout) before the connection closes.
type netConn struct {
	net.Conn
	id       uint64
	ip       netip.Addr
	implicit bool // implicit TLS: a *tls.Conn runs on this one

	readDur  atomic.Int64 // time.Duration; 0: no deadline
	writeDur atomic.Int64
	idleWait atomic.Bool // the current read deadline is the autologout one
	idle     time.Duration

	// autologout is called (once) from Read when the autologout deadline
	// expires; it says BYE through go-imap.
	mu         sync.Mutex
	autologout func()

	closeOnce sync.Once
	release   func()
}

func (c *netConn) setAutologout(f func()) {
	c.mu.Lock()
	c.autologout = f
	c.mu.Unlock()
}

func (c *netConn) Read(p []byte) (int, error) {
	if d := time.Duration(c.readDur.Load()); d > 0 && !c.idleWait.Load() {
		c.Conn.SetReadDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Read(p)
	if err != nil && c.idleWait.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		f := c.autologout
		c.autologout = nil
		c.mu.Unlock()
		if f != nil {
			f()
		}
	}
	return n, err
}

func (c *netConn) Write(p []byte) (int, error) {
	if d := time.Duration(c.writeDur.Load()); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	return c.Conn.Write(p)
}

func (c *netConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		c.readDur.Store(0)
		c.idleWait.Store(false)
		return c.Conn.SetReadDeadline(t)
	}
	d := time.Until(t)
	idle := d >= goIMAPIdleWait
	if idle {
		d = c.idle
	}
	c.idleWait.Store(idle)
	c.readDur.Store(int64(d))
	return c.Conn.SetReadDeadline(time.Now().Add(d))
}

func (c *netConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.writeDur.Store(0)
	} else {
		c.writeDur.Store(int64(time.Until(t)))
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *netConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// Close closes the connection and frees its place in the per-IP count.
func (c *netConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return err
}

// chanListener hands connections the Server accepted (and admitted) to one
// of go-imap's servers.
type chanListener struct {
	addr net.Addr
	c    chan net.Conn
	done chan struct{}
	once sync.Once

	// ready is closed at the first Accept: go-imap's Serve is then in its
	// loop (and has done its WaitGroup.Add, which its Close must not race).
	ready     chan struct{}
	readyOnce sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, c: make(chan net.Conn), done: make(chan struct{}), ready: make(chan struct{})}
}

// push gives c to the listener's Accept, or closes it if the listener is
// closed.
func (l *chanListener) push(c net.Conn) {
	select {
	case l.c <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	l.readyOnce.Do(func() { close(l.ready) })
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// peerIP is the remote address of a connection, IPv4-mapped addresses
// unmapped.
func peerIP(a net.Addr) netip.Addr {
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
