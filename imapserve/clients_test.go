package imapserve

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Independent clients: Python's imaplib running the poll cycle legacy
// apps run, and curl fetching a message. They must be installed (make
// test-deps installs them); a missing one is a failure, not a skip.

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required by this test and is not installed (apt-get install %s, or make test-deps)", name, name)
	}
	return p
}

// The poll cycle: LOGIN, SELECT INBOX, SEARCH UNSEEN, FETCH RFC822 each,
// STORE +FLAGS (\Deleted), EXPUNGE, LOGOUT. Messages go to stdout as
// "<length>\n<bytes>".
const imaplibPoll = `
import imaplib, ssl, sys
mode, host, port, user, pw = sys.argv[1:6]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "plain":
    M = imaplib.IMAP4(host, int(port))
elif mode == "starttls":
    M = imaplib.IMAP4(host, int(port))
    M.starttls(ssl_context=ctx)
else:
    M = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
typ, _ = M.login(user, pw)
assert typ == "OK", typ
typ, data = M.select("INBOX")
assert typ == "OK", typ
typ, data = M.search(None, "UNSEEN")
assert typ == "OK", typ
out = sys.stdout.buffer
for num in data[0].split():
    typ, msg = M.fetch(num, "(RFC822)")
    assert typ == "OK", typ
    body = msg[0][1]
    out.write(b"%d\n" % len(body) + body)
    typ, _ = M.store(num, "+FLAGS", "\\Deleted")
    assert typ == "OK", typ
typ, _ = M.expunge()
assert typ == "OK", typ
M.logout()
`

func runImaplib(t *testing.T, e *imapEnv, mode, addr, user, pass string) ([][]byte, error) {
	t.Helper()
	py := needTool(t, "python3")
	script := filepath.Join(t.TempDir(), "poll.py")
	if err := os.WriteFile(script, []byte(imaplibPoll), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, script, mode, host, port, user, pass)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("imaplib %s: %v\n%s", mode, err, stderr.String())
	}
	var msgs [][]byte
	b := stdout.Bytes()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		n, err := strconv.Atoi(string(b[:i]))
		if err != nil || i+1+n > len(b) {
			t.Fatalf("bad imaplib output %q", b)
		}
		msgs = append(msgs, b[i+1:i+1+n])
		b = b[i+1+n:]
	}
	return msgs, nil
}

func TestPythonImaplibPollCycle(t *testing.T) {
	for _, mode := range []string{"plain", "starttls", "ssl"} {
		t.Run(mode, func(t *testing.T) {
			// Plaintext login allowed only for the plain run.
			e := newIMAPEnv(t, func(o *Options) {
				o.AllowPlaintext = func(netip.Addr) bool { return mode == "plain" }
			})
			c := corpus(t)
			want := [][]byte{testMessage(1, "poll"), c["lf-only.eml"], c["binary-part.eml"], c["dot-lines.eml"]}
			for _, m := range want {
				e.deliver(imapUser, "INBOX", m)
			}
			seen := e.deliver(imapUser, "INBOX", testMessage(9, "already seen"), `\Seen`)
			addr := e.plain
			if mode == "ssl" {
				addr = e.tls
			}
			got, err := runImaplib(t, e, mode, addr, imapUser, imapPass)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("fetched %d messages, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("message %d: %d bytes, want %d, not the stored ones", i+1, len(got[i]), len(want[i]))
				}
			}
			snap, err := e.store.Messages(imapUser, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Messages) != 1 || snap.Messages[0].UID != seen {
				t.Errorf("INBOX after the poll: %+v, want only the seen message", snap.Messages)
			}
			// The next poll finds nothing new.
			if got, err := runImaplib(t, e, mode, addr, imapUser, imapPass); err != nil || len(got) != 0 {
				t.Errorf("second poll: %d messages, %v", len(got), err)
			}
		})
	}
	t.Run("plain refused where plaintext is not allowed", func(t *testing.T) {
		e := newIMAPEnv(t, func(o *Options) { o.AllowPlaintext = nil })
		if _, err := runImaplib(t, e, "plain", e.plain, imapUser, imapPass); err == nil || !bytes.Contains([]byte(err.Error()), []byte("LOGINDISABLED")) && !bytes.Contains([]byte(err.Error()), []byte("PRIVACYREQUIRED")) {
			t.Errorf("imaplib plain login where not allowed: %v", err)
		}
	})
}

