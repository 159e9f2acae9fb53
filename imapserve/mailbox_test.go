package imapserve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/mailstore"
)

func TestMailboxCommands(t *testing.T) {
	e := newIMAPEnv(t)
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	for _, tc := range []struct {
		cmd string
		st  string // prefix of the tagged status (without the tag)
	}{
		{"CREATE Work", "OK"},
		{"CREATE Work", "NO [ALREADYEXISTS]"},
		{"CREATE inbox", "NO [ALREADYEXISTS]"},
		{"CREATE Work/2024/", "OK"}, // trailing separator: the name without it
		{`CREATE "Sent Items"`, "OK"},
		{"CREATE Trash", "OK"},
		{`CREATE "a/../b"`, "NO [CANNOT]"},
		{`CREATE "a//b"`, "NO [CANNOT]"},
		{`CREATE "x*y"`, "NO [CANNOT]"},
		{`CREATE "x%y"`, "NO [CANNOT]"},
		{"CREATE " + strings.Repeat("n", 600), "NO [CANNOT]"},
		{"CREATE &AMk-t&AOk-", "OK"}, // modified UTF-7 for "Été"
		{"DELETE INBOX", "NO"},
		{"DELETE Nope", "NO [NONEXISTENT]"},
		{"RENAME Nope Other", "NO [NONEXISTENT]"},
		{"RENAME Trash Work", "NO [ALREADYEXISTS]"},
		{"RENAME Work Work/Sub", "NO [CANNOT]"},
		{"RENAME Work Projects", "OK"},
		{"SUBSCRIBE Projects", "OK"},
		{"SUBSCRIBE Nope", "NO [NONEXISTENT]"},
		{"UNSUBSCRIBE Trash", "OK"},
		{"UNSUBSCRIBE Nope", "OK"},
		{"STATUS Nope (MESSAGES)", "NO [NONEXISTENT]"},
		{"SELECT Nope", "NO [NONEXISTENT]"},
		{"SELECT Projects/2024", "OK"},
		{"SELECT Projects", "OK"},
	} {
		if _, st := rc.cmd("%s", tc.cmd); !strings.HasPrefix(st, tc.st) {
			t.Errorf("%s: %q, want %s", tc.cmd, st, tc.st)
		}
	}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{`LIST "" ""`, []string{`* LIST (\Noselect) "/" ""`}},
		{`LIST "" *`, []string{
			`* LIST (\HasNoChildren) "/" INBOX`,
			`* LIST (\HasChildren) "/" "Projects"`,
			`* LIST (\HasNoChildren) "/" "Projects/2024"`,
			`* LIST (\HasNoChildren \Sent) "/" "Sent Items"`,
			`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
			`* LIST (\HasNoChildren) "/" "&AMk-t&AOk-"`,
		}},
		{`LIST "" %`, []string{
			`* LIST (\HasNoChildren) "/" INBOX`,
			`* LIST (\HasChildren) "/" "Projects"`,
			`* LIST (\HasNoChildren \Sent) "/" "Sent Items"`,
			`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
			`* LIST (\HasNoChildren) "/" "&AMk-t&AOk-"`,
		}},
		{`LIST "" inbox`, []string{`* LIST (\HasNoChildren) "/" INBOX`}},
		{`LIST "" Projects/%`, []string{`* LIST (\HasNoChildren) "/" "Projects/2024"`}},
		{`LIST Projects/ %`, []string{`* LIST (\HasNoChildren) "/" "Projects/2024"`}},
		{`LIST "" P*4`, []string{`* LIST (\HasNoChildren) "/" "Projects/2024"`}},
		{`LIST "" Nope*`, nil},
		// CREATE subscribes nothing; LSUB shows the client's choices, with
		// no child attributes (as Dovecot answers).
		{`LSUB "" *`, []string{
			`* LSUB () "/" INBOX`,
			`* LSUB () "/" "Projects"`,
		}},
		{`LIST (SUBSCRIBED) "" T*`, nil},
		{`LIST "" T* RETURN (SUBSCRIBED)`, []string{`* LIST (\HasNoChildren \Trash) "/" "Trash"`}},
		{`LIST (SPECIAL-USE) "" *`, []string{
			`* LIST (\HasNoChildren \Sent) "/" "Sent Items"`,
			`* LIST (\HasNoChildren \Trash) "/" "Trash"`,
		}},
		{`LIST "" INBOX RETURN (STATUS (MESSAGES UIDNEXT UNSEEN))`, []string{
			`* LIST (\HasNoChildren) "/" INBOX`,
			`* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UNSEEN 0)`,
		}},
		{`NAMESPACE`, []string{`* NAMESPACE (("" "/")) NIL NIL`}},
	} {
		if u := rc.ok("%s", tc.cmd); strings.Join(u, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.cmd, u, tc.want)
		}
	}
	// A parent that is no mailbox is \Noselect.
	e.mkdir(imapUser, "deep/er/est")
	if u := rc.ok(`LIST "" deep*`); strings.Join(u, "\n") != `* LIST (\Noselect \HasChildren) "/" "deep"`+"\n"+
		`* LIST (\Noselect \HasChildren) "/" "deep/er"`+"\n"+`* LIST (\HasNoChildren) "/" "deep/er/est"` {
		t.Errorf("LIST deep*: %q", u)
	}
	// LSUB with %: an unsubscribed parent of a subscribed mailbox that %
	// hides is \Noselect (RFC 3501 section 6.3.9); "*" shows the mailbox.
	rc.ok("SUBSCRIBE deep/er/est")
	if u := rc.ok("%s", `LSUB "" deep/%`); strings.Join(u, "\n") != `* LSUB (\Noselect) "/" "deep/er"` {
		t.Errorf("LSUB deep/%%: %q", u)
	}
	if u := rc.ok(`LSUB "" deep/*`); strings.Join(u, "\n") != `* LSUB () "/" "deep/er/est"` {
		t.Errorf("LSUB deep/*: %q", u)
	}
	rc.ok("UNSUBSCRIBE deep/er/est")
	if u := rc.ok("%s", `LSUB "" deep/%`); len(u) != 0 {
		t.Errorf("LSUB deep/%% with nothing subscribed: %q", u)
	}
	if _, st := rc.cmd("SELECT deep"); !strings.HasPrefix(st, "NO [NONEXISTENT]") {
		t.Errorf("SELECT of a \\Noselect parent: %q", st)
	}
	// A mailbox with children may be deleted (as in Dovecot); it stays
	// as a \Noselect parent, which itself cannot be deleted.
	rc.ok("DELETE Projects")
	if u := rc.ok(`LIST "" Projects*`); strings.Join(u, "\n") != `* LIST (\Noselect \HasChildren) "/" "Projects"`+"\n"+`* LIST (\HasNoChildren) "/" "Projects/2024"` {
		t.Errorf("after DELETE Projects: %q", u)
	}
	if _, st := rc.cmd("DELETE Projects"); !strings.HasPrefix(st, "NO [NONEXISTENT]") {
		t.Errorf("DELETE of a \\Noselect parent: %q", st)
	}
}

