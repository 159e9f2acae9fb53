package imapserve

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/maildock/maildock/mailstore/structure"
)

// partPaths lists the IMAP part numbers of a message's structure.
func partPaths(root *structure.Part) [][]int {
	var out [][]int
	var walk func(p *structure.Part, path []int)
	walk = func(p *structure.Part, path []int) {
		if len(path) > 0 {
			out = append(out, path)
		}
		ctx := p
		if p.Message != nil {
			ctx = p.Message
		}
		if ctx.Type == "multipart" {
			for i, c := range ctx.Children {
				walk(c, append(clonePath(path), i+1))
			}
		} else if p.Message != nil {
			walk(p.Message, append(clonePath(path), 1))
		}
	}
	if root.Type == "multipart" {
		walk(root, nil)
	} else {
		out = append(out, []int{1})
		if root.Message != nil {
			walk(root.Message, []int{1, 1})
		}
	}
	return out
}

func clonePath(p []int) []int { return append([]int(nil), p...) }

func pathString(p []int) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ".")
}

// Every corpus message fetched in every form: no crash, the connection
// goes on, and the bytes are those stored.
func TestCorpusFetchedInEveryForm(t *testing.T) {
	e := newIMAPEnv(t)
	msgs := corpus(t)
	names := make([]string, 0, len(msgs))
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e.deliver(imapUser, "INBOX", msgs[n])
	}
	rc := e.raw()
	rc.ok(`LOGIN app "s3cret pass"`)
	rc.ok("SELECT INBOX")
	for i, name := range names {
		seq := i + 1
		raw := msgs[name]
		t.Run(name, func(t *testing.T) {
			st, err := structure.Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			u := rc.ok("FETCH %d (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE BODY.PEEK[])", seq)
			if got := literal(t, u[0], "BODY[]"); !bytes.Equal(got, raw) {
				t.Errorf("BODY[]: %d bytes differ from the %d stored", len(got), len(raw))
			}
			if !strings.Contains(u[0], fmt.Sprintf("RFC822.SIZE %d ", len(raw))) {
				t.Errorf("RFC822.SIZE is not %d", len(raw))
			}
			u = rc.ok("FETCH %d (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (From Subject Content-Type)] BINARY.PEEK[] BINARY.SIZE[])", seq)
			if got := literal(t, u[0], "BODY[HEADER]"); !bytes.Equal(got, raw[:st.Root.BodyStart]) {
				t.Errorf("BODY[HEADER] differs")
			}
			if got := literal(t, u[0], "BODY[TEXT]"); !bytes.Equal(got, raw[st.Root.BodyStart:]) {
				t.Errorf("BODY[TEXT] differs")
			}
			for _, path := range partPaths(st.Root) {
				p := st.Root.Section(path)
				ps := pathString(path)
				u := rc.ok("FETCH %d (BODY.PEEK[%s] BODY.PEEK[%s.MIME])", seq, ps, ps)
				if got := literal(t, u[0], "BODY["+ps+"]"); !bytes.Equal(got, raw[p.BodyStart:p.End]) {
					t.Errorf("BODY[%s] differs", ps)
				}
				if got := literal(t, u[0], "BODY["+ps+".MIME]"); !bytes.Equal(got, raw[p.HeaderStart:p.BodyStart]) {
					t.Errorf("BODY[%s.MIME] differs", ps)
				}
				if p.Message != nil {
					u := rc.ok("FETCH %d (BODY.PEEK[%s.HEADER] BODY.PEEK[%s.TEXT])", seq, ps, ps)
					if got := literal(t, u[0], "BODY["+ps+".HEADER]"); !bytes.Equal(got, raw[p.Message.HeaderStart:p.Message.BodyStart]) {
						t.Errorf("BODY[%s.HEADER] differs", ps)
					}
				}
				// BINARY decodes, or says it cannot; either way the
				// connection goes on.
				if _, st := rc.cmd("FETCH %d (BINARY.PEEK[%s] BINARY.SIZE[%s])", seq, ps, ps); !strings.HasPrefix(st, "OK") && !strings.HasPrefix(st, "NO [UNKNOWN-CTE]") {
					t.Errorf("BINARY[%s]: %s", ps, st)
				}
			}
			rc.ok("FETCH %d (BODY.PEEK[1]<0.7> BODY.PEEK[]<3.1000>)", seq)
		})
	}
	// Searching every message decodes every part.
	for _, key := range []string{"TEXT zzzz-nothing", `BODY "€"`, "SUBJECT résumé", "FROM example", "SENTBEFORE 1-Jan-2000", "HEADER Received outlook"} {
		rc.ok("SEARCH CHARSET UTF-8 %s", key)
	}
	rc.ok("FETCH 1:* (ENVELOPE BODYSTRUCTURE RFC822.SIZE)")
	if u := rc.ok("FETCH 1:* FLAGS"); len(u) != len(names) || strings.Contains(strings.Join(u, ""), `\Seen`) {
		t.Errorf("flags after PEEKs: %q", u)
	}
	// And with go-imap's client, which parses all of it.
	c, _ := e.selectBox("INBOX")
	if _, err := c.Fetch(seqAll(), allItems()).Collect(); err != nil {
		t.Errorf("go-imap client: %v", err)
	}
}

func seqAll() imap.SeqSet { return imap.SeqSet{{Start: 1, Stop: 0}} }

func allItems() *imap.FetchOptions {
	return &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Peek: true}, {Peek: true, Specifier: imap.PartSpecifierHeader}},
	}
}
