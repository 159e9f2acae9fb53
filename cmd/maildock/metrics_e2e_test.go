package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// /metrics on the built binary tells an admin what happened: messages
// accepted and refused, logins by account, protocol and TLS version,
// failures, open sessions, the store's size.
func TestMetricsCountWhatHappened(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, "--config", writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "127.0.0.1:0"))

	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"in@imap.test"}, testMessage("m1", "hello")); err != nil {
		t.Fatal(err)
	}
	err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"nobody@elsewhere.test"}, testMessage("m2", "hello"))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 550 {
		t.Fatalf("unknown recipient: %v", err)
	}

	// One IMAP login over implicit TLS that stays open, one wrong
	// password, one POP3 login without TLS (loopback may).
	c, err := imapclient.DialTLS(p.addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	bad, err := imapclient.DialInsecure(p.addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Login("scanner", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	bad.Close()
	pop := dialPOP3(t, p.addr("pop3"))
	pop.cmd("USER scanner")
	if l := pop.cmd("PASS " + testPassword); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3 PASS: %q", l)
	}
	pop.cmd("QUIT")

	want := []string{
		`maildock_smtp_messages_total{result="accepted"} 1`,
		`maildock_smtp_recipients_refused_total{reason="relay"} 1`,
		`maildock_logins_total{account="scanner",proto="imap",tls="TLS 1.3"} 1`,
		`maildock_logins_total{account="scanner",proto="pop3",tls="none"} 1`,
		`maildock_auth_failures_total{proto="imap"} 1`,
		`maildock_sessions{proto="imap"} 1`,
		`maildock_smtp_delivery_seconds_count 1`,
	}
	// Sessions end asynchronously (the closed IMAP one, POP3's QUIT).
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		body = getMetrics(t, p.addr("http"))
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w+"\n") {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, grepMaildock(body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !regexp.MustCompile(`(?m)^maildock_store_bytes [1-9]`).MatchString(body) {
		t.Errorf("maildock_store_bytes not positive:\n%s", grepMaildock(body))
	}
	if !regexp.MustCompile(`(?m)^maildock_smtp_received_bytes_total [1-9]`).MatchString(body) {
		t.Errorf("received bytes not counted:\n%s", grepMaildock(body))
	}
}

func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepMaildock(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "maildock_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
