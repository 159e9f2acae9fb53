package imapserve

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// A message with every kind of part: quoted-printable text, a base64
// attachment, an embedded message.
var multipartMsg = []byte("From: \"Alice Example\" <alice@example.org>\r\n" +
	"To: Bob <bob@example.com>, carol@example.net\r\n" +
	"Cc: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from the report\r\n" +
	"Date: Tue, 03 Jan 2006 10:00:00 +0100\r\n" +
	"Message-ID: <multi@example.org>\r\n" +
	"In-Reply-To: <parent@example.org>\r\n" +
	"X-Folded: first\r\n" +
	"  second\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Caf=C3=A9 au lait=\r\n" +
	" and more\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
	"Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAwQFBgcICQ==\r\n" +
	"--XX\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: inner@example.org\r\n" +
	"Subject: inner\r\n" +
	"\r\n" +
	"inner body\r\n" +
	"--XX--\r\n")

func between(s, from, to string) string {
	i := strings.Index(s, from)
	j := strings.Index(s[i:], to)
	return s[i : i+j]
}

// FETCH of every section kind, byte for byte, over the wire.
func TestFetchSections(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", multipartMsg)
	e.deliver(imapUser, "INBOX", testMessage(2, "plain"))
	raw := string(multipartMsg)
	hdr := raw[:strings.Index(raw, "\r\n\r\n")+4]
	plain := string(testMessage(2, "plain"))
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	for _, tc := range []struct {
		fetch string // the item asked
		item  string // the item in the response
		want  string
	}{
		{"BODY.PEEK[]", "BODY[]", raw},
		{"BODY.PEEK[HEADER]", "BODY[HEADER]", hdr},
		{"BODY.PEEK[TEXT]", "BODY[TEXT]", raw[len(hdr):]},
		{"BODY.PEEK[1]", "BODY[1]", "Caf=C3=A9 au lait=\r\n and more"},
		{"BODY.PEEK[1.MIME]", "BODY[1.MIME]", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
		{"BODY.PEEK[2]", "BODY[2]", "AAECAwQFBgcICQ=="},
		{"BODY.PEEK[3]", "BODY[3]", "From: inner@example.org\r\nSubject: inner\r\n\r\ninner body"},
		{"BODY.PEEK[3.HEADER]", "BODY[3.HEADER]", "From: inner@example.org\r\nSubject: inner\r\n\r\n"},
		{"BODY.PEEK[3.TEXT]", "BODY[3.TEXT]", "inner body"},
		{"BODY.PEEK[3.1]", "BODY[3.1]", "inner body"},
		{"BODY.PEEK[3.HEADER.FIELDS (SUBJECT)]", `BODY[3.HEADER.FIELDS ("SUBJECT")]`, "Subject: inner\r\n\r\n"},
		{"BODY.PEEK[HEADER.FIELDS (subject FROM x-folded)]", `BODY[HEADER.FIELDS ("subject" "FROM" "x-folded")]`,
			"From: \"Alice Example\" <alice@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= from the report\r\nX-Folded: first\r\n  second\r\n\r\n"},
		{"BODY.PEEK[HEADER.FIELDS (X-Missing)]", `BODY[HEADER.FIELDS ("X-Missing")]`, "\r\n"},
		{"BODY.PEEK[HEADER.FIELDS.NOT (From To Cc Subject Date Message-ID In-Reply-To X-Folded)]", `BODY[HEADER.FIELDS.NOT ("From" "To" "Cc" "Subject" "Date" "Message-ID" "In-Reply-To" "X-Folded")]`,
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"},
		{"BODY.PEEK[]<0.10>", "BODY[]<0>", raw[:10]},
		{"BODY.PEEK[]<100.50>", "BODY[]<100>", raw[100:150]},
		{"BODY.PEEK[]<5.100000>", "BODY[]<5>", raw[5:]},
		{"BODY.PEEK[]<100000.10>", "BODY[]<100000>", ""},
		{"BODY.PEEK[1]<4.6>", "BODY[1]<4>", "C3=A9 "},
		{"BODY.PEEK[4]", "BODY[4]", ""},
		{"BODY.PEEK[1.2.3]", "BODY[1.2.3]", ""},
		{"BINARY.PEEK[1]", "BINARY[1]", "Café au lait and more"},
		{"BINARY.PEEK[2]", "BINARY[2]", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"},
		{"BINARY.PEEK[3]", "BINARY[3]", "From: inner@example.org\r\nSubject: inner\r\n\r\ninner body"},
		{"BINARY.PEEK[]", "BINARY[]", raw},
		{"BINARY.PEEK[2]<3.4>", "BINARY[2]", "\x03\x04\x05\x06"},
		{"RFC822.HEADER", "RFC822.HEADER", hdr},
	} {
		t.Run(tc.fetch, func(t *testing.T) {
			u := rc.ok("FETCH 1 (%s)", tc.fetch)
			if len(u) != 1 {
				t.Fatalf("responses %q", u)
			}
			if got := string(literal(t, u[0], tc.item)); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if strings.Contains(u[0], `\Seen`) {
				t.Errorf("PEEK set \\Seen: %q", u[0])
			}
		})
	}
	// Single-part message: part 1 is the body, 1.MIME the message header.
	u := rc.ok("FETCH 2 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[TEXT] RFC822.SIZE)")
	body := plain[strings.Index(plain, "\r\n\r\n")+4:]
	if got := string(literal(t, u[0], "BODY[1]")); got != body {
		t.Errorf("BODY[1] of a single part: %q, want %q", got, body)
	}
	if got := string(literal(t, u[0], "BODY[TEXT]")); got != body {
		t.Errorf("BODY[TEXT]: %q, want %q", got, body)
	}
	if !strings.Contains(u[0], fmt.Sprintf("RFC822.SIZE %d", len(plain))) {
		t.Errorf("RFC822.SIZE: %q, want %d", u[0], len(plain))
	}
	// An unknown transfer encoding cannot be decoded.
	e.deliver(imapUser, "INBOX", []byte("Subject: x\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"))
	rc.updatesUntil(nil, "* 3 EXISTS")
	if _, st := rc.cmd("FETCH 3 BINARY.PEEK[1]"); !strings.HasPrefix(st, "NO [UNKNOWN-CTE]") {
		t.Errorf("BINARY of x-uuencode: %q", st)
	}
	if _, st := rc.cmd("FETCH 3 BINARY.SIZE[1]"); !strings.HasPrefix(st, "NO [UNKNOWN-CTE]") {
		t.Errorf("BINARY.SIZE of x-uuencode: %q", st)
	}
	u = rc.ok("FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])")
	if !strings.Contains(u[0], "BINARY.SIZE[1] 22 BINARY.SIZE[2] 10 BINARY.SIZE[3] 53") {
		t.Errorf("BINARY.SIZE: %q", u[0])
	}
}

// RFC822, RFC822.TEXT and BODY[] set \Seen and report it; PEEK does not;
// EXAMINE never does.
func TestFetchSetsSeen(t *testing.T) {
	e := newIMAPEnv(t)
	for i := range 6 {
		e.deliver(imapUser, "INBOX", testMessage(i, "seen"))
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("EXAMINE INBOX")
	u := rc.ok("FETCH 1 (BODY[] RFC822 RFC822.TEXT)")
	if strings.Contains(u[0], `\Seen`) {
		t.Errorf("EXAMINE: FETCH BODY[] set \\Seen: %q", u[0])
	}
	rc.ok("SELECT INBOX")
	for _, tc := range []struct {
		seq   int
		fetch string
		seen  bool
	}{
		{1, "BODY.PEEK[]", false},
		{1, "RFC822.HEADER", false},
		{1, "BINARY.PEEK[1]", false},
		{1, "RFC822.SIZE", false},
		{2, "BODY[]", true},
		{3, "RFC822", true},
		{4, "RFC822.TEXT", true},
		{5, "BODY[HEADER.FIELDS (Subject)]", true},
		{6, "BINARY[1]", true},
	} {
		u := rc.ok("FETCH %d (%s)", tc.seq, tc.fetch)
		if got := strings.Contains(u[0], `FLAGS (\Seen`); got != tc.seen {
			t.Errorf("FETCH %s: response %q; \\Seen reported: %v, want %v", tc.fetch, u[0], got, tc.seen)
		}
		u = rc.ok("FETCH %d FLAGS", tc.seq)
		if got := strings.Contains(u[0], `\Seen`); got != tc.seen {
			t.Errorf("after FETCH %s: flags %q", tc.fetch, u[0])
		}
	}
	// Legacy clients parse "(RFC822 {n}" first: flags come after the body.
	u = rc.ok("FETCH 1 RFC822")
	if !strings.HasPrefix(u[0], "* 1 FETCH (RFC822 {") || !strings.HasSuffix(u[0], ` FLAGS (\Seen \Recent))`) {
		t.Errorf("FETCH RFC822 layout: %q", u[0])
	}
}

func TestFetchEnvelopeAndStructure(t *testing.T) {
	e := newIMAPEnv(t)
	uid := e.deliver(imapUser, "INBOX", multipartMsg, `\Flagged`, "$Label1")
	c, _ := e.selectBox("INBOX")
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.UID != imap.UID(uid) || m.RFC822Size != int64(len(multipartMsg)) || m.InternalDate.IsZero() {
		t.Errorf("UID %d RFC822.SIZE %d INTERNALDATE %v", m.UID, m.RFC822Size, m.InternalDate)
	}
	if fmt.Sprint(m.Flags) != `[\Flagged $Label1 \Recent]` {
		t.Errorf("flags %v", m.Flags)
	}
	env := m.Envelope
	if env.Subject != "Grüße from the report" || env.MessageID != "multi@example.org" ||
		len(env.InReplyTo) != 1 || env.InReplyTo[0] != "parent@example.org" {
		t.Errorf("envelope %+v", env)
	}
	if !env.Date.Equal(time.Date(2006, 1, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("date %v", env.Date)
	}
	if len(env.From) != 1 || env.From[0].Name != "Alice Example" || env.From[0].Addr() != "alice@example.org" ||
		len(env.To) != 2 || env.To[1].Addr() != "carol@example.net" ||
		len(env.Cc) != 1 || env.Cc[0].Name != "Jörg" || len(env.Sender) != 1 || len(env.ReplyTo) != 1 {
		t.Errorf("addresses %+v", env)
	}
	bs, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || bs.Subtype != "mixed" || len(bs.Children) != 3 || bs.Extended.Params["boundary"] != "XX" {
		t.Fatalf("structure %#v", m.BodyStructure)
	}
	text := bs.Children[0].(*imap.BodyStructureSinglePart)
	if text.MediaType() != "text/plain" || text.Params["charset"] != "utf-8" || text.Encoding != "quoted-printable" ||
		text.Size != uint32(len("Caf=C3=A9 au lait=\r\n and more")) || text.Text == nil || text.Text.NumLines != 2 {
		t.Errorf("part 1: %+v", text)
	}
	att := bs.Children[1].(*imap.BodyStructureSinglePart)
	if att.Filename() != "data.bin" || att.Disposition().Value != "attachment" || att.Encoding != "base64" {
		t.Errorf("part 2: %+v", att)
	}
	msg := bs.Children[2].(*imap.BodyStructureSinglePart)
	if msg.MediaType() != "message/rfc822" || msg.MessageRFC822 == nil || msg.MessageRFC822.Envelope.Subject != "inner" ||
		msg.MessageRFC822.BodyStructure.MediaType() != "text/plain" {
		t.Errorf("part 3: %+v", msg)
	}
	// BODY (non-extended) and the FULL macro parse too.
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("EXAMINE INBOX")
	u := rc.ok("FETCH 1 FULL")
	if !strings.Contains(u[0], `BODY (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 29 2)`) {
		t.Errorf("FETCH FULL: %q", u[0])
	}
	for _, macro := range []string{"ALL", "FAST"} {
		rc.ok("FETCH 1:* %s", macro)
	}
}

// Sequence sets as Dovecot takes them: beyond the last message is BAD,
// "*" is the last, UID ranges past the end are empty or the last.
func TestFetchSets(t *testing.T) {
	e := newIMAPEnv(t)
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	if _, st := rc.cmd("FETCH 1:* FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("FETCH in an empty mailbox: %q", st)
	}
	if u := rc.ok("UID FETCH 1:* FLAGS"); len(u) != 0 {
		t.Errorf("UID FETCH in an empty mailbox: %q", u)
	}
	for i := range 5 {
		e.deliver(imapUser, "INBOX", testMessage(i, "sets"))
	}
	rc.updatesUntil(nil, "* 5 EXISTS")
	for _, tc := range []struct {
		cmd  string
		want string // the sequence numbers of the responses
		st   string
	}{
		{"FETCH 1:* UID", "1 2 3 4 5", "OK"},
		{"FETCH * UID", "5", "OK"},
		{"FETCH 5:3,1 UID", "1 3 4 5", "OK"},
		{"FETCH 2,2,2 UID", "2", "OK"},
		{"FETCH 6 UID", "", "BAD"},
		{"FETCH 4:9 UID", "", "BAD"},
		{"UID FETCH 3:* FLAGS", "3 4 5", "OK"},
		{"UID FETCH 9:* FLAGS", "5", "OK"},
		{"UID FETCH 6:8 FLAGS", "", "OK"},
		{"UID FETCH * FLAGS", "5", "OK"},
	} {
		u, st := rc.cmd("%s", tc.cmd)
		if !strings.HasPrefix(st, tc.st) {
			t.Errorf("%s: %q, want %s", tc.cmd, st, tc.st)
			continue
		}
		var seqs []string
		for _, l := range u {
			var n int
			fmt.Sscanf(l, "* %d FETCH", &n)
			seqs = append(seqs, fmt.Sprint(n))
			if strings.HasPrefix(tc.cmd, "UID") && !strings.Contains(l, "UID ") {
				t.Errorf("%s: response without UID: %q", tc.cmd, l)
			}
		}
		if got := strings.Join(seqs, " "); got != tc.want {
			t.Errorf("%s: messages %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// A body read that fails half way cannot be told to the client inside the
// literal: the connection is closed, and the server lives on.
func TestFetchOfExpungedMessage(t *testing.T) {
	e := newIMAPEnv(t)
	e.deliver(imapUser, "INBOX", testMessage(1, "a"))
	e.deliver(imapUser, "INBOX", testMessage(2, "b"))
	a := e.raw()
	a.ok(`LOGIN app "s3cret pass"`)
	a.ok("SELECT INBOX")
	b := e.raw()
	b.ok(`LOGIN app "s3cret pass"`)
	b.ok("SELECT INBOX")
	b.ok(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	b.ok("EXPUNGE")
	// a has not been told: FETCH 1:2 (no EXPUNGE allowed during FETCH)
	// sends what is left and says so.
	u, st := a.cmd("FETCH 1:2 BODY.PEEK[]")
	if st != "OK [EXPUNGEISSUED] Some messages were already expunged." || len(u) != 1 || !strings.HasPrefix(u[0], "* 2 FETCH") {
		t.Errorf("FETCH with an expunged message: %q %q", u, st)
	}
	u = a.ok("NOOP")
	if strings.Join(u, ",") != "* 1 EXPUNGE,* 1 RECENT" {
		t.Errorf("NOOP after: %q", u)
	}
	if bytes.Contains([]byte(e.logs.String()), []byte("level=ERROR")) {
		t.Errorf("errors logged:\n%s", e.logs.String())
	}
}
