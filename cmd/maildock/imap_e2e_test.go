package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/maildock/maildock/auth"
)

// IMAP on the built binary over the real store: Python's imaplib and curl
// run the poll cycle of legacy apps; POP3 and IMAP sessions of one account
// see each other's deletions.

// writeIMAPConfig writes a config with IMAP, IMAPS, POP3 and SMTP on
// ephemeral loopback ports for the account "scanner" (@imap.test);
// plaintext lists [auth] plaintext_networks; httpListen is [http] listen.
func writeIMAPConfig(t *testing.T, dir, plaintext, httpListen string) string {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`hostname = "mx.imap.test"
data_dir = %q
[smtp]
listen = ["127.0.0.1:0"]
[imap]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
[pop3]
listen = ["127.0.0.1:0"]
listen_tls = []
[auth]
plaintext_networks = [%s]
[http]
listen = %q
[[account]]
name = "scanner"
password_hash = %q
addresses = ["@imap.test"]
`, filepath.Join(dir, "data"), plaintext, httpListen, hash)
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The poll cycle legacy apps run: LOGIN, SELECT INBOX, SEARCH UNSEEN,
// FETCH RFC822, STORE +FLAGS (\Deleted), EXPUNGE, LOGOUT; each message
// fetched is written to OUTDIR/MODE-N.eml. "plain" must be refused (no
// plaintext network is configured).
const imaplibE2E = `
import imaplib, os, ssl, sys
mode, host, port, user, pw, outdir = sys.argv[1:7]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "ssl":
    M = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
else:
    M = imaplib.IMAP4(host, int(port))
    if mode == "plain":
        assert "LOGINDISABLED" in M.capabilities, M.capabilities
        try:
            M.login(user, pw)
        except imaplib.IMAP4.error as e:
            print("refused:", e)
            sys.exit(0)
        sys.exit("plaintext login accepted")
    M.starttls(ssl_context=ctx)
M.login(user, pw)
typ, data = M.select("INBOX")
assert typ == "OK", typ
typ, data = M.search(None, "UNSEEN")
assert typ == "OK", typ
for num in data[0].split():
    typ, msg = M.fetch(num, "(RFC822)")
    assert typ == "OK", typ
    with open(os.path.join(outdir, "%s-%s.eml" % (mode, num.decode())), "wb") as f:
        f.write(msg[0][1])
    typ, _ = M.store(num, "+FLAGS", "\\Deleted")
    assert typ == "OK", typ
typ, _ = M.expunge()
assert typ == "OK", typ
M.logout()
`

