package inbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/maildock/maildock/certs"
	"github.com/maildock/maildock/mailstore"
)

// testServer runs a real Server on 127.0.0.1:0 over a real store.
type testServer struct {
	*Server
	addr, tlsAddr string
	store         *mailstore.Store
	clientTLS     *tls.Config
}

func startServer(t *testing.T, tweak func(*Options)) *testServer {
	t.Helper()
	store, err := mailstore.Open(mailstore.Options{Path: filepath.Join(t.TempDir(), "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := certs.SelfSigned(t.TempDir(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Hostname: "mx.test",
		Store:    store,
		Directory: &Directory{
			Exact:    map[string]string{"inbox@app1.test": "app1", "alias@app1.test": "app1"},
			CatchAll: map[string]string{"app2.test": "app2"},
		},
		MaxMessageSize: 1 << 20,
		MaxRecipients:  5,
		TLSConfig:      certs.ServerConfig(src, false),
	}
	if tweak != nil {
		tweak(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	go s.ServeTLS(lt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		for _, err := range store.Check(context.Background()) {
			if !errors.Is(err, mailstore.ErrClosed) {
				t.Errorf("store check: %v", err)
			}
		}
		store.Close()
	})
	return &testServer{Server: s, addr: l.Addr().String(), tlsAddr: lt.Addr().String(), store: store,
		clientTLS: &tls.Config{InsecureSkipVerify: true}}
}

// inbox returns an account's INBOX messages without the Received header.
func (ts *testServer) inbox(t *testing.T, account string) [][]byte {
	t.Helper()
	snap, err := ts.store.Messages(account, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range snap.Messages {
		raw, err := ts.store.ReadBlob(m.Blob)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stripReceived(t, raw))
	}
	return out
}

func stripReceived(t *testing.T, raw []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(raw, []byte("Received: from ")) {
		t.Fatalf("no Received header first: %.60q", raw)
	}
	i := 0
	for {
		j := bytes.Index(raw[i:], []byte("\r\n"))
		if j < 0 {
			t.Fatalf("unterminated Received header")
		}
		i += j + 2
		if i >= len(raw) || (raw[i] != ' ' && raw[i] != '\t') {
			return raw[i:]
		}
	}
}

func smtpCode(err error) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "250"
}

// sendPlain sends without STARTTLS (smtp.SendMail would upgrade and then
// refuse our self-signed certificate).
func sendPlain(addr, from string, to []string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, r); err != nil {
		return err
	}
	return c.Quit()
}

const simpleMsg = "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"

func TestReplyCodes(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(*Options)
		from  string
		mail  *smtp.MailOptions
		rcpts []string
		body  string
		tls   bool
		stage string // which step fails: mail, rcpt, data, or "" for success
		want  string
	}{
		{name: "delivered", rcpts: []string{"inbox@app1.test"}, want: "250"},
		{name: "case-insensitive", rcpts: []string{"INBOX@App1.Test"}, want: "250"},
		{name: "catch-all", rcpts: []string{"whatever@app2.test"}, want: "250"},
		{name: "null sender (bounce)", from: "<>", rcpts: []string{"inbox@app1.test"}, want: "250"},
		{name: "unknown user", rcpts: []string{"nobody@app1.test"}, stage: "rcpt", want: "550 5.1.1"},
		{name: "foreign domain", rcpts: []string{"victim@example.com"}, stage: "rcpt", want: "550 5.7.1"},
		{name: "subdomain of ours is foreign", rcpts: []string{"inbox@x.app1.test"}, stage: "rcpt", want: "550 5.7.1"},
		{name: "percent hack", rcpts: []string{"victim%example.com@app2.test"}, stage: "rcpt", want: "550 5.7.1"},
		{name: "bang path", rcpts: []string{"example.com!victim@app2.test"}, stage: "rcpt", want: "550 5.7.1"},
		{name: "quoted local part with @", rcpts: []string{`"victim@example.com"@app2.test`}, stage: "rcpt", want: "550 5.7.1"},
		{name: "no domain", rcpts: []string{"inbox"}, stage: "rcpt", want: "501 5.5.2"}, // go-smtp's syntax check
		{name: "SIZE over the limit at MAIL", mail: &smtp.MailOptions{Size: 2 << 20}, rcpts: []string{"inbox@app1.test"}, stage: "mail", want: "552 5.3.4"},
		{name: "data over the limit", rcpts: []string{"inbox@app1.test"}, body: simpleMsg + strings.Repeat("x", 1<<20), stage: "data", want: "552 5.3.4"},
		{name: "require TLS without TLS", tweak: func(o *Options) { o.RequireTLS = true }, rcpts: []string{"inbox@app1.test"}, stage: "mail", want: "530 5.7.0"},
		{name: "require TLS after STARTTLS", tweak: func(o *Options) { o.RequireTLS = true }, tls: true, rcpts: []string{"inbox@app1.test"}, want: "250"},
		{name: "too many recipients", rcpts: []string{"a@app2.test", "b@app2.test", "c@app2.test", "d@app2.test", "e@app2.test", "f@app2.test"}, stage: "rcpt", want: "452 4.5.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.tweak)
			dial := smtp.Dial
			if tt.tls {
				dial = func(addr string) (*smtp.Client, error) { return smtp.DialStartTLS(addr, ts.clientTLS) }
			}
			c, err := dial(ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			from := tt.from
			if from == "" {
				from = "sender@example.org"
			} else if from == "<>" {
				from = ""
			}
			body := tt.body
			if body == "" {
				body = simpleMsg
			}
			got, stage := func() (string, string) {
				if err := c.Mail(from, tt.mail); err != nil {
					return smtpCode(err), "mail"
				}
				for _, r := range tt.rcpts {
					if err := c.Rcpt(r, nil); err != nil {
						return smtpCode(err), "rcpt"
					}
				}
				w, err := c.Data()
				if err != nil {
					return smtpCode(err), "data"
				}
				io.WriteString(w, body)
				if err := w.Close(); err != nil {
					return smtpCode(err), "data"
				}
				return "250", ""
			}()
			if got != tt.want || stage != tt.stage {
				t.Fatalf("got %q at %q, want %q at %q", got, stage, tt.want, tt.stage)
			}
			if tt.want == "250" {
				acct := "app1"
				if strings.Contains(tt.rcpts[0], "app2") {
					acct = "app2"
				}
				msgs := ts.inbox(t, acct)
				if len(msgs) != 1 || string(msgs[0]) != body {
					t.Errorf("stored %d messages, first %q; want the body once", len(msgs), msgs)
				}
			}
		})
	}
}

