package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// maildock status asks the running server and prints, per account, what
// it holds and how its clients log in; without a server it says so.
func TestStatusCommand(t *testing.T) {
	dir := t.TempDir()
	path := writeIMAPConfig(t, dir, `"127.0.0.0/8"`, "127.0.0.1:0")
	p := startServe(t, dir, "--config", path)
	// status reads [http] listen from the config: point it at the port
	// the server got.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	statusCfg := filepath.Join(dir, "status.toml")
	os.WriteFile(statusCfg, []byte(strings.Replace(string(b), `listen = "127.0.0.1:0"`, `listen = "`+p.addr("http")+`"`, 1)), 0o600)

	if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"x@imap.test"}, testMessage("st1", "hello")); err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialTLS(p.addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("scanner", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	out, err := exec.Command(binary, "status", "--config", statusCfg).CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	row := regexp.MustCompile(`(?m)^scanner +1 +\d+ B +- +\d{4}-\d\d-\d\d \d\d:\d\d \(just now\) +0 +imap TLS 1\.3 \(just now\)$`)
	if !row.Match(out) {
		t.Errorf("status output:\n%s", out)
	}
	out, err = exec.Command(binary, "status", "--config", statusCfg, "--json").Output()
	var rep statusReport
	if err != nil || json.Unmarshal(out, &rep) != nil || len(rep.Accounts) != 1 || rep.Accounts[0].Messages != 1 ||
		len(rep.Accounts[0].Clients) != 1 || rep.Accounts[0].Clients[0].TLS != "TLS 1.3" {
		t.Errorf("status --json: %v\n%s", err, out)
	}

	// How clients logged in survives a restart (status shows a week).
	p.stop(syscall.SIGTERM)
	p2 := startServe(t, dir, "--config", path)
	b, _ = os.ReadFile(path)
	os.WriteFile(statusCfg, []byte(strings.Replace(string(b), `listen = "127.0.0.1:0"`, `listen = "`+p2.addr("http")+`"`, 1)), 0o600)
	out, err = exec.Command(binary, "status", "--config", statusCfg, "--json").Output()
	rep = statusReport{}
	if err != nil || json.Unmarshal(out, &rep) != nil || len(rep.Accounts) != 1 || len(rep.Accounts[0].Clients) != 1 ||
		rep.Accounts[0].Clients[0].Logins != 1 {
		t.Errorf("status after a restart: %v\n%s", err, out)
	}
	p2.stop(syscall.SIGTERM)
	out, err = exec.Command(binary, "status", "--config", statusCfg).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "is it running?") {
		t.Errorf("status without a server: %v\n%s", err, out)
	}
}
