package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/maildock/maildock/auth"
)

// POP3 on the built binary over the real store, driven by Python's poplib
// and curl.

func writePOP3Config(t *testing.T, dir string) string {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`hostname = "mx.pop.test"
data_dir = %q
[smtp]
listen = ["127.0.0.1:0"]
[imap]
listen = []
listen_tls = []
[pop3]
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
[http]
listen = ""
[[account]]
name = "poller"
password_hash = %q
addresses = ["@pop.test"]
`, filepath.Join(dir, "data"), hash)
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPOP3WithIndependentClients(t *testing.T) {
	for _, tool := range []string{"curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for this test: run `make test`, which installs it", tool)
		}
	}
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writePOP3Config(t, dir))
	smtpAddr, popAddr, popsAddr := p.addr("smtp"), p.addr("pop3"), p.addr("pop3s")
	bodies := []string{
		"Message-ID: <1@pop.test>\r\nSubject: first\r\n\r\nhello\r\n.a dot line\r\n",
		"Message-ID: <2@pop.test>\r\nSubject: second\r\n\r\n" + strings.Repeat(strings.Repeat("0123456789", 10)+"\r\n", 2000),
		"Message-ID: <3@pop.test>\r\nSubject: third\r\n\r\nthree\r\n",
	}
	for i, b := range bodies {
		if err := sendGoSMTP(smtpAddr, "s@example.org", []string{fmt.Sprintf("x%d@pop.test", i)}, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}

	// curl: list, then fetch message 1 byte-exact (after the Received header).
	out, err := exec.Command("curl", "-sS", "--user", "poller:"+testPassword, "pop3://"+popAddr+"/").CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") != 3 {
		t.Fatalf("curl pop3 list: %v\n%s", err, out)
	}
	out, err = exec.Command("curl", "-sS", "--insecure", "--user", "poller:"+testPassword, "pop3s://"+popsAddr+"/1").CombinedOutput()
	if err != nil {
		t.Fatalf("curl pop3s retr: %v\n%s", err, out)
	}
	if body := withoutReceived(t, out); string(body) != bodies[0] {
		t.Errorf("curl pop3s RETR 1 = %q, want %q", body, bodies[0])
	}
	out, err = exec.Command("curl", "-sS", "--ssl-reqd", "--insecure", "--user", "poller:"+testPassword, "pop3://"+popAddr+"/2").CombinedOutput()
	if err != nil || string(withoutReceived(t, out)) != bodies[1] {
		t.Errorf("curl pop3 STLS RETR 2: %v, %d bytes", err, len(out))
	}

	// poplib: sizes equal what RETR sends; UIDLs; IN-USE; wrong password;
	// DELE + QUIT removes from the store; a dropped session removes nothing.
	host, port, _ := net.SplitHostPort(popAddr)
	py := `
import poplib, sys
host, port, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = poplib.POP3(host, port, timeout=20)
p.user("poller"); p.pass_(pw)
count, total = p.stat()
sizes = [int(x.split()[1]) for x in p.list()[1]]
uidls = [x.split()[1].decode() for x in p.uidl()[1]]
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    sent = sum(len(l) + 2 for l in lines)
    assert sent == sizes[i-1], ("size", i, sent, sizes[i-1])
second = poplib.POP3(host, port, timeout=20)
second.user("poller")
try:
    second.pass_(pw)
    print("second login accepted")
    sys.exit(1)
except poplib.error_proto as e:
    print("second:", e)
second.quit()
bad = poplib.POP3(host, port, timeout=20)
bad.user("poller")
try:
    bad.pass_("wrong")
    sys.exit(1)
except poplib.error_proto as e:
    print("bad:", e)
p.dele(1)
p.quit()
print("count", count, "uidls", " ".join(uidls))
q = poplib.POP3(host, port, timeout=20)
q.user("poller"); q.pass_(pw)
print("after", q.stat()[0], " ".join(x.split()[1].decode() for x in q.uidl()[1]))
q.dele(1)
q.file.close(); q.sock.close()  # dropped without QUIT: nothing is deleted
import time
for attempt in range(100):  # the lock goes when the server sees the close
    r = poplib.POP3(host, port, timeout=20)
    r.user("poller")
    try:
        r.pass_(pw)
        break
    except poplib.error_proto as e:
        assert b"IN-USE" in str(e).encode(), e
        r.quit()
        time.sleep(0.05)
print("dropped", r.stat()[0])
r.quit()
`
	out, err = exec.Command("python3", "-c", py, host, port, testPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"second: b'-ERR [IN-USE]", "bad: b'-ERR [AUTH]", "count 3 uidls ", "after 2 ", "dropped 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("poplib output lacks %q:\n%s", want, text)
		}
	}
	// UIDLs survive: the two left keep theirs.
	var uidls, after []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 3 && f[0] == "count" {
			uidls = f[3:]
		}
		if len(f) > 2 && f[0] == "after" {
			after = f[2:]
		}
	}
	if len(uidls) != 3 || len(after) != 2 || after[0] != uidls[1] || after[1] != uidls[2] {
		t.Errorf("UIDLs before %v, after deleting the first %v", uidls, after)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s := storedMessages(t, filepath.Join(dir, "data"), "poller")
	if _, ok := s["<1@pop.test>"]; ok || len(s) != 2 {
		t.Errorf("store after DELE 1 + QUIT holds %d messages (first still there: %v), want the other 2", len(s), ok)
	}
}