func TestOneCopyPerAccount(t *testing.T) {
	ts := startServer(t, nil)
	err := sendPlain(ts.addr, "s@example.org", []string{"inbox@app1.test", "alias@app1.test", "INBOX@app1.test", "x@app2.test", "y@app2.test"}, strings.NewReader(simpleMsg))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ts.inbox(t, "app1")); n != 1 {
		t.Errorf("app1 has %d copies, want 1", n)
	}
	if n := len(ts.inbox(t, "app2")); n != 1 {
		t.Errorf("app2 has %d copies, want 1", n)
	}
}

func TestReceivedHeader(t *testing.T) {
	ts := startServer(t, nil)
	c, err := smtp.DialStartTLS(ts.addr, ts.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("s@example.org", []string{"inbox@app1.test"}, strings.NewReader(simpleMsg)); err != nil {
		t.Fatal(err)
	}
	snap, _ := ts.store.Messages("app1", "INBOX")
	raw, _ := ts.store.ReadBlob(snap.Messages[0].Blob)
	hdr := string(raw[:len(raw)-len(simpleMsg)])
	for _, want := range []string{"Received: from localhost (127.0.0.1)", "by mx.test (maildock) with ESMTPS", "(using TLS 1.3 with cipher TLS_", "for <inbox@app1.test>;"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("Received header %q lacks %q", hdr, want)
		}
	}
}