func TestIMAPWithIndependentClients(t *testing.T) {
	for _, tool := range []string{"curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: run `make test`, which installs it", tool)
		}
	}
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writeIMAPConfig(t, dir, "", ""))
	smtpAddr, imapAddr, imapsAddr := p.addr("smtp"), p.addr("imap"), p.addr("imaps")
	send := func(id, body string) []byte {
		t.Helper()
		msg := testMessage(id, body)
		if err := sendGoSMTP(smtpAddr, "s@example.org", []string{"scan@imap.test"}, msg); err != nil {
			t.Fatal(err)
		}
		return msg
	}
	first := send("c1", "first\r\n.dot line\r\n")
	second := send("c2", strings.Repeat("0123456789abcdef\r\n", 5000))

	// curl fetches by UID over implicit TLS and over STARTTLS, byte-exact
	// (bar the Received header the server added), without \Seen being
	// needed first.
	out, err := exec.Command("curl", "-sS", "--insecure", "--user", "scanner:"+testPassword,
		"imaps://"+imapsAddr+"/INBOX;UID=1").CombinedOutput()
	if err != nil || string(withoutReceived(t, out)) != string(first) {
		t.Errorf("curl imaps UID=1: %v\n%q\nwant %q", err, out, first)
	}
	out, err = exec.Command("curl", "-sS", "--ssl-reqd", "--insecure", "--user", "scanner:"+testPassword,
		"imap://"+imapAddr+"/INBOX;UID=2").CombinedOutput()
	if err != nil || string(withoutReceived(t, out)) != string(second) {
		t.Errorf("curl imap STARTTLS UID=2: %v, %d bytes, want %d", err, len(out), len(second))
	}
	// Without TLS and outside plaintext_networks, curl's login is refused.
	out, err = exec.Command("curl", "-sS", "--user", "scanner:"+testPassword,
		"imap://"+imapAddr+"/INBOX;UID=1").CombinedOutput()
	if err == nil {
		t.Errorf("curl logged in without TLS: %q", out)
	}

	script := filepath.Join(t.TempDir(), "poll.py")
	if err := os.WriteFile(script, []byte(imaplibE2E), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(mode, addr string) (string, map[string][]byte) {
		t.Helper()
		host, port, _ := net.SplitHostPort(addr)
		outdir := t.TempDir()
		out, err := exec.Command("python3", script, mode, host, port, "scanner", testPassword, outdir).CombinedOutput()
		if err != nil {
			t.Fatalf("imaplib %s: %v\n%s", mode, err, out)
		}
		files := map[string][]byte{}
		ents, _ := os.ReadDir(outdir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(outdir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return string(out), files
	}
	if out, _ := run("plain", imapAddr); !strings.Contains(out, "PRIVACYREQUIRED") {
		t.Errorf("plaintext login: %q, want NO [PRIVACYREQUIRED]", out)
	}
	// curl's BODY[] set \Seen on the first two, so each cycle fetches
	// only what arrived since the last one, and deletes it.
	for _, mode := range []string{"starttls", "ssl"} {
		m := send(mode, "poll "+mode+"\r\n.\r\n")
		addr := imapAddr
		if mode == "ssl" {
			addr = imapsAddr
		}
		_, files := run(mode, addr)
		if len(files) != 1 {
			t.Errorf("imaplib %s fetched %d messages, want 1", mode, len(files))
		}
		for name, b := range files {
			if got := withoutReceived(t, b); string(got) != string(m) {
				t.Errorf("imaplib %s %s = %q, want %q", mode, name, got, m)
			}
		}
	}
	// The cycles' deletions are in the store; the seen ones stay.
	p.stop(syscall.SIGTERM)
	left := storedMessages(t, filepath.Join(dir, "data"), "scanner")
	if len(left) != 2 || left["<c1@e2e.test>"] == nil || left["<c2@e2e.test>"] == nil {
		t.Errorf("left in the store: %d messages %v, want c1 and c2", len(left), keys(left))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// popSession is a bare POP3 client: each command's first reply line.
type popSession struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3(t *testing.T, addr string) *popSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newPOP3Session(t, c)
}

// newPOP3Session reads the greeting on c.
func newPOP3Session(t *testing.T, c net.Conn) *popSession {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	p := &popSession{t: t, c: c, r: bufio.NewReader(c)}
	if l := p.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3 greeting %q", l)
	}
	return p
}

func (p *popSession) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("POP3 read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (p *popSession) cmd(line string) string {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	return p.line()
}

// multi reads a multi-line response body up to its terminating ".".
func (p *popSession) multi() []string {
	p.t.Helper()
	var out []string
	for l := p.line(); l != "."; l = p.line() {
		out = append(out, l)
	}
	return out
}

// An account read over IMAP and POP3 at once (as when an app is moved from
// one to the other): POP3's committed deletions reach a selected IMAP
// session as EXPUNGE, and IMAP's expunges show in a running POP3 session
// as messages that no longer exist, never as wrong ones.
func TestPOP3AndIMAPTogether(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writeIMAPConfig(t, dir, `"127.0.0.0/8"`, ""))
	for i := 1; i <= 3; i++ {
		if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@imap.test"}, testMessage(fmt.Sprintf("m%d", i), "body")); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var expunged []uint32
	c, err := imapclient.DialInsecure(p.addr("imap"), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Expunge: func(seq uint32) {
				mu.Lock()
				expunged = append(expunged, seq)
				mu.Unlock()
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 3 {
		t.Fatalf("SELECT: %v %+v", err, sel)
	}
	waitExpunged := func(want []uint32) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if err := c.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := fmt.Sprint(expunged)
			mu.Unlock()
			if got == fmt.Sprint(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("IMAP saw EXPUNGE %s, want %v", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// POP3 deletes message 2 and QUITs: the IMAP session is told.
	pop := dialPOP3(t, p.addr("pop3"))
	pop.cmd("USER scanner")
	if l := pop.cmd("PASS " + testPassword); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("PASS: %q", l)
	}
	if l := pop.cmd("DELE 2"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("DELE 2: %q", l)
	}
	if l := pop.cmd("QUIT"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("QUIT: %q", l)
	}
	waitExpunged([]uint32{2})
	got, err := c.Fetch(imap.UIDSetNum(1, 2, 3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(got) != 2 || got[0].UID != 1 || got[1].UID != 3 {
		t.Fatalf("UIDs after POP3 QUIT: %v %+v", err, got)
	}

	// A POP3 session runs while IMAP expunges message 1 (UID 1): RETR of
	// it says it is gone, the other still comes whole, and QUIT commits
	// the rest.
	pop = dialPOP3(t, p.addr("pop3"))
	pop.cmd("USER scanner")
	pop.cmd("PASS " + testPassword)
	if l := pop.cmd("STAT"); !strings.HasPrefix(l, "+OK 2 ") {
		t.Fatalf("STAT: %q", l)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if l := pop.cmd("RETR 1"); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("RETR of a message IMAP expunged: %q", l)
	}
	if l := pop.cmd("RETR 2"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("RETR 2: %q", l)
	} else if body := strings.Join(pop.multi(), "\n"); !strings.Contains(body, "Message-ID: <m3@e2e.test>") {
		t.Errorf("RETR 2 sent another message:\n%s", body)
	}
	pop.cmd("DELE 1")
	if l := pop.cmd("DELE 2"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("DELE 2: %q", l)
	}
	if l := pop.cmd("QUIT"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("QUIT: %q", l)
	}
	// Our own EXPUNGE's response is the command's, not unilateral: the
	// POP3 QUIT removes UID 3, now sequence number 1.
	waitExpunged([]uint32{2, 1})
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 0 {
		t.Errorf("STATUS after both: %v %+v", err, st)
	}
}
