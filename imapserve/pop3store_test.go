package imapserve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/imapserve/pop3"
	"github.com/maildock/maildock/mailstore"
)

// The POP3 adapter over a real store, with the changes another protocol
// (IMAP) makes going through the same store calls IMAP uses.

func startPOP3Store(t *testing.T) (*mailstore.Store, string) {
	t.Helper()
	store, err := mailstore.Open(mailstore.Options{Path: filepath.Join(t.TempDir(), "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	a := auth.New(auth.Options{Accounts: []auth.Account{{Name: "app", PasswordHash: string(hash)}}})
	srv := pop3.New(pop3.Options{Backend: NewPOP3Backend(store, a, nil, nil), AllowPlaintext: func(net.Addr) bool { return true }})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		for _, err := range store.Check(context.Background()) {
			t.Errorf("store check: %v", err)
		}
		store.Close()
	})
	for i := 1; i <= 3; i++ {
		m, err := mailstore.ReadMessage(strings.NewReader(fmt.Sprintf("Subject: %d\n\nbody %d\n", i, i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Deliver(context.Background(), m, []mailstore.Target{{Account: "app"}}); err != nil {
			t.Fatal(err)
		}
	}
	return store, l.Addr().String()
}

type popClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func popDial(t *testing.T, addr string) *popClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &popClient{t: t, c: c, br: bufio.NewReader(c)}
	p.expect("+OK")
	p.cmd("USER app", "+OK")
	p.cmd("PASS pw", "+OK maildrop has 3")
	return p
}

func (p *popClient) expect(prefix string) string {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := p.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, prefix) {
		p.t.Fatalf("got %q (%v), want %s", l, err, prefix)
	}
	return l
}

func (p *popClient) cmd(line, prefix string) string {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	return p.expect(prefix)
}

func (p *popClient) multi() string {
	p.t.Helper()
	var b bytes.Buffer
	for {
		l := p.expect("")
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(l)
	}
}

// An expunge elsewhere (as IMAP EXPUNGE does) while a POP3 session is open:
// the session's numbering and sizes stay as they were at login, and RETR of
// the vanished message answers -ERR cleanly.
func TestPOP3SnapshotSurvivesExpungeElsewhere(t *testing.T) {
	store, addr := startPOP3Store(t)
	p := popDial(t, addr)
	p.cmd("UIDL", "+OK")
	uidls := p.multi()
	if _, err := store.Expunge(context.Background(), "app", "INBOX", []uint32{2}); err != nil {
		t.Fatal(err)
	}
	p.cmd("STAT", "+OK 3 ")
	p.cmd("UIDL", "+OK")
	if got := p.multi(); got != uidls {
		t.Errorf("UIDL changed within the session: %q, was %q", got, uidls)
	}
	p.cmd("RETR 2", "-ERR message 2 no longer exists")
	p.cmd("RETR 3", "+OK")
	if got := p.multi(); got != "Subject: 3\r\n\r\nbody 3\r\n" {
		t.Errorf("RETR 3 = %q", got)
	}
	// Deleting the vanished one too is harmless at QUIT.
	p.cmd("DELE 2", "+OK")
	p.cmd("QUIT", "+OK")
	snap, _ := store.Messages("app", "INBOX")
	if len(snap.Messages) != 2 {
		t.Errorf("%d messages left, want 2", len(snap.Messages))
	}
}

// POP3 DELE + QUIT while another session (as IMAP with INBOX selected)
// watches the store: it is told of the expunge, once, with the right UIDs.
func TestPOP3QuitNotifiesOtherSessions(t *testing.T) {
	store, addr := startPOP3Store(t)
	sub := store.Subscribe()
	defer sub.Close()
	p := popDial(t, addr)
	p.cmd("DELE 1", "+OK")
	p.cmd("DELE 3", "+OK")
	if changes, _ := sub.Changes(); len(changes) != 0 {
		t.Fatalf("DELE changed the store before QUIT: %+v", changes)
	}
	p.cmd("QUIT", "+OK")
	select {
	case <-sub.C():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after QUIT")
	}
	changes, _ := sub.Changes()
	if len(changes) != 1 || changes[0].Kind != mailstore.MessagesExpunged || fmt.Sprint(changes[0].UIDs) != "[1 3]" {
		t.Errorf("changes after QUIT = %+v, want one expunge of UIDs 1 and 3", changes)
	}
}

func TestPOP3OneSessionPerAccount(t *testing.T) {
	_, addr := startPOP3Store(t)
	first := popDial(t, addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	second := &popClient{t: t, c: c, br: bufio.NewReader(c)}
	second.expect("+OK")
	second.cmd("USER app", "+OK")
	second.cmd("PASS pw", "-ERR [IN-USE]")
	first.cmd("QUIT", "+OK")
	// The lock went with the first session's QUIT.
	second.cmd("USER app", "+OK")
	second.cmd("PASS pw", "+OK maildrop has 3")
}
