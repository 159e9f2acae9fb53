package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/mailstore"
)

// These tests build the real binary and drive it over loopback with real
// clients: go-smtp's, curl and Python's smtplib.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "maildock-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "maildock")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building maildock:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's stderr while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	log   *lockedBuffer
	addrs map[string]string // proto -> bound address
	done  chan struct{}
	err   error
}

// listeningRE finds the listeners in text and in JSON logs.
var listeningRE = regexp.MustCompile(`msg=listening proto=(\w+) addr=(\S+)|"msg":"listening","proto":"(\w+)","addr":"([^"]+)"`)

// startServe runs `maildock serve` with args in dir and waits until it has
// started (or exited).
func startServe(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, log: &lockedBuffer{}, addrs: map[string]string{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	p.cmd.Dir = dir
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	p.cmd.Stdout = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.log.Write([]byte(line + "\n"))
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				p.log.mu.Lock()
				p.addrs[m[1]+m[3]] = m[2] + m[4]
				p.log.mu.Unlock()
			}
			if strings.Contains(line, "maildock started") {
				once.Do(func() { close(started) })
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("maildock output:\n%s", p.log.String())
		}
	})
	select {
	case <-started:
	case <-p.done:
		t.Fatalf("maildock exited before starting: %v\n%s", p.err, p.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("maildock did not start\n%s", p.log.String())
	}
	return p
}

func (p *proc) addr(proto string) string {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	a := p.addrs[proto]
	if a == "" {
		p.t.Fatalf("no %s listener in the log", proto)
	}
	return a
}

// stop sends sig and waits for the process to end.
func (p *proc) stop(sig os.Signal) error {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("maildock did not stop after %v\n%s", sig, p.log.String())
	}
	return p.err
}

const testPassword = "e2e-secret"

// writeConfig writes a config with ephemeral loopback ports into dir.
func writeConfig(t *testing.T, dir string, extra string) string {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`hostname = "mx.e2e.test"
data_dir = %q

[smtp]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
%s
[imap]
listen = []
listen_tls = []

[pop3]
listen = []
listen_tls = []

[http]
listen = "127.0.0.1:0"

[[account]]
name = "app1"
password_hash = %q
addresses = ["inbox@app1.e2e.test", "alias@app1.e2e.test"]

[[account]]
name = "app2"
password_hash = %q
addresses = ["@app2.e2e.test"]
`, filepath.Join(dir, "data"), extra, hash, hash)
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func testMessage(id string, body string) []byte {
	return []byte("From: Scanner <scanner@example.org>\r\nTo: inbox@app1.e2e.test\r\nSubject: e2e " + id +
		"\r\nMessage-ID: <" + id + "@e2e.test>\r\n\r\n" + body + "\r\n")
}

// storedMessages opens the store of a stopped server and returns each
// account's INBOX as Message-ID -> raw message.
func storedMessages(t *testing.T, dataDir string, account string) map[string][]byte {
	t.Helper()
	s, err := mailstore.Open(mailstore.Options{Path: filepath.Join(dataDir, "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, err := range s.Check(context.Background()) {
		t.Errorf("store check: %v", err)
	}
	snap, err := s.Messages(account, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, m := range snap.Messages {
		raw, err := s.ReadBlob(m.Blob)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("stored message %d does not parse: %v", m.UID, err)
		}
		id := msg.Header.Get("Message-Id")
		if _, dup := out[id]; dup {
			t.Errorf("message %s stored twice in %s", id, account)
		}
		out[id] = raw
	}
	return out
}

// withoutReceived strips the Received: header maildock prepends.
func withoutReceived(t *testing.T, raw []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(raw, []byte("Received: ")) {
		t.Fatalf("stored message does not start with a Received: header: %.80q", raw)
	}
	// The header may be folded: it ends at the first line not starting with white space.
	i := 0
	for {
		j := bytes.Index(raw[i:], []byte("\r\n"))
		if j < 0 {
			t.Fatal("unterminated Received header")
		}
		i += j + 2
		if i < len(raw) && raw[i] != ' ' && raw[i] != '\t' {
			return raw[i:]
		}
	}
}

func sendGoSMTP(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("e2e.test"); err != nil {
		return err
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("hostname = \"x\"\nbogus_key = 1\n\n[smtp]\nallowed_networks = [\"10.0.0.0/33\"]\n"), 0o600)

	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   string // regexp
		stderr   string // regexp
		noStderr string // must not match
	}{
		{"no args", nil, "", 2, `^$`, `usage: maildock`, "goroutine"},
		{"unknown command", []string{"frobnicate"}, "", 2, `^$`, `unknown command "frobnicate"`, "goroutine"},
		{"unknown flag", []string{"serve", "--nope"}, "", 2, `^$`, `flag provided but not defined`, "goroutine"},
		{"version", []string{"version"}, "", 0, `maildock \S+\ncommit \S+.*\ngo1\.`, `^$`, ""},
		{"check good", []string{"check", "--config", good}, "", 0, `OK[\s\S]*app1`, `^$`, ""},
		{"check bad", []string{"check", "--config", bad}, "", 1, `^$`, `bad\.toml:2: [\s\S]*bogus_key`, "goroutine"},
		{"check without config", []string{"check"}, "", 2, `^$`, `--config FILE is required`, ""},
		{"check missing file", []string{"check", "--config", filepath.Join(dir, "nope.toml")}, "", 1, `^$`, `nope\.toml`, "goroutine"},
		{"passwd", []string{"passwd"}, "hunter2\n", 0, `^\$2[aby]\$\d\d\$\S{53}\n$`, `^$`, ""},
		{"passwd empty", []string{"passwd"}, "\n", 1, `^$`, `empty password`, "goroutine"},
		{"serve broken config", []string{"serve", "--config", bad}, "", 1, `^$`, `bad\.toml:2:`, "goroutine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Stdin = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !regexp.MustCompile(tt.stdout).Match(stdout.Bytes()) {
				t.Errorf("stdout %q does not match %q", stdout.String(), tt.stdout)
			}
			if !regexp.MustCompile(tt.stderr).Match(stderr.Bytes()) {
				t.Errorf("stderr %q does not match %q", stderr.String(), tt.stderr)
			}
			if tt.noStderr != "" && strings.Contains(stderr.String(), tt.noStderr) {
				t.Errorf("stderr shows %q: %s", tt.noStderr, stderr.String())
			}
			if tt.name == "passwd" && !auth.VerifyPassword(strings.TrimSpace(stdout.String()), "hunter2") {
				t.Error("passwd output does not verify against the password")
			}
		})
	}
}

