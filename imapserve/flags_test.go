package imapserve

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", testMessage(i, "store"))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	u := rc.ok("SELECT INBOX")
	if !contains(u, `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`) ||
		!contains(u, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Permanent flags`) {
		t.Errorf("SELECT: %q", u)
	}
	var flagsSeen []string
	for _, tc := range []struct {
		cmd  string
		want []string // untagged responses
		st   string
	}{
		{`STORE 1 +FLAGS (\Seen)`, []string{`* 1 FETCH (FLAGS (\Seen \Recent))`}, "OK"},
		{`STORE 1 +FLAGS (\Flagged $Work)`, []string{`* 1 FETCH (FLAGS (\Flagged \Seen $Work \Recent))`}, "OK"},
		{`STORE 1 -FLAGS (\Seen)`, []string{`* 1 FETCH (FLAGS (\Flagged $Work \Recent))`}, "OK"},
		{`STORE 1 FLAGS (\Answered)`, []string{`* 1 FETCH (FLAGS (\Answered \Recent))`}, "OK"},
		{`STORE 1 FLAGS ()`, []string{`* 1 FETCH (FLAGS (\Recent))`}, "OK"},
		{`STORE 2:3 +FLAGS.SILENT (\Deleted)`, nil, "OK"},
		{`STORE 2 -FLAGS.SILENT \Deleted`, nil, "OK"},
		{`UID STORE 3 +FLAGS (NonJunk)`, []string{`* 3 FETCH (UID 3 FLAGS (\Deleted NonJunk \Recent))`}, "OK"},
		{`STORE 1 +FLAGS (\Recent)`, nil, "BAD"},
		{`STORE 1 FLAGS ()`, nil, "OK"}, // no change, no FETCH (as in Dovecot)
		{`STORE 1 +FLAGS (\Bogus)`, nil, "BAD"},
		{`STORE 1 +BODY (\Seen)`, nil, "BAD"},
		{`STORE 9 +FLAGS (\Seen)`, nil, "BAD"},
		{`UID STORE 9 +FLAGS (\Seen)`, nil, "OK"},
		// Keywords compare without case: one keyword, first spelling kept.
		{`STORE 2 +FLAGS (todo)`, []string{`* 2 FETCH (FLAGS (todo \Recent))`}, "OK"},
		{`STORE 2 +FLAGS (TODO)`, nil, "OK"},
	} {
		u, st := rc.cmd("%s", tc.cmd)
		var fetches []string
		for _, l := range u {
			if strings.Contains(l, " FETCH ") {
				fetches = append(fetches, l)
			} else {
				flagsSeen = append(flagsSeen, l)
			}
		}
		if !strings.HasPrefix(st, tc.st) || strings.Join(fetches, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q %q\nwant %q %s", tc.cmd, fetches, st, tc.want, tc.st)
		}
	}
	if u, st := rc.cmd("STORE 1:3 -FLAGS ()"); len(u) != 0 || st != "OK STORE completed" {
		t.Errorf("STORE of nothing: %q %q", u, st)
	}
	// New keywords are announced in FLAGS.
	for _, want := range []string{
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)`,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work NonJunk)`,
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work NonJunk todo)`,
	} {
		if !contains(flagsSeen, want) {
			t.Errorf("no %q in %q", want, flagsSeen)
		}
	}
	// Kept for other sessions; FLAGS lists the keywords in use.
	rc2 := e.raw()
	rc2.ok(`LOGIN app "s3cret pass"`)
	u = rc2.ok("SELECT INBOX")
	if !contains(u, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft NonJunk todo \*)] Permanent flags`) {
		t.Errorf("second session SELECT: %q", u)
	}
	u = rc2.ok("FETCH 1:3 FLAGS")
	want := []string{`* 1 FETCH (FLAGS ())`, `* 2 FETCH (FLAGS (todo))`, `* 3 FETCH (FLAGS (\Deleted NonJunk))`}
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("second session flags:\n%q\nwant %q", u, want)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// EXAMINE is read-only: no flag changes, no expunge, no \Seen, empty
// PERMANENTFLAGS.
func TestExamineIsReadOnly(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "ro"), `\Deleted`)
	e.mkdir(imapUser, "Other")
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	u, st := rc.cmd("EXAMINE INBOX")
	if st != "OK [READ-ONLY] EXAMINE completed" || !contains(u, "* OK [PERMANENTFLAGS ()] Permanent flags") {
		t.Errorf("EXAMINE: %q %q", u, st)
	}
	// As Dovecot: STORE and EXPUNGE succeed doing nothing; MOVE fails.
	for _, tc := range []struct{ cmd, st string }{
		{`STORE 1 +FLAGS (\Seen)`, "OK Store ignored with read-only mailbox."},
		{"EXPUNGE", "OK EXPUNGE completed"},
		{"UID EXPUNGE 1", "OK UID EXPUNGE completed"},
		{"MOVE 1 Other", "NO [CANNOT] Mailbox is read-only"},
		{"UID MOVE 1 Other", "NO [CANNOT] Mailbox is read-only"},
	} {
		if u, st := rc.cmd("%s", tc.cmd); st != tc.st || len(u) != 0 {
			t.Errorf("%s in EXAMINE: %q %q, want %q", tc.cmd, u, st, tc.st)
		}
	}
	rc.ok("FETCH 1 BODY[]")
	rc.ok("COPY 1 Other")
	// CLOSE: no expunge and no error (RFC 3501 section 6.4.2).
	if u := rc.ok("CLOSE"); len(u) != 0 {
		t.Errorf("CLOSE after EXAMINE: %q", u)
	}
	u = rc.ok("SELECT INBOX")
	if !contains(u, "* 1 EXISTS") {
		t.Errorf("message gone after EXAMINE and CLOSE: %q", u)
	}
	// EXAMINE left \Recent unclaimed: the SELECT gets it.
	if u := rc.ok("FETCH 1 FLAGS"); u[0] != `* 1 FETCH (FLAGS (\Deleted \Recent))` {
		t.Errorf("flags after EXAMINE: %q", u)
	}
}

func TestExpunge(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 6 {
		e.deliver(imapUser, "INBOX", testMessage(i, "expunge"))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	rc.ok(`STORE 2,4,5 +FLAGS.SILENT (\Deleted)`)
	// UID EXPUNGE takes only the given UIDs.
	// RECENT follows when recent messages go, as in Dovecot.
	if u := rc.ok("UID EXPUNGE 1:4"); strings.Join(u, ",") != "* 4 EXPUNGE,* 2 EXPUNGE,* 4 RECENT" {
		t.Errorf("UID EXPUNGE 1:4: %q", u)
	}
	// Left: UIDs 1 3 5 6, 5 \Deleted (now message 3).
	if u := rc.ok("EXPUNGE"); strings.Join(u, ",") != "* 3 EXPUNGE,* 3 RECENT" {
		t.Errorf("EXPUNGE: %q", u)
	}
	if u := rc.ok("EXPUNGE"); len(u) != 0 {
		t.Errorf("second EXPUNGE: %q", u)
	}
	if u := rc.ok("UID FETCH 1:* UID"); strings.Join(u, ",") != "* 1 FETCH (UID 1),* 2 FETCH (UID 3),* 3 FETCH (UID 6)" {
		t.Errorf("left: %q", u)
	}
	// CLOSE expunges silently.
	rc.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	if u := rc.ok("CLOSE"); len(u) != 0 {
		t.Errorf("CLOSE: %q", u)
	}
	u := rc.ok("SELECT INBOX")
	if !contains(u, "* 2 EXISTS") {
		t.Errorf("after CLOSE: %q", u)
	}
	// UNSELECT does not expunge.
	rc.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	rc.ok("UNSELECT")
	u = rc.ok("SELECT INBOX")
	if !contains(u, "* 2 EXISTS") {
		t.Errorf("after UNSELECT: %q", u)
	}
	// UIDs are never reused.
	uid := e.deliver(imapUser, "INBOX", testMessage(9, "new"))
	if uid != 7 {
		t.Errorf("new UID %d, want 7", uid)
	}
	if _, st := rc.cmd("EXPUNGE"); !strings.HasPrefix(st, "OK") {
		t.Error(st)
	}
	for _, cmd := range []string{"EXPUNGE", "CLOSE", "UNSELECT", "FETCH 1 FLAGS"} {
		rc2 := e.raw()
		rc2.ok(`LOGIN app "s3cret pass"`)
		if _, st := rc2.cmd("%s", cmd); !strings.HasPrefix(st, "BAD") {
			t.Errorf("%s without a selected mailbox: %q", cmd, st)
		}
	}
}

// A keyword new to the client is announced in FLAGS before the first FETCH
// response that carries it: in the STORE that sets it, and in another
// session's FETCH (RFC 3501 section 7.2.6; imaptest checks this).
func TestKeywordAnnouncedBeforeFetch(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "kw"))
	rc1, rc2 := e.raw(), e.raw()
	for _, rc := range []*rawConn{rc1, rc2} {
		rc.ok(`LOGIN app "s3cret pass"`)
		rc.ok("SELECT INBOX")
	}
	// rc1 stores right after SELECT (before go-imap's first Poll: the
	// session writes FLAGS itself); rc2 has run a command since (FLAGS goes
	// through go-imap's UpdateWriter).
	rc2.ok("NOOP")
	u := rc1.ok(`STORE 1 +FLAGS ($Fresh NIL)`)
	want := []string{
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Fresh NIL)`,
		`* 1 FETCH (FLAGS ($Fresh NIL \Recent))`,
	}
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("STORE of new keywords:\n got %q\nwant %q", u, want)
	}
	if u := rc1.ok(`STORE 1 +FLAGS ($Fresh)`); len(u) != 0 {
		t.Errorf("STORE of a known keyword, no change: %q", u)
	}
	// The second session has not heard of $Fresh: FLAGS first, whether it
	// comes with FETCH or with the update after NOOP.
	u = rc2.ok("FETCH 1 FLAGS")
	if len(u) < 2 || !strings.HasPrefix(u[0], "* FLAGS (") || !strings.Contains(u[0], "$Fresh") || !strings.Contains(u[1], "$Fresh") {
		t.Errorf("FETCH in the other session: %q", u)
	}
}