// RENAME INBOX moves its messages into the new mailbox and leaves INBOX
// empty (RFC 3501 section 6.3.5).
func TestRenameInbox(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", testMessage(i, "old"))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	u := rc.updatesUntil(rc.ok("RENAME INBOX Old"), "* 0 RECENT")
	if strings.Join(u, ",") != "* 3 EXPUNGE,* 2 EXPUNGE,* 1 EXPUNGE,* 0 RECENT" {
		t.Errorf("selected INBOX after RENAME: %q", u)
	}
	if u := rc.ok("STATUS Old (MESSAGES UIDNEXT)"); u[0] != `* STATUS "Old" (MESSAGES 3 UIDNEXT 4)` {
		t.Errorf("STATUS Old: %q", u)
	}
	uid := e.deliver(imapUser, "INBOX", testMessage(4, "new"))
	if uid != 4 {
		t.Errorf("INBOX UID after rename %d, want 4 (never reused)", uid)
	}
}

func TestStatus(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "st"), `\Seen`)
	e.deliver(imapUser, "INBOX", testMessage(2, "st"), `\Deleted`)
	e.deliver(imapUser, "INBOX", testMessage(3, "st"))
	size := len(testMessage(1, "st")) * 3
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	u := rc.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE APPENDLIMIT)")
	var validity uint32
	want := fmt.Sprintf("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY %%d UNSEEN 2 DELETED 1 SIZE %d APPENDLIMIT %d RECENT 3)", size, DefaultAppendLimit)
	if _, err := fmt.Sscanf(u[0], want, &validity); err != nil || validity == 0 {
		t.Errorf("STATUS: %q (%v)", u[0], err)
	}
	// SELECT claims \Recent; STATUS counts what no session has claimed.
	// EXAMINE sees \Recent but claims nothing (as in Dovecot).
	if u := rc.ok("EXAMINE INBOX"); !contains(u, "* 3 RECENT") {
		t.Errorf("EXAMINE: %q, want 3 RECENT", u)
	}
	if u := rc.ok("STATUS INBOX (RECENT)"); u[0] != "* STATUS INBOX (RECENT 3)" {
		t.Errorf("STATUS RECENT after EXAMINE: %q", u)
	}
	rc.ok("SELECT INBOX")
	if u := rc.ok("STATUS INBOX (RECENT)"); u[0] != "* STATUS INBOX (RECENT 0)" {
		t.Errorf("STATUS RECENT after SELECT: %q", u)
	}
	// UIDVALIDITY of a fresh account's INBOX is fixed by the first look.
	c := e.login(imapOther, imapOtherPwd)
	st1, err := c.Status("INBOX", &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	st2, err := c.Select("INBOX", nil).Wait()
	if err != nil || st1.UIDValidity == 0 || st1.UIDValidity != st2.UIDValidity {
		t.Errorf("UIDVALIDITY %d then %d (%v)", st1.UIDValidity, st2.UIDValidity, err)
	}
}