// TestPOP3BigMaildrop: 10,000 messages, a 50 MiB message and the awkward
// corpus, all retrieved by poplib; every octet count equals what RETR sends
// and every message comes back byte-exact (bare LF as CRLF: a DATA
// transfer already carries it so).
func TestPOP3BigMaildrop(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writePOP3Config(t, dir))
	smtpAddr, popAddr := p.addr("smtp"), p.addr("pop3")
	want := map[string][]byte{} // Message-ID -> body as sent over DATA

	corpus, _ := filepath.Glob("../../testdata/corpus/*.eml")
	if len(corpus) == 0 {
		t.Fatal("no corpus")
	}
	for i, f := range corpus {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// A Message-ID of our own first, so the test can find each one.
		id := fmt.Sprintf("<corpus%d@pop.test>", i)
		body := overDATALines(append([]byte("Message-ID: "+id+"\r\n"), raw...))
		if err := sendGoSMTP(smtpAddr, "s@example.org", []string{"c@pop.test"}, body); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		want[id] = body
	}
	big := []byte("Message-ID: <big@pop.test>\r\nSubject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", (49<<20)/80))
	if err := sendGoSMTP(smtpAddr, "s@example.org", []string{"big@pop.test"}, big); err != nil {
		t.Fatal(err)
	}
	want["<big@pop.test>"] = big
	const many = 10000
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			for i := g; i < many && err == nil; i += 8 {
				err = sendGoSMTP(smtpAddr, "s@example.org", []string{"m@pop.test"}, []byte(fmt.Sprintf("Message-ID: <m%d@pop.test>\r\n\r\nsmall %d\r\n", i, i)))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	expected := filepath.Join(dir, "expected")
	os.MkdirAll(expected, 0o700)
	for id, body := range want {
		os.WriteFile(filepath.Join(expected, strings.Trim(id, "<>")), body, 0o600)
	}
	host, port, _ := net.SplitHostPort(popAddr)
	py := `
import poplib, sys, os, email.parser
host, port, pw, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
poplib._MAXLINE = 1 << 20
p = poplib.POP3(host, port, timeout=120)
p.user("poller"); p.pass_(pw)
count, total = p.stat()
sizes = [int(x.split()[1]) for x in p.list()[1]]
uidls = [x.split()[1] for x in p.uidl()[1]]
assert len(set(uidls)) == count, "duplicate UIDLs"
checked = 0
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    data = b"\r\n".join(lines) + b"\r\n"
    assert len(data) == sizes[i-1], ("size", i, len(data), sizes[i-1])
    # Strip the Received header maildock added, then compare what was sent.
    j = data.index(b"\r\n", data.index(b"\r\n\t") if data.startswith(b"Received:") else 0)
    while data[j+2:j+3] in (b" ", b"\t"):
        j = data.index(b"\r\n", j + 2)
    body = data[j+2:]
    mid = body.split(b"\r\n", 1)[0]
    if mid.startswith(b"Message-ID: <") and not mid.startswith(b"Message-ID: <m"):
        name = mid[len(b"Message-ID: <"):-1].decode()
        exp = open(os.path.join(expected, name), "rb").read()
        if not exp.endswith(b"\r\n"):
            exp += b"\r\n"
        assert body == exp, ("content", name, len(body), len(exp))
        checked += 1
p.quit()
print("count", count, "checked", checked)
`
	out, err := exec.Command("python3", "-c", py, host, port, testPassword, expected).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if w := fmt.Sprintf("count %d checked %d", many+len(want), len(want)); !strings.Contains(string(out), w) {
		t.Errorf("poplib: %s, want %s", strings.TrimSpace(string(out)), w)
	}
}

