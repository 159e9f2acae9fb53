package metrics

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A nil *Metrics records nothing and does not panic: packages and tests
// run without a registry.
func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Delivered(10, time.Millisecond)
	m.MessageRefused("too_big")
	m.RecipientRefused("relay")
	m.ConnectionRefused("smtp", "cap")
	m.SessionStarted("imap")()
	m.Login("a", "imap", nil)
	m.AuthFailed("pop3")
	m.LockedOut()
}

func TestCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Delivered(100, 3*time.Millisecond)
	m.Delivered(50, time.Second)
	m.Login("app1", "pop3", &tls.ConnectionState{Version: tls.VersionTLS10})
	m.Login("app1", "imap", nil)
	end := m.SessionStarted("imap")
	m.SessionStarted("imap")
	end()
	m.LockedOut()
	want := `
# HELP maildock_logins_total Successful logins by account, protocol and TLS version ("none" for plaintext): which apps still use weak protocols.
# TYPE maildock_logins_total counter
maildock_logins_total{account="app1",proto="imap",tls="none"} 1
maildock_logins_total{account="app1",proto="pop3",tls="TLS 1.0"} 1
# HELP maildock_sessions Open sessions by protocol (smtp, imap, pop3).
# TYPE maildock_sessions gauge
maildock_sessions{proto="imap"} 1
# HELP maildock_smtp_received_bytes_total Bytes of accepted messages, as stored.
# TYPE maildock_smtp_received_bytes_total counter
maildock_smtp_received_bytes_total 150
# HELP maildock_auth_lockouts_total Remote addresses locked out after [auth] max_failures.
# TYPE maildock_auth_lockouts_total counter
maildock_auth_lockouts_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "maildock_logins_total", "maildock_sessions",
		"maildock_smtp_received_bytes_total", "maildock_auth_lockouts_total"); err != nil {
		t.Error(err)
	}
	got := m.Logins()
	if len(got) != 2 || got[LoginKind{"app1", "pop3", "TLS 1.0"}].N != 1 || got[LoginKind{"app1", "imap", "none"}].N != 1 {
		t.Errorf("Logins: %v", got)
	}
	if again := m.Logins(); len(again) != 0 {
		t.Errorf("Logins again: %v, want nothing new", again)
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("latency histogram: %d series", n)
	}
}
