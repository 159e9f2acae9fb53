package mailstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// Client records add up across calls and restarts, per account.
func TestRecordClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildock.db")
	s := openAt(t, path)
	ctx := context.Background()
	t1 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(48 * time.Hour)
	if err := s.RecordClients(ctx, []ClientUse{
		{Account: "a", Proto: "imap", TLS: "TLS 1.0", Logins: 3, First: t1, Last: t1.Add(time.Hour)},
		{Account: "a", Proto: "pop3", TLS: "none", Logins: 1, First: t1, Last: t1},
		{Account: "ab", Proto: "imap", TLS: "TLS 1.3", Logins: 7, First: t1, Last: t1},
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	if err := s.RecordClients(ctx, []ClientUse{{Account: "a", Proto: "imap", TLS: "TLS 1.0", Logins: 2, First: t2, Last: t2}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Clients("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("a: %+v", got)
	}
	if g := got[0]; g.Proto != "imap" || g.TLS != "TLS 1.0" || g.Logins != 5 || !g.First.Equal(t1) || !g.Last.Equal(t2) {
		t.Errorf("imap TLS 1.0: %+v", g)
	}
	if g := got[1]; g.Proto != "pop3" || g.Logins != 1 {
		t.Errorf("pop3: %+v", g)
	}
	if got, _ := s.Clients("nobody"); len(got) != 0 {
		t.Errorf("unknown account: %+v", got)
	}
}
