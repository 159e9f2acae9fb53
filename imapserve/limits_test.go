package imapserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The timer is 1.5 s: long enough that a loaded machine does not log a
// session out between two commands of the test.
func TestAutologout(t *testing.T) {
	e := newIMAPEnv(t, func(o *Options) { o.idleForTest = 1500 * time.Millisecond })
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	a.ok("SELECT INBOX")
	a.expectLine(10*time.Second, "* BYE Autologout; idle for too long")
	if _, err := a.r.ReadByte(); err == nil {
		t.Error("connection still open after autologout")
	}
	// In IDLE too (clients must renew IDLE within the timer).
	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	b.send("I1 IDLE")
	b.expectLine(5*time.Second, "+ idling")
	b.expectLine(10*time.Second, "* BYE Autologout; idle for too long")
	// Over TLS the BYE goes inside TLS.
	ct := e.rawTLS()
	ct.ok(`LOGIN app "s3cret pass"`)
	ct.expectLine(10*time.Second, "* BYE Autologout; idle for too long")
	// Activity keeps a session alive past the timer.
	c := e.raw()
	c.ok(`LOGIN app "s3cret pass"`)
	for range 5 { // 2 s in all, longer than the timer
		time.Sleep(400 * time.Millisecond)
		c.ok("NOOP")
	}
	waitFor(t, 5*time.Second, "closed sessions to be released", func() bool { return e.srv.perAcctCount(imapUser) == 1 })
}

// The default autologout timer is RFC 3501's minimum; shorter settings
// are raised to it.
func TestIdleTimeoutMinimum(t *testing.T) {
	for _, set := range []time.Duration{0, time.Second, 29 * time.Minute} {
		s, err := New(Options{Store: newIMAPEnv(t).store, Auth: newIMAPEnv(t).auth, IdleTimeout: set})
		if err != nil {
			t.Fatal(err)
		}
		if s.idleTimeout != 30*time.Minute {
			t.Errorf("IdleTimeout %v gives %v", set, s.idleTimeout)
		}
		s.Shutdown(context.Background())
	}
}

