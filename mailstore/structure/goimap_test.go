package structure

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// TestAgainstGoIMAP compares, on well-formed corpus messages, our structure
// with what go-imap's own extractor (which re-parses the message on every
// FETCH) makes of it: types, parameters, sizes, lines, dispositions, and the
// bytes of every section.
//
// Two differences are by design. go-imap counts only LF-terminated lines,
// while RFC 3501 (and Dovecot) count an unterminated last line too, which is
// every body part's last line, as the line break before a delimiter is the
// delimiter's. And where a header has no Content-Type or no
// Content-Transfer-Encoding, go-imap leaves the parameters or the encoding
// empty, while we give the defaults, charset=us-ascii and 7BIT.
func TestAgainstGoIMAP(t *testing.T) {
	for _, name := range []string{
		"exchange-forwarded.eml",
		"nested-rfc822.eml",
		"binary-part.eml",
		"lf-only.eml",
		"dot-lines.eml",
		"smtputf8-headers.eml",
		"long-lines.eml",
	} {
		t.Run(name, func(t *testing.T) {
			raw := readCorpus(t, name)
			m := mustParse(t, raw)
			theirs := imapserver.ExtractBodyStructure(bytes.NewReader(raw))
			compareBS(t, raw, "root", m.Root, theirs)

			// BODY[section] for every section.
			var sections func(p *Part, path, base []int)
			sections = func(p *Part, path, base []int) {
				if path != nil {
					want := imapserver.ExtractBodySection(bytes.NewReader(raw), &imap.FetchItemBodySection{Part: path})
					if got := raw[p.BodyStart:p.End]; !bytes.Equal(got, want) {
						t.Errorf("BODY[%s]: %d bytes, go-imap %d: %q vs %q", join(path), len(got), len(want), trunc(got), trunc(want))
					}
				}
				if p.Message != nil {
					var sub []int
					if p.Message.Type != "multipart" {
						sub = append(append([]int{}, path...), 1)
					}
					sections(p.Message, sub, path)
				}
				for i, c := range p.Children {
					sub := append(append([]int{}, base...), i+1)
					sections(c, sub, sub)
				}
			}
			var rootPath []int
			if m.Root.Type != "multipart" {
				rootPath = []int{1}
			}
			sections(m.Root, rootPath, []int{})
		})
	}
}

func compareBS(t *testing.T, raw []byte, name string, p *Part, bs imap.BodyStructure) {
	t.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if p.Type != "multipart" || p.Subtype != bs.Subtype {
			t.Errorf("%s: %s/%s, go-imap multipart/%s", name, p.Type, p.Subtype, bs.Subtype)
			return
		}
		ext := bs.Extended
		compareMap(t, name+" params", p.Params, ext.Params)
		compareDisp(t, name, p, ext.Disposition)
		compareStrings(t, name+" language", p.Language, ext.Language)
		if p.Location != ext.Location {
			t.Errorf("%s: location %q, go-imap %q", name, p.Location, ext.Location)
		}
		if len(p.Children) != len(bs.Children) {
			t.Errorf("%s: %d children, go-imap %d", name, len(p.Children), len(bs.Children))
			return
		}
		for i := range p.Children {
			compareBS(t, raw, fmt.Sprintf("%s.%d", name, i+1), p.Children[i], bs.Children[i])
		}
	case *imap.BodyStructureSinglePart:
		if p.Type != bs.Type || p.Subtype != bs.Subtype {
			t.Errorf("%s: %s/%s, go-imap %s/%s", name, p.Type, p.Subtype, bs.Type, bs.Subtype)
			return
		}
		if !(len(bs.Params) == 0 && len(p.Params) == 1 && p.Params["charset"] == "us-ascii") {
			compareMap(t, name+" params", p.Params, bs.Params)
		}
		if p.ID != bs.ID || p.Description != bs.Description {
			t.Errorf("%s: id %q description %q, go-imap %q %q", name, p.ID, p.Description, bs.ID, bs.Description)
		}
		if p.Encoding != bs.Encoding && !(bs.Encoding == "" && p.Encoding == "7BIT") {
			t.Errorf("%s: encoding %q, go-imap %q", name, p.Encoding, bs.Encoding)
		}
		body := raw[p.BodyStart:p.End]
		if size := p.End - p.BodyStart; size != int64(bs.Size) {
			t.Errorf("%s: size %d, go-imap %d", name, size, bs.Size)
		}
		// go-imap counts LFs only; see above.
		unterminated := int64(0)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			unterminated = 1
		}
		if bs.Text != nil && p.Lines != bs.Text.NumLines+unterminated {
			t.Errorf("%s: %d lines, go-imap %d", name, p.Lines, bs.Text.NumLines)
		}
		compareDisp(t, name, p, bs.Extended.Disposition)
		compareStrings(t, name+" language", p.Language, bs.Extended.Language)
		if msg := bs.MessageRFC822; msg != nil {
			if p.Message == nil {
				t.Errorf("%s: no embedded message", name)
				return
			}
			if p.Lines != msg.NumLines+unterminated {
				t.Errorf("%s: %d lines, go-imap %d", name, p.Lines, msg.NumLines)
			}
			compareAddrs(t, name+" From", p.Envelope.From, msg.Envelope.From)
			compareAddrs(t, name+" To", p.Envelope.To, msg.Envelope.To)
			compareBS(t, raw, name+".msg", p.Message, msg.BodyStructure)
		} else if p.Message != nil {
			t.Errorf("%s: go-imap sees no embedded message", name)
		}
	}
}

func compareMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, go-imap %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, go-imap %v", what, got, want)
			return
		}
	}
}

func compareStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("%s: %q, go-imap %q", what, got, want)
	}
}

func compareDisp(t *testing.T, name string, p *Part, d *imap.BodyStructureDisposition) {
	t.Helper()
	if d == nil {
		if p.Disposition != "" {
			t.Errorf("%s: disposition %q, go-imap none", name, p.Disposition)
		}
		return
	}
	if p.Disposition != d.Value {
		t.Errorf("%s: disposition %q, go-imap %q", name, p.Disposition, d.Value)
	}
	compareMap(t, name+" disposition params", p.DispositionParams, d.Params)
}

// compareAddrs compares mailboxes and hosts, and names without encoded-words
// (go-imap decodes those).
func compareAddrs(t *testing.T, what string, got []Address, want []imap.Address) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, go-imap %v", what, got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Mailbox != w.Mailbox || g.Host != w.Host || (!strings.Contains(g.Name, "=?") && g.Name != w.Name) {
			t.Errorf("%s: %+v, go-imap %+v", what, g, w)
		}
	}
}

func join(path []int) string {
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ".")
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:20]) + "..." + string(b[len(b)-20:])
	}
	return string(b)
}
