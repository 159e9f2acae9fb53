package imapserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/crypto/bcrypt"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/certs"
	"github.com/maildock/maildock/mailstore"
)

// Test accounts.
const (
	imapUser     = "app"
	imapPass     = "s3cret pass"
	imapOther    = "other"
	imapOtherPwd = "other-pw"
)

// imapEnv is a real Server on 127.0.0.1 with a real store in a temporary
// directory: a plain listener (login without TLS allowed, as from
// [auth] plaintext_networks) and an implicit-TLS one.
type imapEnv struct {
	t         testing.TB
	dir       string
	store     *mailstore.Store
	auth      *auth.Authenticator
	srv       *Server
	plain     string // address of Serve
	tls       string // address of ServeTLS
	clientTLS *tls.Config
	logs      *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	imapHashOnce sync.Once
	imapHashes   map[string]string
)

func imapTestAccounts(t testing.TB) []auth.Account {
	imapHashOnce.Do(func() {
		imapHashes = map[string]string{}
		for _, p := range []string{imapPass, imapOtherPwd} {
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			imapHashes[p] = string(h)
		}
	})
	return []auth.Account{{Name: imapUser, PasswordHash: imapHashes[imapPass]}, {Name: imapOther, PasswordHash: imapHashes[imapOtherPwd]}}
}

// newIMAPEnv starts a server; opts may change its Options.
func newIMAPEnv(t testing.TB, opts ...func(*Options)) *imapEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := mailstore.Open(mailstore.Options{Path: filepath.Join(dir, "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := certs.SelfSigned(dir, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &imapEnv{t: t, dir: dir, store: store, logs: logs,
		auth:      auth.New(auth.Options{Accounts: imapTestAccounts(t), CacheTTL: -1}),
		clientTLS: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"},
	}
	o := Options{
		Store:          store,
		Auth:           e.auth,
		TLSConfig:      certs.ServerConfig(src, false),
		AllowPlaintext: func(netip.Addr) bool { return true },
		Logger:         log,
	}
	for _, f := range opts {
		f(&o)
	}
	if e.srv, err = New(o); err != nil {
		t.Fatal(err)
	}
	for _, implicit := range []bool{false, true} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if implicit {
			e.tls = l.Addr().String()
			go e.srv.ServeTLS(l)
		} else {
			e.plain = l.Addr().String()
			go e.srv.Serve(l)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for _, err := range store.Check(context.Background()) {
			t.Errorf("store check: %v", err)
		}
		store.Close()
		if strings.Contains(logs.String(), "panic") || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("server log has an error or a panic:\n%s", logs.String())
		}
		if t.Failed() && testing.Verbose() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return e
}

// deliver stores raw into an account's mailbox as SMTP would and returns
// its UID.
func (e *imapEnv) deliver(account, mailbox string, raw []byte, flags ...string) uint32 {
	e.t.Helper()
	m, err := mailstore.ReadMessage(bytes.NewReader(raw), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.store.Deliver(context.Background(), m, []mailstore.Target{{Account: account, Mailbox: mailbox, Flags: flags}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d[0].UID
}

func (e *imapEnv) mkdir(account, name string) {
	e.t.Helper()
	if err := e.store.CreateMailbox(context.Background(), account, name); err != nil {
		e.t.Fatal(err)
	}
}

// testMessage is a small well-formed message.
func testMessage(i int, subject string) []byte {
	return []byte(fmt.Sprintf("From: Sender %d <sender%d@example.org>\r\n"+
		"To: app@app.localhost\r\n"+
		"Subject: %s\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n"+
		"Message-ID: <msg%d@example.org>\r\n"+
		"\r\n"+
		"Body of message %d.\r\nSecond line.\r\n", i, i, subject, i, i))
}

// client dials the plain listener with go-imap's client; not logged in.
func (e *imapEnv) client(opts ...*imapclient.Options) *imapclient.Client {
	e.t.Helper()
	var o *imapclient.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	c, err := imapclient.DialInsecure(e.plain, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// login dials and logs in as user.
func (e *imapEnv) login(user, pass string, opts ...*imapclient.Options) *imapclient.Client {
	e.t.Helper()
	c := e.client(opts...)
	if err := c.Login(user, pass).Wait(); err != nil {
		e.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// selectBox logs in as the test user and selects mailbox.
func (e *imapEnv) selectBox(mailbox string, opts ...*imapclient.Options) (*imapclient.Client, *imap.SelectData) {
	e.t.Helper()
	c := e.login(imapUser, imapPass, opts...)
	data, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		e.t.Fatalf("select %s: %v", mailbox, err)
	}
	return c, data
}

// ---- A raw client for exact wire checks

// rawConn speaks IMAP line by line, for transcripts where the bytes
// matter.
type rawConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func (e *imapEnv) raw() *rawConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.plain)
	if err != nil {
		e.t.Fatal(err)
	}
	return newRaw(e.t, c)
}

func (e *imapEnv) rawTLS() *rawConn {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tls, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	return newRaw(e.t, c)
}

func newRaw(t testing.TB, c net.Conn) *rawConn {
	t.Helper()
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	greeting := rc.line()
	if !strings.HasPrefix(greeting, "* OK ") {
		t.Fatalf("greeting %q", greeting)
	}
	return rc
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\}$`)

// line reads one response line; a literal's bytes are appended in
// place, so one "line" is one whole response.
func (rc *rawConn) line() string {
	rc.t.Helper()
	var b strings.Builder
	for {
		l, err := rc.r.ReadString('\n')
		if err != nil {
			rc.t.Fatalf("read: %v (so far %q)", err, b.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		m := literalRE.FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(rc.r, buf); err != nil {
			rc.t.Fatalf("read literal: %v", err)
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged status line (without the tag).
func (rc *rawConn) cmd(format string, args ...any) (untagged []string, status string) {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	rc.send(tag + " " + fmt.Sprintf(format, args...))
	for {
		l := rc.line()
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, l)
	}
}

// ok runs cmd and fails the test unless it ends in OK.
func (rc *rawConn) ok(format string, args ...any) []string {
	rc.t.Helper()
	u, st := rc.cmd(format, args...)
	if !strings.HasPrefix(st, "OK") {
		rc.t.Fatalf("%s: %s (untagged %q)", fmt.Sprintf(format, args...), st, u)
	}
	return u
}

func (rc *rawConn) send(line string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, line+"\r\n"); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// corpus reads the shared corpus of awkward messages.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("../testdata/corpus/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// waitFor polls cond until it holds, for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// literal returns the literal that follows item (e.g. "BODY[1]") in a
// response read by rawConn.line, or fails.
func literal(t testing.TB, resp, item string) []byte {
	t.Helper()
	i := strings.Index(resp, item+" {")
	j := i + len(item) + 2
	if i < 0 {
		i = strings.Index(resp, item+" ~{")
		j = i + len(item) + 3
	}
	if i < 0 {
		t.Fatalf("no %s literal in %q", item, resp)
	}
	k := strings.Index(resp[j:], "}\r\n")
	n, err := strconv.Atoi(resp[j : j+k])
	if err != nil {
		t.Fatalf("bad literal size in %q", resp[i:])
	}
	start := j + k + 3
	if start+n > len(resp) {
		t.Fatalf("literal of %d bytes runs past the response", n)
	}
	return []byte(resp[start : start+n])
}