func TestAppend(t *testing.T) {
	e := newIMAPEnv(t, func(o *Options) { o.AppendLimit = 4096 })
	e.mkdir(imapUser, "Drafts")
	c := e.login(imapUser, imapPass)
	msg := testMessage(1, "appended")
	date := time.Date(2020, 2, 3, 4, 5, 6, 0, time.FixedZone("", -5*3600))
	w := c.Append("Drafts", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft, "$Custom"}, Time: date})
	w.Write(msg)
	w.Close()
	data, err := w.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.UID != 1 || data.UIDValidity == 0 {
		t.Errorf("APPENDUID %+v", data)
	}
	if _, err := c.Select("Drafts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !msgs[0].InternalDate.Equal(date) || fmt.Sprint(msgs[0].Flags) != `[\Draft $Custom \Recent]` ||
		string(msgs[0].BodySection[0].Bytes) != string(msg) {
		t.Errorf("appended: %v %v %q", msgs[0].InternalDate, msgs[0].Flags, msgs[0].BodySection[0].Bytes)
	}
	// Appending to the selected mailbox shows up at once.
	w = c.Append("Drafts", int64(len(msg)), nil)
	w.Write(msg)
	w.Close()
	if _, err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Errorf("EXISTS after APPEND to the selected mailbox: %d", n)
	}

	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	for _, tc := range []struct{ cmd, st string }{
		{"APPEND Nope {5+}\r\nhello", "NO [TRYCREATE]"},
		{"APPEND INBOX {0+}\r\n", "NO"},
		{"APPEND INBOX (\\Bogus) {5+}\r\nhello", "BAD"},
		// Over the limit, synchronizing and not: the literal is read and
		// dropped, the connection goes on.
		{fmt.Sprintf("APPEND INBOX {5000+}\r\n%s", strings.Repeat("x", 5000)), "NO [TOOBIG]"},
		{"APPEND INBOX (\\Seen) \"03-Feb-2020 04:05:06 -0500\" {5+}\r\nhello", "OK [APPENDUID "},
		{"APPEND inbox {5+}\r\nhello", "OK [APPENDUID "},
	} {
		if _, st := rc.cmd("%s", tc.cmd); !strings.HasPrefix(st, tc.st) {
			t.Errorf("%.40q: %q, want %s", tc.cmd, st, tc.st)
		}
	}
	rc.send("S1 APPEND INBOX {5000}")
	if l := rc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("synchronizing literal: %q", l)
	}
	rc.send(strings.Repeat("y", 5000))
	if l := rc.line(); !strings.HasPrefix(l, "S1 NO [TOOBIG]") {
		t.Errorf("synchronizing literal over the limit: %q", l)
	}
	rc.ok("NOOP")
	if u := rc.ok("STATUS INBOX (MESSAGES)"); u[0] != "* STATUS INBOX (MESSAGES 2)" {
		t.Errorf("INBOX: %q", u)
	}
}