func TestAllowedNetworksRefusedAtConnect(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	for _, addr := range []string{ts.addr, ts.tlsAddr} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "554 5.7.1 ") {
			t.Errorf("%s: greeting %q, want 554 5.7.1", addr, line)
		}
	}
}

func TestStorageFailureIs451(t *testing.T) {
	ts := startServer(t, nil)
	c, err := smtp.Dial(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("s@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("inbox@app1.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, simpleMsg)
	ts.store.Close() // the disk went away
	if got := smtpCode(w.Close()); got != "451 4.3.0" {
		t.Errorf("DATA with the store closed: %s, want 451 4.3.0", got)
	}
}

func TestImplicitTLS(t *testing.T) {
	ts := startServer(t, nil)
	conn, err := tls.Dial("tcp", ts.tlsAddr, ts.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.SendMail("s@example.org", []string{"inbox@app1.test"}, strings.NewReader(simpleMsg)); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.inbox(t, "app1")); n != 1 {
		t.Errorf("%d messages after implicit TLS, want 1", n)
	}
}

// bdatClient is a hand-written CHUNKING client: go-smtp's client does not
// send BDAT, and Exchange Online does.
type bdatClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialBDAT(t *testing.T, addr string) *bdatClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b := &bdatClient{t: t, c: c, br: bufio.NewReader(c)}
	b.expect("220")
	b.send("EHLO exo.test\r\n")
	if caps := b.expect("250"); !strings.Contains(caps, "CHUNKING") || !strings.Contains(caps, "BINARYMIME") || !strings.Contains(caps, "PIPELINING") {
		t.Fatalf("EHLO lacks CHUNKING/BINARYMIME/PIPELINING: %s", caps)
	}
	return b
}

func (b *bdatClient) send(s string) {
	if _, err := io.WriteString(b.c, s); err != nil {
		b.t.Fatal(err)
	}
}

// expect reads one (possibly multi-line) reply and checks its code.
func (b *bdatClient) expect(code string) string {
	b.t.Helper()
	var all strings.Builder
	for {
		line, err := b.br.ReadString('\n')
		if err != nil {
			b.t.Fatalf("waiting for %s: %v (so far %q)", code, err, all.String())
		}
		all.WriteString(line)
		if !strings.HasPrefix(line, code) {
			b.t.Fatalf("got %q, want %s", line, code)
		}
		if len(line) < 4 || line[3] != '-' {
			return all.String()
		}
	}
}

// sendChunks pipelines MAIL, RCPT and every BDAT chunk in one write, as
// Exchange does, then reads the replies in order.
func (b *bdatClient) sendChunks(msg []byte, chunk int) {
	var w bytes.Buffer
	w.WriteString("MAIL FROM:<s@example.org> BODY=BINARYMIME\r\nRCPT TO:<inbox@app1.test>\r\n")
	n := 0
	for off := 0; off < len(msg); off += chunk {
		end := min(off+chunk, len(msg))
		last := ""
		if end == len(msg) {
			last = " LAST"
		}
		fmt.Fprintf(&w, "BDAT %d%s\r\n", end-off, last)
		w.Write(msg[off:end])
		n++
	}
	if len(msg) == 0 {
		w.WriteString("BDAT 0 LAST\r\n")
		n++
	}
	go func() { b.c.Write(w.Bytes()) }()
	b.expect("250") // MAIL
	b.expect("250") // RCPT
	for range n {
		b.expect("250")
	}
}

func TestBDAT(t *testing.T) {
	long := "X-Long: " + strings.Repeat("z", 5000) + "\r\n"
	binary := []byte("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n")
	for i := range 3000 {
		binary = append(binary, byte(i), 0, '\n', '\r', '.')
	}
	tests := []struct {
		name  string
		msg   []byte
		chunk int
	}{
		{"one chunk", []byte(simpleMsg), 1 << 20},
		{"many small chunks pipelined", []byte(simpleMsg + strings.Repeat("line\r\n", 500)), 7},
		{"lines over 2000 bytes", []byte(long + simpleMsg + strings.Repeat("y", 9000) + "\r\n"), 3000},
		{"binary with NULs and bare CR/LF", binary, 1000},
		{"chunk boundary splits CRLF", []byte("Subject: s\r\n\r\nab\r\ncd\r\n"), 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil)
			b := dialBDAT(t, ts.addr)
			b.sendChunks(tt.msg, tt.chunk)
			got := ts.inbox(t, "app1")
			if len(got) != 1 || !bytes.Equal(got[0], tt.msg) {
				t.Errorf("stored %d messages; want the %d bytes sent, byte-exact", len(got), len(tt.msg))
			}
		})
	}
}

