package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maildock/maildock/certs"
)

// fakeBackend is an in-memory maildrop: the pop3 package's contract is the
// Backend interface; the store adapter is tested against the real store in
// imapserve and end to end in cmd/maildock.
type fakeBackend struct {
	mu        sync.Mutex
	msgs      []string
	locked    bool
	committed [][]int
	closed    int
	gone      map[int]bool
}

func (b *fakeBackend) Login(ctx context.Context, c ConnInfo, user, pass string) (Maildrop, error) {
	if user != "app" || pass != "secret pass" {
		return nil, ErrAuthFailed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locked {
		return nil, ErrInUse
	}
	b.locked = true
	return &fakeDrop{b: b}, nil
}

type fakeDrop struct{ b *fakeBackend }

func (d *fakeDrop) Messages() []Message {
	var out []Message
	for i, m := range d.b.msgs {
		n, _ := CRLFSize(strings.NewReader(m))
		out = append(out, Message{Size: n, UIDL: "uid" + string(rune('a'+i))})
	}
	return out
}

func (d *fakeDrop) Open(n int) (io.ReadCloser, error) {
	if d.b.gone[n] {
		return nil, ErrGone
	}
	return io.NopCloser(strings.NewReader(d.b.msgs[n-1])), nil
}

func (d *fakeDrop) Commit(deleted []int) error {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.b.committed = append(d.b.committed, deleted)
	return nil
}

func (d *fakeDrop) Close() {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	d.b.locked = false
	d.b.closed++
}

var testMsgs = []string{
	"Subject: one\r\n\r\nhello\r\n.dot line\r\n",
	"Subject: two\n\nlf only\nsecond line\nthird line\n",
	"Subject: three\r\n\r\nno final newline",
}

func startPOP3(t *testing.T, b *fakeBackend, tweak func(*Options)) (addr, tlsAddr string, s *Server) {
	t.Helper()
	src, err := certs.SelfSigned(t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Backend: b, TLSConfig: certs.ServerConfig(src, false), AllowPlaintext: func(net.Addr) bool { return true },
		Greeting: "pop.test", Implementation: "maildock", Expire: "NEVER"}
	if tweak != nil {
		tweak(&opts)
	}
	s = New(opts)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	lt, _ := net.Listen("tcp", "127.0.0.1:0")
	go s.Serve(l)
	go s.ServeTLS(lt)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String(), lt.Addr().String(), s
}

type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	cl.expect("+OK")
	return cl
}

func (cl *client) line() string {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := cl.br.ReadString('\n')
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (cl *client) expect(prefix string) string {
	cl.t.Helper()
	l := cl.line()
	if !strings.HasPrefix(l, prefix) {
		cl.t.Fatalf("got %q, want %q", l, prefix)
	}
	return l
}

func (cl *client) cmd(line, prefix string) string {
	cl.t.Helper()
	io.WriteString(cl.c, line+"\r\n")
	return cl.expect(prefix)
}

// multi reads a multi-line body up to the "." line, raw (still stuffed).
func (cl *client) multi() []byte {
	cl.t.Helper()
	var b bytes.Buffer
	for {
		cl.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := cl.br.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("read: %v", err)
		}
		if l == ".\r\n" {
			return b.Bytes()
		}
		b.WriteString(l)
	}
}

func login(cl *client) { cl.cmd("USER app", "+OK"); cl.cmd("PASS secret pass", "+OK maildrop has") }