func TestCopyMove(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 4 {
		e.deliver(imapUser, "INBOX", testMessage(i, "cm"), fmt.Sprintf("kw%d", i))
	}
	e.mkdir(imapUser, "Archive")
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	_, st := rc.cmd("COPY 1:2 Archive")
	var validity uint32
	if _, err := fmt.Sscanf(st, "OK [COPYUID %d 1:2 1:2] COPY completed", &validity); err != nil {
		t.Errorf("COPY: %q", st)
	}
	if _, st := rc.cmd("COPY 1 Nope"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("COPY to a missing mailbox: %q", st)
	}
	for _, dest := range []string{"Archive", "Nope"} {
		if _, st := rc.cmd("UID COPY 99 %s", dest); st != "OK COPY completed" {
			t.Errorf("UID COPY of nothing to %s: %q", dest, st)
		}
	}
	u, st := rc.cmd("UID MOVE 2:3 Archive")
	if strings.Join(u, ",") != fmt.Sprintf("* OK [COPYUID %d 2:3 3:4] COPY completed,* 3 EXPUNGE,* 2 EXPUNGE,* 2 RECENT", validity) || !strings.HasPrefix(st, "OK") {
		t.Errorf("MOVE: %q %q", u, st)
	}
	if _, st := rc.cmd("MOVE 1 Nope"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("MOVE to a missing mailbox: %q", st)
	}
	// Into the selected mailbox itself: new UIDs, EXISTS.
	u = rc.ok("COPY 2 INBOX")
	if !contains(u, "* 3 EXISTS") {
		t.Errorf("COPY into the selected mailbox: %q", u)
	}
	rc.ok("SELECT Archive")
	u = rc.ok("FETCH 1:* (UID FLAGS)")
	want := []string{"* 1 FETCH (UID 1 FLAGS (kw0 \\Recent))", "* 2 FETCH (UID 2 FLAGS (kw1 \\Recent))", "* 3 FETCH (UID 3 FLAGS (kw1 \\Recent))", "* 4 FETCH (UID 4 FLAGS (kw2 \\Recent))"}
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("Archive:\n%q\nwant %q", u, want)
	}
}

