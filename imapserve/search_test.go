package imapserve

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

func (e *imapEnv) deliverAt(account string, raw []byte, date time.Time, flags ...string) uint32 {
	e.t.Helper()
	m, err := mailstore.ReadMessage(bytes.NewReader(raw), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.store.Deliver(context.Background(), m, []mailstore.Target{{Account: account, Flags: flags, Date: date}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d[0].UID
}

var searchMsgs = []string{
	// 1
	"From: Alice <alice@example.org>\r\nTo: team@example.org\r\nCc: boss@example.org\r\n" +
		"Subject: Quarterly report\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\nMessage-ID: <a@example.org>\r\n\r\n" +
		"hello world\r\n",
	// 2
	"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\nTo: app@app.localhost\r\n" +
		"Subject: =?iso-8859-1?q?R=E9sum=E9?=\r\nDate: Tue, 03 Jan 2006 10:00:00 +0100\r\nMessage-ID: <b@example.org>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Un caf=C3=A9 tr=\r\n=C3=A8s fort\r\n",
	// 3 (large, base64 text)
	"From: robot@example.com\r\nTo: app@app.localhost\r\nBcc: hidden@example.org\r\nSubject: big\r\n" +
		"Date: Tue, 05 May 2020 10:00:00 +0000\r\nMessage-ID: <c@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"bmVlZGxlIGluIGJhc2U2NA==\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("filler line\r\n", 600) + "--b--\r\n",
	// 4 (Latin-1 body, no Date)
	"From: latin@example.org\r\nTo: app@app.localhost\r\nSubject: latin\r\nMessage-ID: <d@example.org>\r\n" +
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe aus Wien\r\n",
	// 5 (the word is only in an attachment)
	"From: files@example.org\r\nTo: app@app.localhost\r\nSubject: attachment\r\nDate: Wed, 04 Jan 2006 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0\r\n--b--\r\n",
}

func TestSearch(t *testing.T) {
	e := newIMAPEnv(t)
	// UIDs 2..6 for messages 1..5.
	gone := e.deliver(imapUser, "INBOX", testMessage(0, "gone"))
	if _, err := e.store.Expunge(context.Background(), imapUser, "INBOX", []uint32{gone}); err != nil {
		t.Fatal(err)
	}
	cet := time.FixedZone("CET", 3600)
	flags := [][]string{{`\Seen`}, {`\Flagged`, "$Work"}, {`\Answered`, `\Deleted`}, nil, nil}
	for i, m := range searchMsgs {
		// 10 to 14 March 2021, 23:30 in CET (22:30 UTC): dates compare
		// in the message's own zone.
		e.deliverAt(imapUser, []byte(m), time.Date(2021, 3, 10+i, 23, 30, 0, 0, cet), flags[i]...)
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	for _, tc := range []struct {
		search string
		want   string // the SEARCH response
	}{
		{"ALL", "1 2 3 4 5"},
		{"SEEN", "1"},
		{"UNSEEN", "2 3 4 5"},
		{"FLAGGED", "2"},
		{"UNFLAGGED", "1 3 4 5"},
		{"ANSWERED DELETED", "3"},
		{"UNANSWERED UNDELETED", "1 2 4 5"},
		{"DRAFT", ""},
		{"UNDRAFT", "1 2 3 4 5"},
		{"KEYWORD $Work", "2"},
		{"KEYWORD $work", "2"},
		{"UNKEYWORD $Work", "1 3 4 5"},
		{"RECENT", "1 2 3 4 5"},
		{"NEW", "2 3 4 5"},
		{"OLD", ""},
		{"FROM alice", "1"},
		{"FROM ALICE@EXAMPLE", "1"},
		{"FROM jörg", "2"},
		{`FROM "JÖRG"`, "2"},
		{"SUBJECT résumé", "2"},
		{`SUBJECT "quarterly REPORT"`, "1"},
		{"TO team", "1"},
		{"CC boss", "1"},
		{"BCC hidden", "3"},
		{"HEADER Message-ID <c@", "3"},
		{`HEADER X-Missing ""`, ""},
		{`HEADER Date ""`, "1 2 3 5"},
		{"BODY hello", "1"},
		{`BODY "CAFÉ"`, "2"},
		{"BODY \"très fort\"", "2"},
		{`BODY "needle in base64"`, "3"},
		{`BODY "grüße"`, "4"},
		{"BODY secret", ""},
		{"BODY quarterly", ""},
		{"TEXT quarterly", "1"},
		{"TEXT hello", "1"},
		{"TEXT hello TEXT world", "1"},
		{"TEXT hello TEXT missing", ""},
		{"LARGER 5000", "3"},
		{"SMALLER 5000", "1 2 4 5"},
		{"ON 11-Mar-2021", "2"},
		{"SINCE 12-Mar-2021", "3 4 5"},
		{"BEFORE 12-Mar-2021", "1 2"},
		{"SENTBEFORE 1-Jan-2010", "1 2 4 5"}, // no Date: the epoch, as in Dovecot
		{"SENTSINCE 1-Jan-2020", "3"},
		{"SENTON 3-Jan-2006", "2"},
		{"NOT SEEN", "2 3 4 5"},
		{"OR SEEN FLAGGED", "1 2"},
		{"OR (FROM alice) (SUBJECT résumé)", "1 2"},
		{"NOT (OR SEEN FLAGGED)", "3 4 5"},
		{"2:4", "2 3 4"},
		{"5:*", "5"},
		{"*", "5"},
		{"1,3 UNSEEN", "3"},
		{"UID 3,5", "2 4"},
		{"UID 4:*", "3 4 5"},
		{"UID 1", ""},
		{"CHARSET UTF-8 SUBJECT résumé", "2"},
		{"CHARSET US-ASCII FROM alice", "1"},
		{"charset utf-8 BODY {5+}\r\ncafé", "2"},
	} {
		u, st := rc.cmd("SEARCH %s", tc.search)
		want := strings.TrimSpace("* SEARCH " + tc.want)
		if !strings.HasPrefix(st, "OK") || len(u) != 1 || u[0] != want {
			t.Errorf("SEARCH %s: %q %q, want %q", tc.search, u, st, want)
		}
	}
	// UID SEARCH answers UIDs.
	if u := rc.ok("UID SEARCH UNSEEN"); u[0] != "* SEARCH 3 4 5 6" {
		t.Errorf("UID SEARCH UNSEEN: %q", u)
	}
	if u := rc.ok("UID SEARCH 1:2"); u[0] != "* SEARCH 2 3" {
		t.Errorf("UID SEARCH 1:2: %q", u)
	}
	// Charsets we do not have.
	if _, st := rc.cmd("SEARCH CHARSET ISO-8859-1 FROM x"); !strings.HasPrefix(st, "NO [BADCHARSET]") {
		t.Errorf("unknown charset: %q", st)
	}
	// (go-imap answers an unknown key with NO [SERVERBUG], not BAD.)
	if _, st := rc.cmd("SEARCH FROB"); strings.HasPrefix(st, "OK") {
		t.Errorf("unknown key: %q", st)
	}
	// ESEARCH and SEARCHRES.
	for _, tc := range []struct{ cmd, want string }{
		{"SEARCH RETURN (MIN MAX COUNT) UNSEEN", `MIN 2 MAX 5 COUNT 4`},
		{"SEARCH RETURN (ALL) UNSEEN", `ALL 2:5`},
		{"SEARCH RETURN () FLAGGED", `ALL 2`},
		{"UID SEARCH RETURN (COUNT ALL) SEEN", `UID ALL 2 COUNT 1`},
		{"SEARCH RETURN (COUNT) DRAFT", `COUNT 0`},
	} {
		u := rc.ok("%s", tc.cmd)
		if len(u) != 1 || !strings.HasPrefix(u[0], "* ESEARCH (TAG ") || !strings.HasSuffix(u[0], ") "+tc.want) {
			t.Errorf("%s: %q, want ...%s", tc.cmd, u, tc.want)
		}
	}
	rc.ok("SEARCH RETURN (SAVE) OR FLAGGED ANSWERED")
	if u := rc.ok("FETCH $ UID"); strings.Join(u, ",") != "* 2 FETCH (UID 3),* 3 FETCH (UID 4)" {
		t.Errorf("FETCH $: %q", u)
	}
	if u := rc.ok("SEARCH UID $ SEEN"); u[0] != "* SEARCH" {
		t.Errorf("SEARCH UID $ SEEN: %q", u)
	}
}

// FROM/TO/CC/BCC match the parsed addresses too, and groups are searchable
// by name and show in ENVELOPE with their start and end markers (imaptest's
// search-addresses and fetch-envelope).
func TestSearchAddressesAndGroups(t *testing.T) {
	e := newIMAPEnv(t)
	for _, m := range []string{
		"From: <user-from (comment)@ (comment) domain.org>\r\nTo: app@app.localhost\r\nSubject: one\r\n\r\nx\r\n",
		"From: a@x.org\r\nTo: groupname: g1@d.org, G Two <g2@d.org>;, after@d.org\r\nSubject: two\r\n\r\nx\r\n",
		"From: a@x.org\r\nTo: groupname:;\r\nCc: c@d.org\r\nSubject: three\r\n\r\nx\r\n",
	} {
		e.deliver(imapUser, "INBOX", []byte(m))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{"SEARCH FROM user-from@domain.org", "* SEARCH 1"},
		{"SEARCH FROM comment", "* SEARCH 1"}, // the raw field still matches
		{"SEARCH TO groupname", "* SEARCH 2 3"},
		{"SEARCH TO g2@d.org", "* SEARCH 2"},
		{"SEARCH TO after@d.org", "* SEARCH 2"},
		{"SEARCH CC groupname", "* SEARCH"},
	} {
		if u := rc.ok("%s", tc.cmd); strings.Join(u, "\n") != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, u, tc.want)
		}
	}
	u := rc.ok("FETCH 2:3 ENVELOPE")
	for i, want := range []string{
		`((NIL NIL "groupname" NIL) (NIL NIL "g1" "d.org") ("G Two" NIL "g2" "d.org") (NIL NIL NIL NIL) (NIL NIL "after" "d.org"))`,
		`((NIL NIL "groupname" NIL) (NIL NIL NIL NIL)) ((NIL NIL "c" "d.org"))`,
	} {
		if len(u) <= i || !strings.Contains(u[i], want) {
			t.Errorf("ENVELOPE of message %d: %q, want it to hold %s", i+2, u, want)
		}
	}
}