// A command completed in one session shows in the next command of
// another: no window in which NOOP misses a committed EXPUNGE or APPEND,
// even with the change hub late.
func TestOtherSessionSeesChangesAtOnce(t *testing.T) {
	lag := func() { time.Sleep(20 * time.Millisecond) }
	testHookHubLag.Store(&lag)
	defer testHookHubLag.Store(nil)
	e := newIMAPEnv(t)
	for i := range 3 {
		e.deliver(imapUser, "INBOX", testMessage(i, "now"))
	}
	rc1, rc2 := e.raw(), e.raw()
	for _, rc := range []*rawConn{rc1, rc2} {
		rc.ok(`LOGIN app "s3cret pass"`)
		rc.ok("SELECT INBOX")
	}
	// Bounded: each round is checked with no wait at all.
	for round := range 10 {
		rc1.ok(`APPEND INBOX {%d+}`+"\r\n%s", len(testMessage(100+round, "a")), testMessage(100+round, "a"))
		if u := rc2.ok("NOOP"); !contains(u, fmt.Sprintf("* %d EXISTS", 4+round)) {
			t.Fatalf("round %d: NOOP after another session's APPEND: %q", round, u)
		}
	}
	rc1.ok(`STORE 1,3 +FLAGS.SILENT (\Deleted)`)
	rc1.ok("CLOSE")
	if u := rc2.ok("NOOP"); !contains(u, "* 3 EXPUNGE") || !contains(u, "* 1 EXPUNGE") {
		t.Errorf("NOOP after another session's CLOSE: %q", u)
	}
}
