package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// With [log] format = "json" every line is a JSON object; every line a
// session writes carries its connection id; each delivered message has
// one line with its id, peer, sender, recipients, size, TLS and result;
// passwords never appear, not even wrong ones or at debug level.
func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	path := writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[log]\nformat = \"json\"\nlevel = \"debug\"\n")
	f.Close()
	p := startServe(t, dir, "--config", path)

	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@imap.test"}, testMessage("log1", "body")); err != nil {
		t.Fatal(err)
	}
	err = sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@elsewhere.test"}, testMessage("log2", "body"))
	if _, ok := err.(*smtp.SMTPError); !ok {
		t.Fatalf("relay attempt: %v", err)
	}
	const wrong = "Wr0ng-Pa55word-Guess"
	c, err := imapclient.DialTLS(p.addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("scanner", wrong).Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	pop := dialPOP3(t, p.addr("pop3"))
	pop.cmd("USER scanner")
	pop.cmd("PASS " + wrong)
	pop = dialPOP3(t, p.addr("pop3"))
	pop.cmd("AUTH PLAIN AHNjYW5uZXIAZTJlLXNlY3JldA==") // \0scanner\0e2e-secret
	pop.cmd("QUIT")
	waitLog(t, p, `"msg":"login","component":"pop3"`)

	logs := p.log.String()
	for _, secret := range []string{testPassword, wrong, "AHNjYW5uZXIAZTJlLXNlY3JldA=="} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
	stored := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not JSON: %q", line)
			continue
		}
		switch rec["component"] {
		case "smtp", "imap", "pop3":
			if rec["conn"] == nil && rec["msg"] != "listening" {
				t.Errorf("session line without a connection id: %s", line)
			}
		}
		if rec["msg"] == "message stored" {
			stored++
			for _, k := range []string{"conn", "remote", "from", "rcpts", "size", "tls", "result", "message_id"} {
				if rec[k] == nil {
					t.Errorf("delivery line without %q: %s", k, line)
				}
			}
		}
	}
	if stored != 1 {
		t.Errorf("%d 'message stored' lines, want 1", stored)
	}
}
