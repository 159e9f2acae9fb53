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
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
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

// isync's mbsync, a two-way synchroniser that leans on UIDPLUS, flags and
// EXPUNGE: pull every mailbox into a Maildir byte-exact with flags, then
// push a flag change and a deletion back.
func TestMbsync(t *testing.T) {
	mbsync := needTool(t, "mbsync")
	e := newIMAPEnv(t)
	raws := map[string][]byte{}
	for i := range 3 {
		raw := []byte(fmt.Sprintf("Message-ID: <mb%d@imap.test>\r\nSubject: mbsync %d\r\n\r\nsync me\r\n", i, i))
		raws[fmt.Sprintf("<mb%d@imap.test>", i)] = raw
		flags := []string(nil)
		if i == 0 {
			flags = []string{`\Flagged`}
		}
		e.deliver(imapUser, "INBOX", raw, flags...)
	}
	e.mkdir(imapUser, "Archive/2024")
	archived := []byte("Message-ID: <mbarch@imap.test>\r\nSubject: old\r\n\r\narchived\r\n")
	e.deliver(imapUser, "Archive/2024", archived, `\Seen`)

	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(e.plain)
	conf := fmt.Sprintf(`IMAPAccount md
Host %s
Port %s
User %s
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account md

MaildirStore local
Path %s/mail/
Inbox %s/mail/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Near
Sync All
Expunge Both
SyncState *
`, host, port, imapUser, imapPass, dir, dir)
	rc := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "mail"), 0o700); err != nil {
		t.Fatal(err)
	}
	sync := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, mbsync, "-c", rc, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mbsync (%s): %v\n%s", what, err, out)
		}
	}
	sync("pull")

	// mbsync stores Maildir files with LF line ends and adds an X-TUID
	// header (its own bookkeeping); apart from that, byte-exact.
	local := func(b []byte) []byte {
		b = regexp.MustCompile(`(?m)^X-TUID: .*\n`).ReplaceAll(b, nil)
		return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	lf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }
	// Every message arrived, with its flags in the file name.
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "INBOX", "*", "*"))
	var flagged, inbox []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = local(b)
		id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "Message-ID:"))
		if raw, ok := raws[id]; !ok || !bytes.Equal(b, lf(raw)) {
			t.Errorf("%s: not one of the messages: %q", f, b)
		}
		if strings.HasSuffix(f, ",F") {
			flagged = append(flagged, id)
		}
		inbox = append(inbox, f)
	}
	if len(inbox) != 3 || len(flagged) != 1 || flagged[0] != "<mb0@imap.test>" {
		t.Fatalf("INBOX in the Maildir: %d files, flagged %v; want 3 and <mb0@imap.test>", len(inbox), flagged)
	}
	arch, _ := filepath.Glob(filepath.Join(dir, "mail", "Archive", "2024", "cur", "*"))
	if len(arch) != 1 || !strings.HasSuffix(arch[0], ",S") {
		t.Fatalf("Archive/2024 in the Maildir: %v, want one seen message", arch)
	}
	if b, _ := os.ReadFile(arch[0]); !bytes.Equal(local(b), lf(archived)) {
		t.Errorf("Archive/2024 message: %q", b)
	}

	// The pull changed nothing on the server.
	if snap, err := e.store.Messages(imapUser, "INBOX"); err != nil || len(snap.Messages) != 3 {
		t.Fatalf("INBOX after the pull: %v %v", snap, err)
	}

	// Push: mark one message seen, delete another, as a mail client would.
	var seenID, goneID string
	for _, f := range inbox {
		b, _ := os.ReadFile(f)
		switch {
		case bytes.Contains(b, []byte("<mb1@")):
			seenID = "<mb1@imap.test>"
			base := filepath.Base(f)
			if !strings.Contains(base, ":2,") {
				base += ":2,"
			}
			if err := os.Rename(f, filepath.Join(dir, "mail", "INBOX", "cur", base+"S")); err != nil {
				t.Fatal(err)
			}
		case bytes.Contains(b, []byte("<mb2@")):
			goneID = "<mb2@imap.test>"
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if seenID == "" || goneID == "" {
		t.Fatal("messages to change not found in the Maildir")
	}
	sync("push")
	snap, err := e.store.Messages(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Messages) != 2 {
		t.Fatalf("INBOX after the push: %d messages, want 2 (one deleted)", len(snap.Messages))
	}
	seen := 0
	for i := range snap.Messages {
		if snap.Messages[i].HasFlag(mailstore.FlagSeen) {
			seen++
		}
	}
	if seen != 1 {
		t.Errorf("INBOX after the push: %d messages \\Seen, want 1", seen)
	}
}
