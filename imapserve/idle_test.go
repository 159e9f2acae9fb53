package imapserve

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/maildock/maildock/mailstore"
)

// expectLine reads the next response line within d (a bound on the wait,
// not a timing check).
func (rc *rawConn) expectLine(d time.Duration, want string) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(d))
	defer rc.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if got := rc.line(); got != want {
		rc.t.Fatalf("got %q, want %q", got, want)
	}
}

// What other sessions and SMTP do reaches a session in IDLE at once.
func TestIdleSeesDeliveriesFlagsAndExpunges(t *testing.T) {
	e := newIMAPEnv(t)
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	a.ok("SELECT INBOX")
	a.send("I1 IDLE")
	a.expectLine(5*time.Second, "+ idling")

	start := time.Now()
	e.deliver(imapUser, "INBOX", testMessage(1, "idle"))
	a.expectLine(5*time.Second, "* 1 EXISTS")
	t.Logf("delivery to EXISTS in IDLE: %v", time.Since(start))
	a.expectLine(5*time.Second, "* 1 RECENT")

	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	b.ok("SELECT INBOX")
	b.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)
	a.expectLine(5*time.Second, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`)
	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	a.expectLine(5*time.Second, `* 1 FETCH (UID 1 FLAGS (\Deleted \Seen \Recent))`)
	b.ok("EXPUNGE")
	a.expectLine(5*time.Second, "* 1 EXPUNGE")
	a.expectLine(5*time.Second, "* 0 RECENT")
	a.send("DONE")
	a.expectLine(5*time.Second, "I1 OK IDLE completed")
	// IDLE without a selected mailbox waits for DONE.
	c := e.raw()
	c.ok(`LOGIN app "s3cret pass"`)
	c.send("I2 IDLE")
	c.expectLine(5*time.Second, "+ idling")
	c.send("DONE")
	c.expectLine(5*time.Second, "I2 OK IDLE completed")
}

// Updates wait for a point where they may be sent: no EXPUNGE during
// FETCH, STORE or SEARCH; EXISTS and flags may come.
func TestUpdatesAfterCommands(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", testMessage(i, "upd"))
	}
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	a.ok("SELECT INBOX")
	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	b.ok("SELECT INBOX")

	b.ok(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	e.deliver(imapUser, "INBOX", testMessage(4, "upd"))
	waitFor(t, 5*time.Second, "the hub to pass the changes on", func() bool {
		return e.pending(imapUser, "INBOX", true, true, false)
	})
	for _, cmd := range []string{"FETCH 1 UID", "STORE 1 +FLAGS.SILENT (x)", "SEARCH ALL"} {
		u := a.ok("%s", cmd)
		for _, l := range u {
			if strings.HasSuffix(l, "EXPUNGE") {
				t.Errorf("%s: EXPUNGE sent during it: %q", cmd, u)
			}
		}
	}
	// a still sees 4 messages: 1, 2 (gone), 3, 4; the new one is 4.
	if u := a.ok("FETCH 4 UID"); u[0] != "* 4 FETCH (UID 4)" {
		t.Errorf("FETCH 4: %q", u)
	}
	if u := a.ok("NOOP"); strings.Join(u, ",") != "* 2 EXPUNGE,* 3 RECENT" {
		t.Errorf("NOOP: %q", u)
	}
	if u := a.ok("UID FETCH 1:* UID"); strings.Join(u, ",") != "* 1 FETCH (UID 1),* 2 FETCH (UID 3),* 3 FETCH (UID 4)" {
		t.Errorf("after: %q", u)
	}
}

// pending reports, under the views' locks, whether a view of a mailbox
// has a change of each kind asked for queued (added, expunged, gone). The
// hub queues each change on all views of the mailbox at once.
func (e *imapEnv) pending(account, mailbox string, added, expunged, gone bool) bool {
	h := e.srv.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	views := h.views[mbKey{account, mailbox}]
	if len(views) == 0 {
		return false
	}
	for v := range views {
		v.mu.Lock()
		ok := (!added || len(v.pAdded) > 0) && (!expunged || len(v.pExpunged) > 0) && (!gone || v.pGone)
		v.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// go-imap's client in IDLE gets EXISTS for every delivery.
func TestIdleWithGoIMAPClient(t *testing.T) {
	e := newIMAPEnv(t)
	var mu sync.Mutex
	var exists uint32
	got := make(chan struct{}, 16)
	c, _ := e.selectBox("INBOX", &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				mu.Lock()
				exists = *d.NumMessages
				mu.Unlock()
				got <- struct{}{}
			}
		},
	}})
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		e.deliver(imapUser, "INBOX", testMessage(i, "idle"))
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("no EXISTS for delivery %d", i)
		}
	}
	mu.Lock()
	n := exists
	mu.Unlock()
	if n != 3 {
		t.Errorf("EXISTS %d, want 3", n)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 3 {
		t.Fatalf("fetch after IDLE: %v %v", msgs, err)
	}
}

// The selected mailbox deleted by another session: BYE, as Dovecot does.
func TestSelectedMailboxDeleted(t *testing.T) {
	e := newIMAPEnv(t)
	e.mkdir(imapUser, "Work")
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	a.ok("SELECT Work")
	if err := e.store.DeleteMailbox(context.Background(), imapUser, "Work"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the hub", func() bool { return e.pending(imapUser, "Work", false, false, true) })
	a.send("N1 NOOP")
	a.expectLine(5*time.Second, "* BYE Selected mailbox was deleted, have to disconnect.")

	// Deleting its own selected mailbox: OK first, then BYE.
	e.mkdir(imapUser, "Mine")
	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	b.ok("SELECT Mine")
	b.ok("DELETE Mine")
	b.send("N2 NOOP")
	b.expectLine(5*time.Second, "* BYE Selected mailbox was deleted, have to disconnect.")
	if _, err := e.store.Messages(imapUser, "Mine"); err == nil || !strings.Contains(err.Error(), mailstore.ErrNotFound.Error()) {
		t.Errorf("Mine still there: %v", err)
	}
}

// updatesUntil sends NOOPs until the updates (starting with first)
// include last, for changes that reach the session through the hub.
func (rc *rawConn) updatesUntil(first []string, last string) []string {
	rc.t.Helper()
	u := first
	deadline := time.Now().Add(5 * time.Second)
	for !contains(u, last) {
		if time.Now().After(deadline) {
			rc.t.Fatalf("no %q in %q", last, u)
		}
		time.Sleep(5 * time.Millisecond)
		u = append(u, rc.ok("NOOP")...)
	}
	return u
}

// If the hub falls behind the store's change log, sessions re-read their
// mailbox and still tell their clients exactly what changed.
func TestResyncAfterLostChanges(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 5 {
		e.deliver(imapUser, "INBOX", testMessage(i, "resync"))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	rc.ok("FETCH 1:* FLAGS")
	// Hold the hub: what happens now reaches the views only later, and as
	// a resync.
	h := e.srv.hub
	h.mu.Lock()
	ctx := context.Background()
	e.store.Expunge(ctx, imapUser, "INBOX", []uint32{2, 4})
	e.store.SetFlags(ctx, imapUser, "INBOX", []uint32{5}, mailstore.FlagsAdd, []string{`\Flagged`})
	e.deliver(imapUser, "INBOX", testMessage(6, "resync"))
	for v := range h.views[mbKey{imapUser, "INBOX"}] {
		v.noteResync()
	}
	h.mu.Unlock()
	// Flags the client fetched before and that did not change are not
	// sent again.
	want := []string{"* 4 EXPUNGE", "* 2 EXPUNGE", "* 4 EXISTS", "* 4 RECENT",
		`* 3 FETCH (UID 5 FLAGS (\Flagged \Recent))`}
	u := rc.ok("NOOP")
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("after resync:\n%q\nwant %q", u, want)
	}
	// The changes the hub passes on afterwards are no news.
	time.Sleep(50 * time.Millisecond)
	if u := rc.ok("NOOP"); len(u) != 0 {
		t.Errorf("second NOOP: %q", u)
	}
}

// \Recent: a new message is recent in the first session that sees it
// only.
func TestRecent(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "r"))
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	if u := a.ok("SELECT INBOX"); !contains(u, "* 1 RECENT") {
		t.Errorf("first session: %q", u)
	}
	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	if u := b.ok("SELECT INBOX"); !contains(u, "* 0 RECENT") {
		t.Errorf("second session: %q", u)
	}
	e.deliver(imapUser, "INBOX", testMessage(2, "r"))
	ua := a.updatesUntil(nil, "* 2 RECENT")
	ub := b.updatesUntil(nil, "* 0 RECENT")
	if !contains(ua, "* 2 EXISTS") && !contains(ub, "* 2 EXISTS") {
		t.Errorf("EXISTS: %q %q", ua, ub)
	}
	// Only one of them holds message 2 as recent: the first to look.
	recentA := a.ok("SEARCH RECENT")[0]
	recentB := b.ok("SEARCH RECENT")[0]
	if recentA != "* SEARCH 1 2" || recentB != "* SEARCH" {
		t.Errorf("SEARCH RECENT: %q and %q", recentA, recentB)
	}
}

// A delivery reaches every session that has the mailbox selected, idle or
// not, and no session of another account or mailbox.
func TestDeliveryReachesEverySession(t *testing.T) {
	e := newIMAPEnv(t)
	e.mkdir(imapUser, "Other")
	var idlers, pollers []*rawConn
	for range 4 {
		rc := e.raw()
		rc.ok(`LOGIN app "s3cret pass"`)
		rc.ok("SELECT INBOX")
		rc.send("I IDLE")
		rc.expectLine(5*time.Second, "+ idling")
		idlers = append(idlers, rc)
	}
	for range 3 {
		rc := e.raw()
		rc.ok(`LOGIN app "s3cret pass"`)
		rc.ok("SELECT INBOX")
		pollers = append(pollers, rc)
	}
	elsewhere := e.raw()
	elsewhere.ok(`LOGIN app "s3cret pass"`)
	elsewhere.ok("SELECT Other")
	stranger := e.raw()
	stranger.ok(`LOGIN other "other-pw"`)
	stranger.ok("SELECT INBOX")

	e.deliver(imapUser, "INBOX", testMessage(1, "all"))
	for _, rc := range idlers {
		rc.expectLine(5*time.Second, "* 1 EXISTS")
	}
	for _, rc := range pollers {
		rc.updatesUntil(nil, "* 1 EXISTS")
	}
	time.Sleep(20 * time.Millisecond)
	for _, rc := range []*rawConn{elsewhere, stranger} {
		if u := rc.ok("NOOP"); len(u) != 0 {
			t.Errorf("a session of another mailbox got %q", u)
		}
	}
}
