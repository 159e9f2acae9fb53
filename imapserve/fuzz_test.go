package imapserve

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzSession sends what the fuzzer makes, as a logged-in client with
// INBOX selected, to a real server over a real store: whatever it is, the
// server must not panic or log an error, and must go on serving.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"A1 FETCH 1:* (BODY[] BODYSTRUCTURE ENVELOPE)\r\n",
		"A1 UID FETCH 1:* (BINARY.PEEK[1]<0.10> BODY.PEEK[1.MIME] BODY[HEADER.FIELDS (From)])\r\n",
		"A1 SEARCH CHARSET UTF-8 OR FROM a (TEXT b) NOT BODY c\r\nA2 SEARCH RETURN (SAVE) ALL\r\nA3 FETCH $ FLAGS\r\n",
		"A1 STORE 1 +FLAGS (x \\Deleted)\r\nA2 EXPUNGE\r\nA3 CLOSE\r\n",
		"A1 APPEND INBOX (\\Seen) {5+}\r\nhello\r\nA2 NOOP\r\n",
		"A1 CREATE a/b\r\nA2 RENAME a c\r\nA3 LIST \"\" *\r\nA4 DELETE c/b\r\n",
		"A1 IDLE\r\nDONE\r\n",
		"A1 COPY 1:* INBOX\r\nA2 MOVE 1 INBOX\r\nA3 STATUS INBOX (MESSAGES RECENT SIZE DELETED)\r\n",
		"A1 FETCH 1 BODY[1.2.3.4.5.6.7.8.9]<4294967295.4294967295>\r\n",
	} {
		f.Add([]byte(seed))
	}
	e := newIMAPEnv(f)
	for name, raw := range corpus(f) {
		if !strings.HasPrefix(name, "huge") {
			e.deliver(imapUser, "INBOX", raw)
		}
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		c, err := net.Dial("tcp", e.plain)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "L LOGIN app \"s3cret pass\"\r\nS SELECT INBOX\r\n")
		c.Write(input)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // until the server closes: it has read all
		if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "panic") {
			t.Fatalf("after %q:\n%s", input, logs)
		}
		// Still serving.
		c2, err := net.Dial("tcp", e.plain)
		if err != nil {
			t.Fatal(err)
		}
		rc := newRaw(t, c2)
		rc.ok(`LOGIN app "s3cret pass"`)
		rc.ok("SELECT INBOX")
	})
}