// TestDeliveryWithIndependentClients sends with go-smtp, curl (plain,
// STARTTLS, implicit TLS) and Python's smtplib (STARTTLS, implicit TLS),
// stops the server and finds every message byte-exact in the store.
func TestDeliveryWithIndependentClients(t *testing.T) {
	for _, tool := range []string{"curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: run `make test`, which installs it", tool)
		}
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	p := startServe(t, dir, "--config", cfg)
	smtpAddr, smtpsAddr := p.addr("smtp"), p.addr("smtps")
	sent := map[string][]byte{}

	// go-smtp: two addresses of app1 and one of app2 in one transaction.
	msg := testMessage("gosmtp", "sent by go-smtp")
	if err := sendGoSMTP(smtpAddr, "scanner@example.org", []string{"inbox@app1.e2e.test", "ALIAS@app1.e2e.test", "anything@app2.e2e.test"}, msg); err != nil {
		t.Fatalf("go-smtp: %v", err)
	}
	sent["<gosmtp@e2e.test>"] = msg

	curlCases := []struct{ id, url string }{
		{"curl-plain", "smtp://" + smtpAddr},
		{"curl-starttls", "smtp://" + smtpAddr + " --ssl-reqd"},
		{"curl-implicit", "smtps://" + smtpsAddr},
	}
	for _, c := range curlCases {
		msg := testMessage(c.id, "sent by curl\r\n.a line starting with a dot")
		f := filepath.Join(dir, c.id+".eml")
		os.WriteFile(f, msg, 0o600)
		args := append([]string{"-sS", "--insecure", "--mail-from", "scanner@example.org", "--mail-rcpt", "inbox@app1.e2e.test", "--upload-file", f, "--url"}, strings.Fields(c.url)...)
		out, err := exec.Command("curl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", c.id, err, out)
		}
		sent["<"+c.id+"@e2e.test>"] = msg
	}

	host, port, _ := net.SplitHostPort(smtpAddr)
	_, tlsPort, _ := net.SplitHostPort(smtpsAddr)
	py := `
import smtplib, ssl, sys
host, port, tls_port, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, port, timeout=30)
s.ehlo("python.e2e.test")
assert s.has_extn("starttls") and s.has_extn("chunking") and s.has_extn("size"), s.esmtp_features
s.starttls(context=ctx)
s.ehlo("python.e2e.test")
s.sendmail("scanner@example.org", ["inbox@app1.e2e.test"], open(d + "/py-starttls.eml", "rb").read())
try:
    s.sendmail("scanner@example.org", ["nobody@app1.e2e.test"], b"Subject: x\r\n\r\nx\r\n")
    print("unknown user accepted")
    sys.exit(1)
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients["nobody@app1.e2e.test"]
    print("refused", code, text.decode())
s.quit()
s = smtplib.SMTP_SSL(host, tls_port, context=ctx, timeout=30)
s.sendmail("scanner@example.org", ["inbox@app1.e2e.test"], open(d + "/py-implicit.eml", "rb").read())
s.quit()
`
	for _, id := range []string{"py-starttls", "py-implicit"} {
		msg := testMessage(id, "sent by smtplib")
		os.WriteFile(filepath.Join(dir, id+".eml"), msg, 0o600)
		sent["<"+id+"@e2e.test>"] = msg
	}
	out, err := exec.Command("python3", "-c", py, host, port, tlsPort, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python smtplib: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refused 550 5.1.1") {
		t.Errorf("unknown user: python saw %q, want 550 5.1.1", out)
	}

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	got := storedMessages(t, filepath.Join(dir, "data"), "app1")
	if len(got) != len(sent) {
		t.Errorf("app1 has %d messages, want %d", len(got), len(sent))
	}
	for id, want := range sent {
		raw, ok := got[id]
		if !ok {
			t.Errorf("%s not stored", id)
			continue
		}
		if body := withoutReceived(t, raw); !bytes.Equal(body, want) {
			t.Errorf("%s stored as\n%q\nwant\n%q", id, body, want)
		}
		if strings.Contains(id, "starttls") || strings.Contains(id, "implicit") {
			if !regexp.MustCompile(`(?s)^Received: .*TLS.*\r\n`).Match(raw) {
				t.Errorf("%s: Received header does not name the TLS version: %.300q", id, raw)
			}
		}
	}
	if got2 := storedMessages(t, filepath.Join(dir, "data"), "app2"); len(got2) != 1 {
		t.Errorf("app2 (catch-all) has %d messages, want 1", len(got2))
	}
}