// Every command naming a mailbox works only inside the logged-in account.
func TestAccountIsolation(t *testing.T) {
	e := newIMAPEnv(t)
	e.mkdir(imapOther, "Secret")
	e.deliver(imapOther, "Secret", testMessage(1, "theirs"))
	e.deliver(imapOther, "INBOX", testMessage(2, "theirs"))
	e.deliver(imapUser, "INBOX", testMessage(3, "mine"))
	if err := e.store.SetSubscribed(context.Background(), imapOther, "Secret", true); err != nil {
		t.Fatal(err)
	}
	c := e.login(imapUser, imapPass)
	for _, name := range []string{"Secret", "other/Secret", "../other/Secret", "/other/Secret", "~other/Secret", "#shared/Secret"} {
		var ierr *imap.Error
		if _, err := c.Select(name, nil).Wait(); !errors.As(err, &ierr) || ierr.Type != imap.StatusResponseTypeNo {
			t.Errorf("SELECT %q: %v", name, err)
		}
		if _, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait(); err == nil {
			t.Errorf("EXAMINE %q worked", name)
		}
		c.Unsubscribe(name).Wait() // whatever it answers, theirs stays
		if _, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil {
			t.Errorf("STATUS %q worked", name)
		}
		if err := c.Delete(name).Wait(); err == nil {
			t.Errorf("DELETE %q worked", name)
		}
		if err := c.Rename(name, "Mine", nil).Wait(); err == nil {
			t.Errorf("RENAME %q worked", name)
		}
		if err := c.Subscribe(name).Wait(); err == nil {
			t.Errorf("SUBSCRIBE %q worked", name)
		}
	}
	// No pattern reaches the other account: LIST and LSUB show the
	// user's INBOX only (their Secret is subscribed).
	for _, pattern := range []string{"*", "%", "*Secret*", "other*", "*/*", "~*", "#*", "../*"} {
		lists, err := c.List("", pattern, nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lists {
			if l.Mailbox != "INBOX" {
				t.Errorf("LIST %q shows %q", pattern, l.Mailbox)
			}
		}
		subs, err := c.List("", pattern, &imap.ListOptions{SelectSubscribed: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range subs {
			if l.Mailbox != "INBOX" {
				t.Errorf("LSUB %q shows %q", pattern, l.Mailbox)
			}
		}
	}
	if mbs, _ := e.store.Mailboxes(imapOther); !slices.ContainsFunc(mbs, func(m mailstore.MailboxInfo) bool { return m.Name == "Secret" && m.Subscribed }) {
		t.Errorf("the other account's subscription changed: %+v", mbs)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("own INBOX: %v %v", st, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Secret").Wait(); err == nil {
		t.Error("COPY into another account's mailbox worked")
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Secret").Wait(); err == nil {
		t.Error("MOVE into another account's mailbox worked")
	}
	w := c.Append("Secret", 5, nil)
	w.Write([]byte("hello"))
	w.Close()
	if _, err := w.Wait(); err == nil {
		t.Error("APPEND into another account's mailbox worked")
	}
	// Their mailbox is untouched.
	snap, err := e.store.Messages(imapOther, "Secret")
	if err != nil || len(snap.Messages) != 1 {
		t.Errorf("other's Secret: %v %v", snap, err)
	}
	// CREATE of the same name makes the user's own.
	if err := c.Create("Secret", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status("Secret", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 0 {
		t.Errorf("own Secret: %v %v", st, err)
	}
}

func TestEnableAndUnknownCommands(t *testing.T) {
	e := newIMAPEnv(t)
	rc := e.raw()
	// Before login an unknown command ends the connection (go-imap's
	// defence against cross-protocol attacks).
	rc.send("A1 LOGIN") // a syntax error is only BAD
	if l := rc.line(); !strings.HasPrefix(l, "A1 BAD") {
		t.Errorf("LOGIN without arguments: %q", l)
	}
	rc.ok(`LOGIN app "s3cret pass"`)
	if u := rc.ok("ENABLE UTF8=ACCEPT"); u[0] != "* ENABLED UTF8=ACCEPT" {
		t.Errorf("ENABLE: %q", u)
	}
	if _, st := rc.cmd("XYZZY"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("unknown command: %q", st)
	}
	rc.ok("CHECK")
	rc.ok("NOOP")
	if _, st := rc.cmd("SELECT"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("SELECT without a name: %q", st)
	}
}

// UIDVALIDITY and UIDs survive a restart of the server and the store.
func TestRestartKeepsUIDs(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/maildock.db"
	start := func() (*mailstore.Store, *Server, string) {
		st, err := mailstore.Open(mailstore.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(Options{Store: st, Auth: auth.New(auth.Options{Accounts: imapTestAccounts(t)}), AllowPlaintext: func(netip.Addr) bool { return true }})
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		return st, srv, l.Addr().String()
	}
	stop := func(st *mailstore.Store, srv *Server) {
		srv.Shutdown(context.Background())
		st.Close()
	}
	selectInbox := func(addr string) (*imap.SelectData, []imap.UID) {
		c, err := imapclient.DialInsecure(addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(imapUser, imapPass).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		var uids []imap.UID
		if data.NumMessages > 0 {
			msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				uids = append(uids, m.UID)
			}
		}
		c.Logout().Wait()
		return data, uids
	}
	st, srv, addr := start()
	before, _ := selectInbox(addr) // a fresh INBOX gets its UIDVALIDITY now
	for i := range 3 {
		m, _ := mailstore.ReadMessage(bytes.NewReader(testMessage(i, "r")), 0)
		st.Deliver(context.Background(), m, []mailstore.Target{{Account: imapUser}})
	}
	st.Expunge(context.Background(), imapUser, "INBOX", []uint32{3})
	stop(st, srv)

	st, srv, addr = start()
	defer stop(st, srv)
	after, uids := selectInbox(addr)
	if after.UIDValidity != before.UIDValidity || after.UIDNext != 4 || fmt.Sprint(uids) != "[1 2]" {
		t.Errorf("after restart: UIDVALIDITY %d (was %d), UIDNEXT %d, UIDs %v", after.UIDValidity, before.UIDValidity, after.UIDNext, uids)
	}
}