func TestTransactionAndUpdate(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, nil)
	cl := dial(t, addr)
	login(cl)
	sizes := []int{len(testMsgs[0]), len(testMsgs[1]) + 5, len(testMsgs[2])}
	total := sizes[0] + sizes[1] + sizes[2]
	cl.cmd("STAT", "+OK 3 "+itoa(total))
	cl.cmd("LIST", "+OK")
	if got := string(cl.multi()); got != "1 "+itoa(sizes[0])+"\r\n2 "+itoa(sizes[1])+"\r\n3 "+itoa(sizes[2])+"\r\n" {
		t.Errorf("LIST = %q", got)
	}
	cl.cmd("UIDL 2", "+OK 2 uidb")
	cl.cmd("RETR 1", "+OK")
	if got := string(cl.multi()); got != "Subject: one\r\n\r\nhello\r\n..dot line\r\n" {
		t.Errorf("RETR 1 (dot-stuffed) = %q", got)
	}
	cl.cmd("RETR 2", "+OK")
	body := cl.multi()
	if want := strings.ReplaceAll(testMsgs[1], "\n", "\r\n"); string(body) != want || len(body) != sizes[1] {
		t.Errorf("RETR 2 = %q (%d octets), want %q (%d)", body, len(body), want, sizes[1])
	}
	cl.cmd("RETR 3", "+OK")
	if got := string(cl.multi()); got != testMsgs[2]+"\r\n" {
		t.Errorf("RETR 3 = %q", got)
	}
	cl.cmd("TOP 2 1", "+OK")
	if got := string(cl.multi()); got != "Subject: two\r\n\r\nlf only\r\n" {
		t.Errorf("TOP 2 1 = %q", got)
	}
	cl.cmd("TOP 1 0", "+OK")
	if got := string(cl.multi()); got != "Subject: one\r\n\r\n" {
		t.Errorf("TOP 1 0 = %q", got)
	}
	cl.cmd("DELE 1", "+OK")
	cl.cmd("DELE 1", "-ERR message 1 already deleted")
	cl.cmd("RETR 1", "-ERR")
	cl.cmd("STAT", "+OK 2 "+itoa(sizes[1]+sizes[2]))
	cl.cmd("RSET", "+OK")
	cl.cmd("STAT", "+OK 3 ")
	cl.cmd("DELE 3", "+OK")
	cl.cmd("DELE 9", "-ERR no such message")
	cl.cmd("DELE x", "-ERR no such message")
	cl.cmd("NOOP", "+OK")
	cl.cmd("QUIT", "+OK")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.committed) != 1 || !slices.Equal(b.committed[0], []int{3}) || b.closed != 1 {
		t.Errorf("committed %v, closed %d; want [[3]] and 1", b.committed, b.closed)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDroppedConnectionCommitsNothing(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, nil)
	cl := dial(t, addr)
	login(cl)
	cl.cmd("DELE 1", "+OK")
	cl.c.Close()
	// Wait (bounded) for the session to end.
	for i := 0; i < 200; i++ {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		if closed == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed != 1 || len(b.committed) != 0 {
		t.Errorf("closed %d, committed %v: a dropped connection must delete nothing", b.closed, b.committed)
	}
}

func TestAuthorization(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, nil)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00app\x00secret pass"))
	tests := []struct {
		name  string
		lines [][2]string // command, expected reply prefix
	}{
		{"wrong password", [][2]string{{"USER app", "+OK"}, {"PASS nope", "-ERR [AUTH] invalid username or password"}}},
		{"unknown user, same answer", [][2]string{{"USER bob", "+OK"}, {"PASS secret pass", "-ERR [AUTH] invalid username or password"}}},
		{"PASS without USER", [][2]string{{"PASS x", "-ERR USER first"}}},
		{"transaction command before login", [][2]string{{"STAT", "-ERR log in first"}}},
		{"APOP refused", [][2]string{{"APOP app 0123456789abcdef0123456789abcdef", "-ERR APOP is not supported"}}},
		{"AUTH PLAIN initial response", [][2]string{{"AUTH PLAIN " + plain, "+OK maildrop has 3"}, {"QUIT", "+OK"}}},
		{"AUTH PLAIN challenge", [][2]string{{"AUTH PLAIN", "+ "}, {plain, "+OK maildrop has 3"}, {"QUIT", "+OK"}}},
		{"AUTH LOGIN", [][2]string{{"AUTH LOGIN", "+ VXNlcm5hbWU6"}, {base64.StdEncoding.EncodeToString([]byte("app")), "+ UGFzc3dvcmQ6"}, {base64.StdEncoding.EncodeToString([]byte("secret pass")), "+OK"}, {"QUIT", "+OK"}}},
		{"AUTH cancelled", [][2]string{{"AUTH PLAIN", "+ "}, {"*", "-ERR authentication cancelled"}}},
		{"AUTH bad base64", [][2]string{{"AUTH PLAIN !!!", "-ERR invalid base64"}}},
		{"AUTH unknown mechanism", [][2]string{{"AUTH CRAM-MD5", "-ERR unsupported mechanism"}}},
		{"unknown command", [][2]string{{"FROB", "-ERR unknown command"}}},
		{"line too long", [][2]string{{"NOOP " + strings.Repeat("x", 5000), "-ERR line too long"}, {"QUIT", "+OK"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := dial(t, addr)
			for _, l := range tt.lines {
				cl.cmd(l[0], l[1])
			}
		})
	}
	t.Run("three failures close", func(t *testing.T) {
		cl := dial(t, addr)
		for range 2 {
			cl.cmd("USER app", "+OK")
			cl.cmd("PASS bad", "-ERR [AUTH]")
		}
		cl.cmd("USER app", "+OK")
		cl.cmd("PASS bad", "-ERR [AUTH]")
		cl.expect("-ERR [SYS/PERM]")
	})
	t.Run("in use", func(t *testing.T) {
		first := dial(t, addr)
		login(first)
		second := dial(t, addr)
		second.cmd("USER app", "+OK")
		second.cmd("PASS secret pass", "-ERR [IN-USE]")
		first.cmd("QUIT", "+OK")
	})
}

func TestPlaintextPolicyAndTLS(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, tlsAddr, _ := startPOP3(t, b, func(o *Options) { o.AllowPlaintext = func(net.Addr) bool { return false } })
	cl := dial(t, addr)
	cl.cmd("CAPA", "+OK")
	capa := string(cl.multi())
	if strings.Contains(capa, "USER") || strings.Contains(capa, "SASL") || !strings.Contains(capa, "STLS") || strings.Contains(capa, "APOP") {
		t.Errorf("CAPA without TLS from a non-plaintext network: %q", capa)
	}
	cl.cmd("USER app", "-ERR [SYS/PERM] plaintext login is disabled")
	cl.cmd("AUTH PLAIN x", "-ERR [SYS/PERM]")
	cl.cmd("STLS", "+OK")
	tc := tls.Client(cl.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cl.c, cl.br = tc, bufio.NewReader(tc)
	cl.cmd("CAPA", "+OK")
	capa = string(cl.multi())
	for _, want := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "SASL PLAIN LOGIN", "EXPIRE NEVER", "IMPLEMENTATION maildock"} {
		if !strings.Contains(capa, want) {
			t.Errorf("CAPA after STLS lacks %s: %q", want, capa)
		}
	}
	if strings.Contains(capa, "STLS") {
		t.Error("STLS offered again after STLS")
	}
	login(cl)
	cl.cmd("QUIT", "+OK")

	// Implicit TLS.
	c, err := tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	icl := &client{t: t, c: c, br: bufio.NewReader(c)}
	icl.expect("+OK")
	login(icl)
	icl.cmd("QUIT", "+OK")
}

func TestPipelining(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, nil)
	cl := dial(t, addr)
	io.WriteString(cl.c, "USER app\r\nPASS secret pass\r\nSTAT\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n")
	for _, want := range []string{"+OK", "+OK maildrop has 3", "+OK 3 ", "+OK 1 uida", "+OK", "+OK"} {
		cl.expect(want)
	}
}