// TestKill9UnderLoad kills the server with SIGKILL while concurrent senders
// deliver, three times over on the same data: every message that got its
// 250 is in the store afterwards, once, and the store checks clean.
func TestKill9UnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	acked := map[string]bool{}
	for round := range 3 {
		p := startServe(t, dir, "--config", cfg)
		addr := p.addr("smtp")
		var mu sync.Mutex
		var wg sync.WaitGroup
		n := 0
		killAfter := 40
		ctx, cancel := context.WithCancel(context.Background())
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 200 && ctx.Err() == nil; i++ {
					id := fmt.Sprintf("r%d-g%d-m%d", round, g, i)
					err := sendGoSMTP(addr, "load@example.org", []string{"inbox@app1.e2e.test"}, testMessage(id, strings.Repeat("load ", 200*(i%7+1))))
					if err != nil {
						return // the server was killed
					}
					mu.Lock()
					acked["<"+id+"@e2e.test>"] = true
					n++
					if n == killAfter {
						p.cmd.Process.Signal(syscall.SIGKILL)
						cancel()
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		cancel()
		mu.Lock()
		if n < killAfter {
			t.Errorf("round %d: senders stopped after %d acknowledgements, before the kill", round, n)
		}
		mu.Unlock()
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: maildock was not killed by SIGKILL: %v", round, p.err)
		}
		got := storedMessages(t, filepath.Join(dir, "data"), "app1")
		missing := 0
		for id := range acked {
			if _, ok := got[id]; !ok {
				missing++
				t.Errorf("round %d: %s got 250 but is not in the store", round, id)
			}
		}
		t.Logf("round %d: %d acknowledged so far, %d stored, %d missing", round, len(acked), len(got), missing)
	}
}