func TestBDATTooLarge(t *testing.T) {
	ts := startServer(t, nil)
	b := dialBDAT(t, ts.addr)
	big := bytes.Repeat([]byte("a"), 600<<10)
	b.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<inbox@app1.test>\r\n")
	b.expect("250")
	b.expect("250")
	b.send(fmt.Sprintf("BDAT %d\r\n", len(big)))
	go b.c.Write(big)
	b.expect("250")
	b.send(fmt.Sprintf("BDAT %d LAST\r\n", len(big)))
	go b.c.Write(big)
	if reply := b.expect("552"); !strings.Contains(reply, "5.3.4") {
		t.Errorf("oversized BDAT: %q", reply)
	}
	if n := len(ts.inbox(t, "app1")); n != 0 {
		t.Errorf("%d messages stored after 552", n)
	}
}

// A 50 MiB message in 1 MiB BDAT chunks, as Exchange sends large mail.
func TestBDAT50MiB(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxMessageSize = 60 << 20 })
	msg := make([]byte, 0, 50<<20)
	msg = append(msg, "Subject: big\r\n\r\n"...)
	line := []byte(strings.Repeat("0123456789", 7) + "\r\n")
	for len(msg)+len(line) <= 50<<20 {
		msg = append(msg, line...)
	}
	b := dialBDAT(t, ts.addr)
	b.sendChunks(msg, 1<<20)
	snap, _ := ts.store.Messages("app1", "INBOX")
	if len(snap.Messages) != 1 {
		t.Fatalf("%d messages", len(snap.Messages))
	}
	r, err := ts.store.OpenBlob(snap.Messages[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(r)
	if got, want := sha256.Sum256(stripReceived(t, all)), sha256.Sum256(msg); got != want {
		t.Error("50 MiB message not stored byte-exact")
	}
}

func TestCorpusOverDATAAndBDAT(t *testing.T) {
	files, _ := filepath.Glob("../testdata/corpus/*.eml")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	ts := startServer(t, func(o *Options) { o.MaxMessageSize = 10 << 20 })
	var want [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sendPlain(ts.addr, "s@example.org", []string{"inbox@app1.test"}, bytes.NewReader(raw)); err != nil {
			t.Fatalf("%s over DATA: %v", filepath.Base(f), err)
		}
		want = append(want, overDATA(raw))
		b := dialBDAT(t, ts.addr)
		b.sendChunks(raw, 4096)
		b.c.Close()
		want = append(want, raw)
	}
	got := ts.inbox(t, "app1")
	if len(got) != len(want) {
		t.Fatalf("%d stored, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s (%s): not byte-exact", filepath.Base(files[i/2]), []string{"DATA", "BDAT"}[i%2])
		}
	}
}

// overDATA is what DATA can carry of raw: a DATA transfer is lines, so the
// client (Go's textproto dot writer) sends each bare LF as CRLF and adds a
// final CRLF; BDAT carries the bytes as they are.
func overDATA(raw []byte) []byte {
	var out []byte
	cr := false
	for _, c := range raw {
		if c == '\n' && !cr {
			out = append(out, '\r')
		}
		cr = c == '\r' && !cr
		out = append(out, c)
	}
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

func TestConcurrentSenders(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxConnectionsPerIP = 64 })
	const senders, each = 32, 5
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := fmt.Sprintf("Message-ID: <%d.%d@t>\r\nSubject: c\r\n\r\nbody\r\n", g, i)
				errs <- sendPlain(ts.addr, "s@example.org", []string{"inbox@app1.test"}, strings.NewReader(msg))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := ts.inbox(t, "app1")
	seen := map[string]bool{}
	for _, m := range got {
		seen[string(m)] = true
	}
	if len(got) != senders*each || len(seen) != senders*each {
		t.Errorf("%d stored, %d distinct; want %d", len(got), len(seen), senders*each)
	}
}