func TestCurlFetchesByteExact(t *testing.T) {
	curl := needTool(t, "curl")
	e := newIMAPEnv(t)
	c := corpus(t)
	msgs := [][]byte{c["binary-part.eml"], c["exchange-forwarded.eml"], c["mixed-line-endings.eml"]}
	for _, m := range msgs {
		e.deliver(imapUser, "INBOX", m)
	}
	for _, tc := range []struct{ name, url string }{
		{"imap", "imap://app:s3cret%%20pass@" + e.plain + "/INBOX;UID=%d"},
		{"imaps", "imaps://app:s3cret%%20pass@" + e.tls + "/INBOX;UID=%d"},
	} {
		for i, want := range msgs {
			t.Run(fmt.Sprintf("%s/%d", tc.name, i+1), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, curl, "-s", "-S", "--insecure", fmt.Sprintf(tc.url, i+1))
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("curl: %v: %s", err, stderr.String())
				}
				if !bytes.Equal(stdout.Bytes(), want) {
					t.Errorf("curl got %d bytes, want the %d stored", stdout.Len(), len(want))
				}
			})
		}
	}
	// curl with --ssl-reqd upgrades the plain port with STARTTLS.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-s", "-S", "--insecure", "--ssl-reqd", "imap://app:s3cret%20pass@"+e.plain+"/INBOX;UID=1").Output()
	if err != nil || !bytes.Equal(out, msgs[0]) {
		t.Errorf("curl STARTTLS: %d bytes, %v", len(out), err)
	}
}

// fetchmail over IMAP: keep over plain, then fetch all and delete over
// STARTTLS, then implicit TLS finds nothing left.
func TestFetchmailIMAP(t *testing.T) {
	fm := needTool(t, "fetchmail")
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", []byte(fmt.Sprintf("Message-ID: <fm%d@imap.test>\r\nSubject: fetchmail %d\r\n\r\nfetch me\r\n", i, i)))
	}
	dir := t.TempDir()
	run := func(name, addr, opts string) (string, int) {
		t.Helper()
		host, port, _ := net.SplitHostPort(addr)
		out := filepath.Join(dir, name+".mbox")
		rc := filepath.Join(dir, name+".rc")
		conf := fmt.Sprintf("set no syslog\npoll %s service %s protocol IMAP auth password\n  user %q password %q is \"root\" here\n  %s\n  mda \"/usr/bin/tee -a %s\"\n",
			host, port, imapUser, imapPass, opts, out)
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, fm, "-f", rc, "--nodetach", "--pidfile", filepath.Join(dir, name+".pid"))
		cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
		log, _ := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if code > 1 {
			t.Fatalf("fetchmail %s: exit %d\n%s", name, code, log)
		}
		got, _ := os.ReadFile(out)
		return string(got), code
	}
	kept, _ := run("keep", e.plain, "keep sslproto ''")
	if n := strings.Count(kept, "Message-ID: <fm"); n != 3 {
		t.Errorf("fetchmail keep over plain IMAP fetched %d messages, want 3", n)
	}
	fetched, _ := run("delete", e.plain, "nokeep fetchall sslproto tls1.2+ no sslcertck")
	if n := strings.Count(fetched, "Message-ID: <fm"); n != 3 {
		t.Errorf("fetchmail over STARTTLS fetched %d messages, want 3", n)
	}
	none, code := run("implicit", e.tls, "nokeep fetchall ssl no sslcertck")
	if code != 1 || strings.Contains(none, "Message-ID") {
		t.Errorf("fetchmail after deleting: exit %d, fetched %q; want exit 1 (no mail)", code, none)
	}
	if snap, err := e.store.Messages(imapUser, "INBOX"); err != nil || len(snap.Messages) != 0 {
		t.Errorf("INBOX after fetchmail deleted: %v %v", snap, err)
	}
}