// TestGracefulStop: after SIGTERM a transaction in flight still completes
// with 250; a second signal during the wait exits at once.
func TestGracefulStop(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")

	open := func(addr string) (*bufio.ReadWriter, net.Conn) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
		expect := func(prefix string) {
			t.Helper()
			for {
				line, err := rw.ReadString('\n')
				if err != nil {
					t.Fatalf("waiting for %s: %v", prefix, err)
				}
				if !strings.HasPrefix(line, prefix) {
					t.Fatalf("got %q, want %s", line, prefix)
				}
				if len(line) < 4 || line[3] != '-' {
					return
				}
			}
		}
		expect("220")
		for _, cmd := range []struct{ line, want string }{
			{"EHLO e2e.test", "250"}, {"MAIL FROM:<a@example.org>", "250"}, {"RCPT TO:<inbox@app1.e2e.test>", "250"}, {"DATA", "354"},
		} {
			rw.WriteString(cmd.line + "\r\n")
			rw.Flush()
			expect(cmd.want)
		}
		rw.WriteString("Subject: in flight\r\nMessage-ID: <inflight@e2e.test>\r\n\r\nfirst half\r\n")
		rw.Flush()
		return rw, c
	}

	t.Run("in-flight transaction completes", func(t *testing.T) {
		p := startServe(t, dir, "--config", cfg)
		rw, c := open(p.addr("smtp"))
		defer c.Close()
		p.cmd.Process.Signal(syscall.SIGTERM)
		// Wait until maildock says it is stopping, so the signal has arrived.
		for i := 0; i < 600 && !strings.Contains(p.log.String(), "stopping"); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := net.Dial("tcp", p.addr("smtp")); err == nil {
			t.Error("a new connection was accepted after SIGTERM")
		}
		rw.WriteString("second half\r\n.\r\n")
		rw.Flush()
		line, err := rw.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "250") {
			t.Fatalf("in-flight DATA after SIGTERM: %q %v, want 250", line, err)
		}
		rw.WriteString("QUIT\r\n")
		rw.Flush()
		if err := p.stop(syscall.Signal(0)); err != nil {
			t.Fatalf("exit: %v", err)
		}
		if _, ok := storedMessages(t, filepath.Join(dir, "data"), "app1")["<inflight@e2e.test>"]; !ok {
			t.Error("in-flight message not stored")
		}
	})

	t.Run("second signal exits at once", func(t *testing.T) {
		p := startServe(t, dir, "--config", cfg)
		_, c := open(p.addr("smtp"))
		defer c.Close()
		p.cmd.Process.Signal(syscall.SIGTERM)
		for i := 0; i < 600 && !strings.Contains(p.log.String(), "stopping"); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		err := p.stop(syscall.SIGINT)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("after a second signal: %v, want exit status 1", err)
		}
		if !strings.Contains(p.log.String(), "second signal") {
			t.Error("no log line about the second signal")
		}
		if strings.Contains(p.log.String(), "goroutine ") {
			t.Error("a Go trace reached the output")
		}
	})
}

// TestDevelopmentDefault runs `maildock serve` with no config, as `make
// run` does, and sends to the default account; a second instance on the
// same data directory fails fast with a clear message.
func TestDevelopmentDefault(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("fixed development ports")
	}
	dir := t.TempDir()
	p := startServe(t, dir)
	if !strings.Contains(p.log.String(), "DEVELOPMENT DEFAULT") {
		t.Error("the development default does not announce itself")
	}
	for proto, want := range map[string]string{"smtp": "127.0.0.1:2525", "pop3": "127.0.0.1:1110", "pop3s": "127.0.0.1:1995", "http": "127.0.0.1:8025"} {
		if got := p.addr(proto); got != want {
			t.Errorf("%s listens on %s, want %s", proto, got, want)
		}
	}
	msg := testMessage("devdefault", "hello app")
	if err := sendGoSMTP("127.0.0.1:2525", "me@example.org", []string{"anyone@app.localhost"}, msg); err != nil {
		t.Fatalf("send to the development default: %v", err)
	}

	// The drop folder of the default account gets the file.
	waitFiles(t, filepath.Join(dir, "maildock-data", "drop", "app"), "eml", 1)
	// The backlog gauge drops to 0 once the file's queue entry is trimmed,
	// just after the file appears: poll (bounded).
	for path, want := range map[string]string{
		"/healthz": "ok\nstore: writable\nsmtp 127.0.0.1:2525: serving\nimap 127.0.0.1:1143: serving\nimaps 127.0.0.1:1993: serving\npop3 127.0.0.1:1110: serving\npop3s 127.0.0.1:1995: serving\nhttp 127.0.0.1:8025: serving\n",
		"/metrics": `maildock_pickup_backlog{account="app"} 0`,
	} {
		var body []byte
		status := 0
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://127.0.0.1:8025" + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status == 200 && strings.Contains(string(body), want) {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if status != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, status, want)
		}
		if path == "/metrics" && !regexp.MustCompile(`(?m)^maildock_store_writes_total [1-9]`).Match(body) {
			t.Errorf("/metrics: the store's write counter did not move")
		}
	}

	second := exec.Command(binary, "serve")
	second.Dir = dir
	out, err := second.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("second instance: %v, want exit status 1", err)
	}
	if !strings.Contains(string(out), "another maildock") {
		t.Errorf("second instance says %q, want a clear word about the other maildock", out)
	}

	if err := p.stop(syscall.SIGINT); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	got := storedMessages(t, filepath.Join(dir, "maildock-data"), "app")
	if raw, ok := got["<devdefault@e2e.test>"]; !ok || !bytes.Equal(withoutReceived(t, raw), msg) {
		t.Errorf("message to the development default not stored byte-exact")
	}
	if _, err := os.Stat(filepath.Join(dir, "maildock-data", "selfsigned-cert.pem")); err != nil {
		t.Errorf("no self-signed certificate generated: %v", err)
	}
}