// Deadlines move with progress: a transfer that keeps moving is never cut
// off by a deadline set at its start, a stalled one is.
func TestDeadlinesFollowProgress(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	nc := &netConn{Conn: server}
	defer nc.Close()
	nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		for range 10 {
			if _, err := nc.Write(bytes.Repeat([]byte("x"), 100)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, 100)
	for range 10 {
		time.Sleep(60 * time.Millisecond) // 600 ms in all, 3 times the deadline
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("slow but moving transfer cut off: %v", err)
	}
	nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := nc.Write([]byte("stalled")); err == nil {
		t.Error("a write nobody reads did not time out")
	}
}

// A 50 MiB message fetched by a client that reads in bursts arrives whole.
func TestFetchLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MiB")
	}
	e := newIMAPEnv(t)
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n")
	for i := 0; b.Len() < 50<<20; i++ {
		fmt.Fprintf(&b, "%08d ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\r\n", i)
	}
	raw := b.Bytes()
	e.deliver(imapUser, "INBOX", raw)
	c, err := net.Dial("tcp", e.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReaderSize(c, 4096)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	line()
	fmt.Fprintf(c, "A1 LOGIN app \"s3cret pass\"\r\nA2 EXAMINE INBOX\r\nA3 FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n")
	for l := ""; !strings.HasPrefix(l, "A2 "); {
		l = line()
	}
	head := line()
	want := fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d BODY[] {%d}\r\n", len(raw), len(raw))
	if head != want {
		t.Fatalf("got %q, want %q", head, want)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for left := len(raw); left > 0; {
		n, err := io.ReadFull(r, buf[:min(left, len(buf))])
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(raw)-left, err)
		}
		h.Write(buf[:n])
		left -= n
		time.Sleep(10 * time.Millisecond) // let the server's writes block
	}
	if !bytes.Equal(h.Sum(nil), sha256Sum(raw)) {
		t.Error("the 50 MiB body differs")
	}
	if l := line(); l != ")\r\n" {
		t.Errorf("after the literal: %q", l)
	}
	if l := line(); !strings.HasPrefix(l, "A3 OK") {
		t.Errorf("FETCH: %q", l)
	}
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func TestShutdown(t *testing.T) {
	e := newIMAPEnv(t)
	idle := e.raw()
	idle.ok(`LOGIN app "s3cret pass"`)
	idle.ok("SELECT INBOX")
	idle.send("I1 IDLE")
	idle.expectLine(5*time.Second, "+ idling")
	sel := e.raw()
	sel.ok(`LOGIN app "s3cret pass"`)
	sel.ok("SELECT INBOX")
	anon := e.raw()
	tlsc := e.rawTLS()
	waitFor(t, 5*time.Second, "4 sessions", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return len(e.srv.sessions) == 4
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, rc := range map[string]*rawConn{"idle": idle, "selected": sel, "not logged in": anon, "tls": tlsc} {
		if l := rc.line(); l != "* BYE Server shutting down" {
			t.Errorf("%s: %q", name, l)
		}
		if _, err := rc.r.ReadByte(); err == nil {
			t.Errorf("%s: still open", name)
		}
	}
	if _, err := net.DialTimeout("tcp", e.plain, time.Second); err == nil {
		// The listener is closed: nothing answers, or at most a BYE.
		t.Log("a connection after Shutdown was accepted by the OS")
	}
	if err := e.srv.Serve(&net.TCPListener{}); err == nil {
		t.Error("Serve after Shutdown did not fail")
	}
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// A panic in a command is logged with the connection id; the client gets
// an error and the session goes on. A panic while a FETCH response is half
// written closes that connection (the response cannot be completed), and
// is logged too.
func TestPanicRecovery(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "p"))
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	boom := func() { panic("test panic") }
	testHookFetchWriting.Store(&boom)
	defer testHookFetchWriting.Store(nil)
	rc.send("F1 FETCH 1 FLAGS")
	for {
		l, err := rc.r.ReadString('\n')
		if err != nil {
			break // closed, as it must be
		}
		if strings.HasPrefix(l, "F1 OK") {
			t.Fatalf("FETCH completed despite the panic: %q", l)
		}
	}
	testHookFetchWriting.Store(nil)
	waitFor(t, 5*time.Second, "the log", func() bool { return strings.Contains(e.logs.String(), "test panic") })
	logs := e.logs.String()
	if !strings.Contains(logs, `msg="imap: panic" conn=`) || !strings.Contains(logs, "op=FETCH") {
		t.Errorf("panic not logged with the connection:\n%s", logs)
	}
	// The server is fine.
	rc2 := e.raw()
	rc2.ok(`LOGIN app "s3cret pass"`)
	rc2.ok("SELECT INBOX")
	rc2.ok("FETCH 1 FLAGS")
	e.logs.mu.Lock()
	e.logs.b.Reset() // the panic above was expected
	e.logs.mu.Unlock()

	// Outside a response: NO [SERVERBUG], and the connection goes on.
	s := &session{srv: e.srv, log: e.srv.log.With("conn", 99)}
	err := func() (err error) {
		defer s.guard("TEST", &err)
		panic("boom")
	}()
	if !errors.Is(err, errInternal) {
		t.Errorf("guard: %v", err)
	}
	e.logs.mu.Lock()
	e.logs.b.Reset()
	e.logs.mu.Unlock()
}

// Clients that ask for a big message and never read it do not pin it in
// the server's memory: bodies stream chunk by chunk, so each stalled
// session holds a chunk and its buffers, not the message.
func TestSlowReadersBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("160 MiB of unread FETCH responses")
	}
	const sessions, size = 20, 8 << 20
	e := newIMAPEnv(t)
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nSubject: big\r\n\r\n")
	for b.Len() < size {
		b.WriteString("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n")
	}
	e.deliver(imapUser, "INBOX", b.Bytes())
	b = bytes.Buffer{}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for range sessions {
		c, err := net.Dial("tcp", e.plain)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4096)
		c.SetDeadline(time.Now().Add(time.Minute))
		r := bufio.NewReaderSize(c, 4096)
		r.ReadString('\n') // greeting
		fmt.Fprintf(c, "A1 LOGIN app \"s3cret pass\"\r\nA2 EXAMINE INBOX\r\nA3 FETCH 1 BODY.PEEK[]\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(l, "* 1 FETCH") {
				break // and never read on
			}
		}
	}
	// Give the servers' writers time to fill the sockets and block.
	time.Sleep(time.Second)
	grown := int64(heap()) - int64(before)
	t.Logf("heap grew by %d KiB for %d stalled 8 MiB fetches", grown>>10, sessions)
	if grown > 24<<20 {
		t.Errorf("heap grew by %d MiB with %d stalled readers of an 8 MiB message: bodies are buffered", grown>>20, sessions)
	}
}
