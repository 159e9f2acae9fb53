package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Retention and quota on the built binary: an old message goes in the
// background (a selected IMAP session sees EXPUNGE), SMTP answers 452
// 4.2.2 beyond the quota, and /metrics shows both.
func TestRetentionAndQuota(t *testing.T) {
	dir := t.TempDir()
	path := writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "127.0.0.1:0")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Appended to the [[account]] table that ends the file.
	fmt.Fprintf(f, "retention = \"2d\"\nquota = \"20000\"\n")
	f.Close()
	p := startServe(t, dir, "--config", path)

	var mu sync.Mutex
	var expunged []uint32
	watch, err := imapclient.DialInsecure(p.addr("imap"), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Expunge: func(seq uint32) {
			mu.Lock()
			expunged = append(expunged, seq)
			mu.Unlock()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if err := watch.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	// An app's old message (APPEND keeps its date) and a new one.
	c, err := imapclient.DialInsecure(p.addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Time{time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), time.Now()} {
		raw := fmt.Sprintf("Subject: from %s\r\n\r\nbody\r\n", d.Format(time.DateOnly))
		a := c.Append("INBOX", int64(len(raw)), &imap.AppendOptions{Time: d})
		a.Write([]byte(raw))
		a.Close()
		if _, err := a.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if sel, err := watch.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 2 {
		t.Fatalf("SELECT: %v %+v", err, sel)
	}
	// A reload starts a retention pass (as does every start, and every
	// hour).
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := watch.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := fmt.Sprint(expunged)
		mu.Unlock()
		if got == "[1]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("EXPUNGE seen: %s, want [1] (the 2020 message)", got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Quota: 20,000 bytes.
	big := func(n int) []byte { return []byte("Subject: big\r\n\r\n" + strings.Repeat("q", n) + "\r\n") }
	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@imap.test"}, big(15000)); err != nil {
		t.Fatalf("under quota: %v", err)
	}
	err = sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@imap.test"}, big(10000))
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 2, 2}) {
		t.Errorf("over quota: %v, want 452 4.2.2", err)
	}

	body := getMetrics(t, p.addr("http"))
	for _, re := range []string{
		`(?m)^maildock_retention_removed_total\{account="scanner"\} 1$`,
		`(?m)^maildock_account_quota_bytes\{account="scanner"\} 20000$`,
		`(?m)^maildock_account_messages\{account="scanner"\} 2$`,
		`(?m)^maildock_account_bytes\{account="scanner"\} 1[5-9]\d\d\d$`,
		`(?m)^maildock_smtp_messages_total\{result="quota"\} 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s:\n%s", re, grepMaildock(body))
		}
	}
	if !strings.Contains(p.log.String(), "retention: old messages removed") {
		t.Errorf("no log line for the retention pass")
	}
}