// TestPOP3Fetchmail: fetchmail with --keep over plain POP3, then deleting
// over STLS, then over implicit TLS finding nothing left.
func TestPOP3Fetchmail(t *testing.T) {
	if _, err := exec.LookPath("fetchmail"); err != nil {
		t.Fatal("fetchmail is needed: run `make test`, which installs it")
	}
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writePOP3Config(t, dir))
	for i := range 3 {
		if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"f@pop.test"}, []byte(fmt.Sprintf("Message-ID: <f%d@pop.test>\r\nSubject: f%d\r\n\r\nfetch me\r\n", i, i))); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name, addr, opts string) (string, int) {
		t.Helper()
		host, port, _ := net.SplitHostPort(addr)
		out := filepath.Join(dir, name+".mbox")
		rc := filepath.Join(dir, name+".rc")
		conf := fmt.Sprintf("set no syslog\npoll %s service %s protocol POP3 auth password\n  user \"poller\" password %q is \"root\" here\n  %s\n  mda \"/usr/bin/tee -a %s\"\n",
			host, port, testPassword, opts, out)
		os.WriteFile(rc, []byte(conf), 0o600)
		cmd := exec.Command("fetchmail", "-f", rc, "--nodetach", "--pidfile", filepath.Join(dir, name+".pid"))
		cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
		log, _ := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		got, _ := os.ReadFile(out)
		if code > 1 {
			t.Fatalf("fetchmail %s: exit %d\n%s", name, code, log)
		}
		return string(got), code
	}
	kept, _ := run("keep", p.addr("pop3"), "keep sslproto ''") // '' = plain, no opportunistic STLS
	if n := strings.Count(kept, "Message-ID: <f"); n != 3 {
		t.Errorf("fetchmail --keep fetched %d messages, want 3", n)
	}
	if !strings.Contains(p.log.String(), "mech=USER messages=3 tls=none") {
		t.Error("the plain fetchmail login is not logged as plaintext")
	}
	fetched, _ := run("delete", p.addr("pop3"), "nokeep fetchall sslproto tls1.2+ no sslcertck")
	if n := strings.Count(fetched, "Message-ID: <f"); n != 3 {
		t.Errorf("fetchmail over STLS fetched %d messages, want 3 (kept ones still there)", n)
	}
	if !strings.Contains(p.log.String(), `messages=3 tls="TLS 1.`) {
		t.Error("the STLS fetchmail login is not logged with its TLS version")
	}
	none, code := run("implicit", p.addr("pop3s"), "nokeep fetchall ssl no sslcertck")
	if code != 1 || strings.Contains(none, "Message-ID") {
		t.Errorf("fetchmail after deleting: exit %d, fetched %q; want exit 1 (no mail)", code, none)
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s := storedMessages(t, filepath.Join(dir, "data"), "poller"); len(s) != 0 {
		t.Errorf("%d messages left after fetchmail deleted them", len(s))
	}
}
