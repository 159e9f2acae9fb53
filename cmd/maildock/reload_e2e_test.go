package main

import (
	"bytes"
	"crypto/tls"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/maildock/maildock/auth"
)

// SIGHUP re-reads the config without dropping connections: an SMTP
// transaction and an IMAP session opened before it carry on; afterwards
// new addresses are accepted, the new password works and the old one does
// not; a broken config is logged and the running one kept.
func TestReloadKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	path := writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "")
	p := startServe(t, dir, "--config", path)

	// Sessions open across the reload.
	sc, err := smtp.Dial(p.addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Hello("reload.test"); err != nil {
		t.Fatal(err)
	}
	if err := sc.Mail("s@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := sc.Rcpt("before@imap.test", nil); err != nil {
		t.Fatal(err)
	}
	ic, err := imapclient.DialInsecure(p.addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	// New config: another password, another domain.
	hash, err := auth.HashPassword("new-secret")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	oldHash := string(old[bytes.Index(old, []byte("$2")):])
	oldHash = oldHash[:strings.IndexByte(oldHash, '"')]
	cfg := strings.Replace(string(old), oldHash, hash, 1)
	cfg = strings.Replace(cfg, `addresses = ["@imap.test"]`, `addresses = ["@imap.test", "@added.test"]`, 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, p, "SIGHUP: config reloaded")

	// The transaction begun before the reload completes.
	w, err := sc.Data()
	if err != nil {
		t.Fatalf("DATA after reload: %v", err)
	}
	w.Write(testMessage("across-reload", "body"))
	if err := w.Close(); err != nil {
		t.Fatalf("end of DATA after reload: %v", err)
	}
	sc.Quit()
	// The IMAP session is still there and sees the message.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ic.Noop().Wait(); err != nil {
			t.Fatalf("IMAP session after reload: %v", err)
		}
		if ic.Mailbox().NumMessages == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the IMAP session did not see the message sent across the reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// New logins use the new password; the new domain is accepted.
	for pw, ok := range map[string]bool{"new-secret": true, testPassword: false} {
		c, err := imapclient.DialTLS(p.addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login("scanner", pw).Wait(); (err == nil) != ok {
			t.Errorf("login with %q after reload: %v, want ok=%v", pw, err, ok)
		}
		c.Close()
	}
	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@added.test"}, testMessage("added", "b")); err != nil {
		t.Errorf("address added by the reload: %v", err)
	}

	// A broken config is refused and the running one kept.
	os.WriteFile(path, []byte(cfg+"\nbogus_key = 1\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, p, "new config is not valid; keeping the running one")
	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"y@added.test"}, testMessage("kept", "b")); err != nil {
		t.Errorf("after a broken reload: %v", err)
	}
	if err := ic.Noop().Wait(); err != nil {
		t.Errorf("IMAP session after a broken reload: %v", err)
	}
}

// waitLog waits until the server's log has a line containing s.
func waitLog(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