func TestIdleTimeout(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, func(o *Options) { o.IdleTimeout = 300 * time.Millisecond })
	idle := dial(t, addr)
	login(idle)
	idle.cmd("DELE 1", "+OK")
	idle.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.br.ReadString('\n'); err == nil {
		t.Error("idle session not closed")
	}
	b.mu.Lock()
	if len(b.committed) != 0 {
		t.Errorf("a timed-out session committed %v", b.committed)
	}
	b.mu.Unlock()
}

// Shutdown tells a connected client before closing. (A separate server
// from TestIdleTimeout: with its short idle timer, a slow machine could
// close this session before Shutdown speaks.)
func TestShutdownSaysSo(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, _, s := startPOP3(t, b, nil)
	busy := dial(t, addr)
	busy.cmd("NOOP", "-ERR")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go s.Shutdown(ctx)
	busy.expect("-ERR [SYS/TEMP] server shutting down")
}

func TestCRLFSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "a\r\n": 3, "a\n": 3, "a\nb": 4, "a\rb\n": 5, "\n\n": 4} {
		if got, _ := CRLFSize(strings.NewReader(in)); got != want {
			t.Errorf("CRLFSize(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestPythonPoplib drives the server with Python's poplib.
func TestPythonPoplib(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed: `make test` installs it")
	}
	b := &fakeBackend{msgs: testMsgs}
	addr, _, _ := startPOP3(t, b, nil)
	host, port, _ := net.SplitHostPort(addr)
	py := `
import poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=20)
caps = p.capa()
assert "UIDL" in caps and "TOP" in caps, caps
p.user("app"); p.pass_("secret pass")
print("stat", p.stat())
print("uidl", [u.decode() for u in p.uidl()[1]])
resp, lines, octets = p.retr(2)
print("retr2", lines, octets)
p.dele(1)
p.quit()
`
	out, err := exec.Command("python3", "-c", py, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	for _, want := range []string{"stat (3, ", "uid 1 uida", "[b'Subject: two', b'', b'lf only', b'second line', b'third line']"} {
		if !strings.Contains(strings.ReplaceAll(string(out), "'1 uida'", "uid 1 uida"), want) {
			t.Errorf("poplib output lacks %q:\n%s", want, out)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.committed) != 1 || !slices.Equal(b.committed[0], []int{1}) {
		t.Errorf("committed %v after poplib dele(1)+quit", b.committed)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER app", "pass secret pass", "TOP 1 10", "", "   ", "AUTH PLAIN AGFwcABz", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, args := parseCommand(line)
		if cmd != strings.ToUpper(cmd) {
			t.Fatalf("command %q not upper-cased", cmd)
		}
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\r\n") {
				t.Fatalf("bad argument %q from %q", a, line)
			}
		}
	})
}

// FuzzSession feeds arbitrary bytes into a whole session: no panic, no hang.
func FuzzSession(f *testing.F) {
	for _, s := range []string{"USER app\r\nPASS secret pass\r\nRETR 1\r\nTOP 2 0\r\nDELE 3\r\nQUIT\r\n", "AUTH LOGIN\r\n*\r\n", "CAPA\nSTLS\n", strings.Repeat("x", 3000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := &fakeBackend{msgs: testMsgs}
		s := New(Options{Backend: b, AllowPlaintext: func(net.Addr) bool { return true }, IdleTimeout: time.Second})
		server, peer := net.Pipe()
		c := s.newConn(server, false)
		done := make(chan struct{})
		go func() { c.serve(); close(done) }()
		go io.Copy(io.Discard, peer)
		peer.Write(in)
		peer.Close()
		<-done
	})
}

// Beyond the per-IP cap a connection is told to come back later, in
// TLS on the implicit-TLS port; a closed session frees its place.
func TestConnectionCaps(t *testing.T) {
	b := &fakeBackend{msgs: testMsgs}
	addr, tlsAddr, _ := startPOP3(t, b, func(o *Options) { o.MaxConnsPerIP = 2 })
	first := dial(t, addr)
	second := dial(t, addr)
	second.cmd("NOOP", "-ERR") // not logged in, but served
	refuse := func(c net.Conn) {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		l, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
			t.Errorf("over the cap: %q %v", l, err)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Error("refused connection left open")
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	refuse(c)
	tc, err := tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	refuse(tc)
	first.cmd("QUIT", "+OK")
	// The server notices the close asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(l, "+OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a place never freed after QUIT: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