func TestConnectionCapPerIP(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxConnectionsPerIP = 2 })
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "220") {
			t.Fatalf("greeting %q", line)
		}
		conns = append(conns, c)
	}
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "421 4.7.0") {
		t.Errorf("third connection: %q, want 421 4.7.0", line)
	}
	conns[0].Close()
	// The slot is released when the server sees the close; retry a bounded
	// number of times until it does.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(line, "220") {
			break
		}
		if i == 200 {
			t.Fatalf("slot never released: %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	ts := startServer(t, nil)
	// An idle session and one in the middle of DATA.
	idle := dialBDAT(t, ts.addr)
	busy := dialBDAT(t, ts.addr)
	busy.send("MAIL FROM:<s@example.org>\r\n")
	busy.expect("250")
	busy.send("RCPT TO:<inbox@app1.test>\r\n")
	busy.expect("250")
	busy.send("DATA\r\n")
	busy.expect("354")
	busy.send("Subject: in flight\r\n\r\nfirst half\r\n")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()
	if reply := idle.expect("421"); !strings.Contains(reply, "4.3.2") {
		t.Errorf("idle session told %q", reply)
	}
	busy.send("second half\r\n.\r\n")
	busy.expect("250")
	busy.expect("421")
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("a connection was accepted after Shutdown")
	}
	if n := len(ts.inbox(t, "app1")); n != 1 {
		t.Errorf("%d messages after shutdown, want the in-flight one", n)
	}
}

func TestShutdownDeadlineCutsOff(t *testing.T) {
	ts := startServer(t, nil)
	busy := dialBDAT(t, ts.addr)
	busy.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<inbox@app1.test>\r\nDATA\r\n")
	busy.expect("250")
	busy.expect("250")
	busy.expect("354")
	busy.send("Subject: never finished\r\n\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown past its deadline: %v", err)
	}
	busy.expect("421")
	if n := len(ts.inbox(t, "app1")); n != 0 {
		t.Errorf("a half-received message was stored")
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"inbox@app1.test", "a%b@app2.test", `"x@y"@app2.test`, "@app2.test", "x@", "", "A@APP2.TEST", "\x00@app2.test"} {
		f.Add(s)
	}
	s := &Server{}
	s.SetDirectory(&Directory{Exact: map[string]string{"inbox@app1.test": "app1"}, CatchAll: map[string]string{"app2.test": "app2"}})
	f.Fuzz(func(t *testing.T, addr string) {
		acct, err := s.lookup(addr)
		if err == nil {
			low := strings.ToLower(strings.TrimSpace(addr))
			if acct == "" || (!strings.HasSuffix(low, "@app1.test") && !strings.HasSuffix(low, "@app2.test")) {
				t.Fatalf("lookup(%q) = %q: accepted outside our domains", addr, acct)
			}
		}
	})
}

func TestSetDirectory(t *testing.T) {
	ts := startServer(t, nil)
	send := func() string {
		return smtpCode(sendPlain(ts.addr, "s@example.org", []string{"new@app3.test"}, strings.NewReader(simpleMsg)))
	}
	if got := send(); got != "550 5.7.1" {
		t.Fatalf("before reload: %s, want 550 5.7.1", got)
	}
	ts.SetDirectory(&Directory{Exact: map[string]string{"new@app3.test": "app3"}})
	if got := send(); got != "250" {
		t.Fatalf("after reload: %s, want 250", got)
	}
	if got := smtpCode(sendPlain(ts.addr, "s@example.org", []string{"inbox@app1.test"}, strings.NewReader(simpleMsg))); got != "550 5.7.1" {
		t.Errorf("address removed by the reload: %s, want 550 5.7.1", got)
	}
}

// A session that keeps getting refused (an address harvester) gets 421
// 4.7.0 at MaxErrors and is closed, in clear text and after STARTTLS;
// more recipients than MaxRecipients are not errors (RFC 5321 3.3).
func TestTooManyErrors(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxErrors = 3; o.MaxRecipients = 2 })
	for _, startTLS := range []bool{false, true} {
		c, err := smtp.Dial(ts.addr)
		if startTLS {
			c, err = smtp.DialStartTLS(ts.addr, ts.clientTLS)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Mail("h@example.org", nil); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"550 5.1.1", "550 5.7.1", "421 4.7.0"} {
			rcpt := fmt.Sprintf("guess%d@app1.test", i)
			if i == 1 {
				rcpt = "victim@elsewhere.test"
			}
			if got := smtpCode(c.Rcpt(rcpt, nil)); got != want {
				t.Errorf("tls=%v RCPT %d: %q, want %q", startTLS, i, got, want)
			}
		}
		if err := c.Noop(); err == nil {
			t.Errorf("tls=%v: connection still open after 421", startTLS)
		}
	}

	// 452 for recipients beyond MaxRecipients is no error: the message
	// still goes through.
	c, err := smtp.Dial(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hello("many.test")
	c.Mail("m@example.org", nil)
	for i := range 6 {
		err := c.Rcpt(fmt.Sprintf("r%d@app2.test", i), nil)
		if want := map[bool]string{true: "250", false: "452 4.5.3"}[i < 2]; smtpCode(err) != want {
			t.Errorf("RCPT %d: %q, want %q", i, smtpCode(err), want)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: many\r\n\r\nbody\r\n")
	if err := w.Close(); err != nil {
		t.Errorf("DATA after 452s: %v", err)
	}
}

// Over quota, RCPT and DATA answer 452 4.2.2 (temporary: Exchange keeps
// the mail and retries); other accounts are not affected; freeing space
// lets mail in again.
func TestQuota(t *testing.T) {
	dir := func(quota int64) *Directory {
		return &Directory{
			Exact:    map[string]string{"inbox@app1.test": "app1"},
			CatchAll: map[string]string{"app2.test": "app2"},
			Quota:    map[string]int64{"app1": quota},
		}
	}
	ts := startServer(t, func(o *Options) { o.Directory = dir(3000) })
	msg := func(n int) io.Reader {
		return strings.NewReader("Subject: q\r\n\r\n" + strings.Repeat("x", n) + "\r\n")
	}
	send := func(rcpt string, n int) string {
		return smtpCode(sendPlain(ts.addr, "s@example.org", []string{rcpt}, msg(n)))
	}
	if got := send("inbox@app1.test", 2000); got != "250" {
		t.Fatalf("under quota: %s", got)
	}
	// Room is left, but not for this message: refused at DATA.
	if got := send("inbox@app1.test", 1500); got != "452 4.2.2" {
		t.Errorf("message beyond the quota: %s, want 452 4.2.2", got)
	}
	if got := send("x@app2.test", 5000); got != "250" {
		t.Errorf("account without a quota: %s", got)
	}
	// With the quota lowered below the usage, RCPT is refused already.
	ts.SetDirectory(dir(1000))
	c, err := smtp.Dial(ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hello("q.test")
	c.Mail("s@example.org", nil)
	if got := smtpCode(c.Rcpt("inbox@app1.test", nil)); got != "452 4.2.2" {
		t.Errorf("RCPT over quota: %s, want 452 4.2.2", got)
	}
	c.Close()
	// Space freed (an app fetched and deleted its mail): accepted again.
	ctx := context.Background()
	snap, _ := ts.store.Messages("app1", "INBOX")
	for _, m := range snap.Messages {
		if _, err := ts.store.Expunge(ctx, "app1", "INBOX", []uint32{m.UID}); err != nil {
			t.Fatal(err)
		}
	}
	if got := send("inbox@app1.test", 100); got != "250" {
		t.Errorf("after freeing space: %s", got)
	}
	if n := len(ts.inbox(t, "app1")); n != 1 {
		t.Errorf("app1 holds %d messages, want 1", n)
	}
}
