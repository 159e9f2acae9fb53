package structure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readCorpus reads one corpus file.
func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mustParse parses raw and checks the invariants every structure must hold.
func mustParse(t testing.TB, raw []byte) *Message {
	t.Helper()
	m, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkInvariants(t, raw, m)
	return m
}

// checkInvariants checks offsets, nesting, defaults, line counts and section
// numbering of m against raw.
func checkInvariants(t testing.TB, raw []byte, m *Message) {
	t.Helper()
	if m.Root == nil {
		t.Fatal("no root part")
	}
	if m.Root.HeaderStart != 0 || m.Root.End != int64(len(raw)) {
		t.Errorf("root spans %d..%d, want 0..%d", m.Root.HeaderStart, m.Root.End, len(raw))
	}
	// path is p's section number (nil if it has none: a multipart that is
	// a message's top entity); base is the prefix of its parts' numbers.
	var walk func(p *Part, name string, path, base []int, lo, hi int64)
	walk = func(p *Part, name string, path, base []int, lo, hi int64) {
		if p == nil {
			t.Errorf("part %s: nil", name)
			return
		}
		if !(lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= hi) {
			t.Errorf("part %s: offsets %d, %d, %d not ordered within %d..%d", name, p.HeaderStart, p.BodyStart, p.End, lo, hi)
			return
		}
		if p.Type == "" || p.Subtype == "" || p.Type != strings.ToLower(p.Type) || p.Subtype != strings.ToLower(p.Subtype) {
			t.Errorf("part %s: type %q/%q", name, p.Type, p.Subtype)
		}
		if p.Encoding == "" {
			t.Errorf("part %s: no encoding", name)
		}
		if path != nil {
			if got := m.Root.Section(path); got != p {
				t.Errorf("part %s: Section(%v) is another part", name, path)
			}
		}
		body := raw[p.BodyStart:p.End]
		isMsg := p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
		if p.Type == "text" || isMsg {
			if want := countLines(body); p.Lines != want {
				t.Errorf("part %s: %d lines, want %d", name, p.Lines, want)
			}
		} else if p.Lines != 0 {
			t.Errorf("part %s (%s/%s): %d lines", name, p.Type, p.Subtype, p.Lines)
		}
		if isMsg != (p.Message != nil) || isMsg != (p.Envelope != nil) {
			t.Errorf("part %s (%s/%s): embedded message %v, envelope %v", name, p.Type, p.Subtype, p.Message != nil, p.Envelope != nil)
		}
		if p.Type != "multipart" && len(p.Children) > 0 {
			t.Errorf("part %s (%s/%s): has children", name, p.Type, p.Subtype)
		}
		if p.Message != nil {
			if p.Message.HeaderStart != p.BodyStart || p.Message.End != p.End {
				t.Errorf("part %s: embedded message spans %d..%d, body %d..%d", name, p.Message.HeaderStart, p.Message.End, p.BodyStart, p.End)
			}
			var sub []int
			if p.Message.Type != "multipart" {
				sub = append(append([]int{}, path...), 1)
			}
			walk(p.Message, name+".msg", sub, path, p.BodyStart, p.End)
		}
		next := p.BodyStart
		for i, c := range p.Children {
			sub := append(append([]int{}, base...), i+1)
			walk(c, fmt.Sprintf("%s.%d", name, i+1), sub, sub, next, p.End)
			if c != nil {
				next = c.End
			}
		}
	}
	var rootPath []int
	if m.Root.Type != "multipart" {
		rootPath = []int{1}
	}
	walk(m.Root, "root", rootPath, []int{}, 0, int64(len(raw)))
}

// countLines counts lines as RFC 3501 does: an unterminated last line counts.
func countLines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte("\n")))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// shape is a compact picture of a part tree: "multipart/mixed(text/plain,
// message/rfc822[text/plain])".
func shape(p *Part) string {
	s := p.Type + "/" + p.Subtype
	if p.Message != nil {
		s += "[" + shape(p.Message) + "]"
	}
	if p.Type == "multipart" {
		var c []string
		for _, ch := range p.Children {
			c = append(c, shape(ch))
		}
		s += "(" + strings.Join(c, ",") + ")"
	}
	return s
}

// sec is the part at path; it fails the test if there is none.
func sec(t *testing.T, m *Message, path ...int) *Part {
	t.Helper()
	p := m.Root.Section(path)
	if p == nil {
		t.Fatalf("no section %v", path)
	}
	return p
}

func bodyOf(raw []byte, p *Part) string   { return string(raw[p.BodyStart:p.End]) }
func headerOf(raw []byte, p *Part) string { return string(raw[p.HeaderStart:p.BodyStart]) }

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC1123Z, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseCorpus(t *testing.T) {
	tests := []struct {
		name  string
		shape string
		check func(t *testing.T, raw []byte, m *Message)
	}{
		{"exchange-forwarded.eml", "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)",
			func(t *testing.T, raw []byte, m *Message) {
				env := m.Envelope
				eq(t, "Subject", env.Subject, "FW: Q2 budget review =?utf-8?Q?=E2=80=93_final_numbers?=")
				eq(t, "From", env.From, []Address{{"Megan Bowen", "MeganB", "contoso.com", 0}})
				eq(t, "Sender", env.Sender, env.From)
				eq(t, "ReplyTo", env.ReplyTo, env.From)
				eq(t, "To", env.To, []Address{{"Alex Wilber", "AlexW", "fabrikam.com", 0}})
				eq(t, "Cc", env.Cc, []Address{
					{"Lee, Gordon", "GordonL", "contoso.com", 0},
					{"=?utf-8?B?SsO2cmcgTcO8bGxlcg==?=", "joerg.mueller", "contoso.com", 0},
				})
				eq(t, "Bcc", env.Bcc, []Address(nil))
				eq(t, "MessageID", env.MessageID, "<PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3@PAXPR07MB8771.eurprd07.prod.outlook.com>")
				eq(t, "InReplyTo", env.InReplyTo, "<AM0PR07MB6341A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM0PR07MB6341.eurprd07.prod.outlook.com>")
				eq(t, "Date", env.Date.Equal(date("Tue, 14 May 2024 09:12:40 +0000")), true)
				eq(t, "root Language", m.Root.Language, []string{"en-US"})
				eq(t, "root boundary", m.Root.Params["boundary"], "_004_PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3PAXPR07MB8771eurp_")
				if !strings.HasPrefix(headerOf(raw, m.Root), "Received: from AM9PR07MB7123") || !strings.HasSuffix(headerOf(raw, m.Root), "\r\n\r\n") {
					t.Errorf("root header does not span the whole header")
				}
				txt := sec(t, m, 1, 1)
				eq(t, "1.1 params", txt.Params, map[string]string{"charset": "utf-8"})
				eq(t, "1.1 encoding", txt.Encoding, "quoted-printable")
				if b := bodyOf(raw, txt); !strings.HasPrefix(b, "Hi Alex,\r\n") || !strings.HasSuffix(b, "as Exchange does.\r\n") {
					t.Errorf("1.1 body = %q", b)
				}
				eq(t, "1.1 lines", txt.Lines, int64(14))
				eq(t, "1.2 type", sec(t, m, 1, 2).Subtype, "html")
				eq(t, "1.MIME", headerOf(raw, sec(t, m, 1)), "Content-Type: multipart/alternative;\r\n\tboundary=\"_000_PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3PAXPR07MB8771eurp_\"\r\n\r\n")
				pdf := sec(t, m, 2)
				eq(t, "2 params", pdf.Params, map[string]string{"name": "Q2 budget.pdf"})
				eq(t, "2 encoding", pdf.Encoding, "base64")
				eq(t, "2 description", pdf.Description, "Q2 budget.pdf")
				eq(t, "2 disposition", pdf.Disposition, "attachment")
				eq(t, "2 disposition params", pdf.DispositionParams, map[string]string{
					"filename":          "Q2 budget.pdf",
					"size":              fmt.Sprint(len(fakePDF())),
					"creation-date":     "Tue, 14 May 2024 09:12:39 GMT",
					"modification-date": "Tue, 14 May 2024 09:12:40 GMT",
				})
				eq(t, "2 body", bodyOf(raw, pdf), b64Lines(fakePDF()))
			}},
		{"unterminated-multipart.eml", "multipart/mixed(text/plain,multipart/alternative(text/plain,text/html),application/octet-stream)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "1 body", bodyOf(raw, sec(t, m, 1)), "First part, complete.\r\n")
				eq(t, "2.2 body", bodyOf(raw, sec(t, m, 2, 2)), "<p>Alternative HTML</p>\r\n")
				att := sec(t, m, 3)
				eq(t, "3 ends the data", att.End, int64(len(raw)))
				if b := bodyOf(raw, att); !strings.HasPrefix(b, "AAECAwQF") || strings.HasSuffix(b, "\n") {
					t.Errorf("3 body = %q", b)
				}
				eq(t, "3 filename", att.DispositionParams["filename"], "data.bin")
			}},
		{"missing-boundary.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "params", m.Root.Params, map[string]string(nil))
				if b := bodyOf(raw, m.Root); !strings.HasPrefix(b, "--abc\r\n") || !strings.HasSuffix(b, "--abc--\r\n") {
					t.Errorf("body = %q", b)
				}
				eq(t, "lines", m.Root.Lines, int64(5))
			}},
		{"no-separator.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "BodyStart", m.Root.BodyStart, int64(len(raw)))
				eq(t, "Subject", m.Envelope.Subject, "No blank line after the header")
				eq(t, "To", m.Envelope.To, []Address{{"", "admin", "example.com", 0}})
				eq(t, "params", m.Root.Params, map[string]string{"charset": "us-ascii"})
			}},
		{"lf-only.eml", "multipart/alternative(text/plain,text/html)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "1 body", bodyOf(raw, sec(t, m, 1)), "Plain text version.\nSecond line.\n")
				eq(t, "1 lines", sec(t, m, 1).Lines, int64(2))
				eq(t, "1.MIME", headerOf(raw, sec(t, m, 1)), "Content-Type: text/plain; charset=us-ascii\n\n")
				eq(t, "2 body", bodyOf(raw, sec(t, m, 2)), "<p>HTML version.</p>")
				eq(t, "2 lines", sec(t, m, 2).Lines, int64(1))
				eq(t, "Date", m.Envelope.Date.Equal(date("Thu, 16 May 2024 13:00:00 -0700")), true)
				_, off := m.Envelope.Date.Zone()
				eq(t, "Date offset", off, -7*3600)
			}},
		{"smtputf8-headers.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				env := m.Envelope
				eq(t, "Subject", env.Subject, "Grüße aus Köln – ☕")
				eq(t, "From", env.From, []Address{{"Jörg Müller", "jörg", "bücher.example", 0}})
				eq(t, "To", env.To, []Address{{"用户", "用户", "例子.广告", 0}, {"Zoë Ångström", "zoe", "example.com", 0}})
				eq(t, "MessageID", env.MessageID, "<utf8-1@bücher.example>")
				eq(t, "encoding", m.Root.Encoding, "8bit")
				eq(t, "lines", m.Root.Lines, int64(2))
			}},
		{"latin1-8bit.eml", "multipart/mixed(text/plain,text/plain)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "Subject", m.Envelope.Subject, "Caf\xe9 cr\xe8me")
				eq(t, "From", m.Envelope.From, []Address{{"Andr\xe9 Dupont", "andre", "example.fr", 0}})
				eq(t, "1 body", bodyOf(raw, sec(t, m, 1)), "Voil\xe0 le r\xe9sum\xe9, tr\xe8s bien.\r\n\xc0 bient\xf4t.\r\n")
				eq(t, "2 params", sec(t, m, 2).Params, map[string]string{"charset": "iso-8859-1", "name": "r\xe9sum\xe9.txt"})
				eq(t, "2 filename", sec(t, m, 2).DispositionParams["filename"], "r\xe9sum\xe9.txt")
			}},
		{"unknown-charset.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "Subject", m.Envelope.Subject, "=?x-unknown-charset?Q?Hello?= and =?utf-8?B?!!not base64!!?= =?utf-8?Q?unterminated")
				eq(t, "From", m.Envelope.From, []Address{{"=?x-unknown-charset?Q?Nobody?=", "nobody", "example.org", 0}})
				eq(t, "params", m.Root.Params, map[string]string{"charset": "x-unknown-charset", "name": "=?x-unknown-charset?Q?report?=.txt"})
				eq(t, "disposition", m.Root.DispositionParams, map[string]string{"filename": "\xe4\xf6\xfc.txt"})
				eq(t, "body", bodyOf(raw, m.Root), "Body in a charset nobody knows: \xe4\xf6\xfc\r\n")
			}},
		{"huge-header.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				if m.Root.BodyStart < 1<<20 {
					t.Errorf("header is only %d bytes", m.Root.BodyStart)
				}
				eq(t, "Subject", m.Envelope.Subject, "After a 1 MB header")
				eq(t, "From", m.Envelope.From, []Address{{"Bulk Sender", "bulk", "example.org", 0}})
				eq(t, "body", bodyOf(raw, m.Root), "The body after a very large header.\r\n")
			}},
		{"long-lines.eml", "multipart/mixed(text/plain,text/html)",
			func(t *testing.T, raw []byte, m *Message) {
				p := sec(t, m, 1)
				eq(t, "1 size", p.End-p.BodyStart, int64(len("short line\r\n")+2500+2+100000))
				eq(t, "1 lines", p.Lines, int64(3))
				h := sec(t, m, 2)
				eq(t, "2 size", h.End-h.BodyStart, int64(70000+len("<p></p>")))
				if !strings.HasSuffix(bodyOf(raw, h), "</p>") {
					t.Errorf("2 body ends %q", bodyOf(raw, h)[h.End-h.BodyStart-10:])
				}
			}},
		{"binary-part.eml", "multipart/mixed(text/plain,application/octet-stream)",
			func(t *testing.T, raw []byte, m *Message) {
				want := make([]byte, 1024)
				for i := range want {
					want[i] = byte(i)
				}
				eq(t, "2 body", bodyOf(raw, sec(t, m, 2)), string(want))
				eq(t, "2 encoding", sec(t, m, 2).Encoding, "binary")
				eq(t, "1 body", bodyOf(raw, sec(t, m, 1)), "A binary part follows.")
			}},
		{"nested-rfc822.eml", "multipart/mixed(text/plain,message/rfc822[multipart/alternative(text/plain,text/html)],message/rfc822[message/rfc822[text/plain]])",
			func(t *testing.T, raw []byte, m *Message) {
				msg := sec(t, m, 2)
				eq(t, "2 Subject", msg.Envelope.Subject, "Inner with alternatives")
				eq(t, "2 From", msg.Envelope.From, []Address{{"Inner Sender", "inner", "example.net", 0}})
				eq(t, "2 Cc (empty group)", msg.Envelope.Cc, []Address{{"", "undisclosed-recipients", "", GroupStart}, {"", "", "", GroupEnd}})
				eq(t, "2 filename", msg.DispositionParams["filename"], "inner.eml")
				if !strings.HasPrefix(bodyOf(raw, msg), "From: Inner Sender") || !strings.HasSuffix(bodyOf(raw, msg), "--inner--\r\n") {
					t.Errorf("2 body = %q", bodyOf(raw, msg))
				}
				eq(t, "2.1 body", bodyOf(raw, sec(t, m, 2, 1)), "Inner plain.\r\n")
				eq(t, "2.2 body", bodyOf(raw, sec(t, m, 2, 2)), "<p>Inner HTML.</p>\r\n")
				if sec(t, m, 2, 1) != msg.Message.Children[0] {
					t.Error("2.1 is not the embedded message's first part")
				}
				wrap := sec(t, m, 3)
				eq(t, "3 Subject", wrap.Envelope.Subject, "Wrapper")
				eq(t, "3.1", sec(t, m, 3, 1), wrap.Message)
				eq(t, "3.1 Subject", sec(t, m, 3, 1).Envelope.Subject, "Innermost")
				eq(t, "3.1.1 body", bodyOf(raw, sec(t, m, 3, 1, 1)), "Innermost body.\r\n")
				eq(t, "3 lines", wrap.Lines, int64(10))
			}},
		{"digest.eml", "multipart/digest(message/rfc822[text/plain],message/rfc822[text/plain],text/plain)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "1 Subject", sec(t, m, 1).Envelope.Subject, "First post")
				eq(t, "1 params", sec(t, m, 1).Params, map[string]string(nil))
				eq(t, "1.MIME", headerOf(raw, sec(t, m, 1)), "\r\n")
				eq(t, "2 InReplyTo", sec(t, m, 2).Envelope.InReplyTo, "<first@example.org>")
				eq(t, "2.1 body", bodyOf(raw, sec(t, m, 2, 1)), "Hi Alice.\r\n")
				eq(t, "3 body", bodyOf(raw, sec(t, m, 3)), "End of digest.\r\n")
			}},
		{"rfc2231-params.eml", "multipart/mixed(text/plain,application/pdf,text/plain,text/plain)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "2 params", sec(t, m, 2).Params, map[string]string{"name": "€ rates for Q3.pdf"})
				eq(t, "2 disposition", sec(t, m, 2).DispositionParams, map[string]string{"filename": "€ rates for Q3.pdf"})
				eq(t, "3 params", sec(t, m, 3).Params, map[string]string{"charset": "iso-8859-1", "title": "This is ***fun***"})
				eq(t, "3 disposition", sec(t, m, 3).DispositionParams, map[string]string{"filename": "résumé.txt"})
				eq(t, "4 params", sec(t, m, 4).Params, map[string]string{"charset": "windows-1252", "name": "€uro.txt"})
				eq(t, "4 disposition", sec(t, m, 4).DispositionParams, map[string]string{"filename": "€uro.txt"})
			}},
		{"empty-body.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "BodyStart", m.Root.BodyStart, int64(len(raw)))
				eq(t, "lines", m.Root.Lines, int64(0))
				if !strings.HasSuffix(headerOf(raw, m.Root), "\r\n\r\n") {
					t.Error("header does not end with the blank line")
				}
			}},
		{"headers-only-no-newline.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "BodyStart", m.Root.BodyStart, int64(len(raw)))
				eq(t, "Subject", m.Envelope.Subject, "Only a header, no final newline")
				eq(t, "Date", m.Envelope.Date, time.Time{})
			}},
		{"dot-lines.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "body", bodyOf(raw, m.Root), ".\r\n..\r\n.leading dot\r\n...three dots\r\n. space after a dot\r\na line\r\n.\r\n")
				eq(t, "lines", m.Root.Lines, int64(7))
			}},
		{"garbage-params.eml", "multipart/mixed(text/plain,text/plain,text/html,text/plain)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "root params", m.Root.Params, map[string]string{"boundary": "----=_Part_0_12345.67890", "charset": "", "x-junk": "unterminated"})
				eq(t, "1 params", sec(t, m, 1).Params, map[string]string{"charset": "utf-8", "format": "flowed"})
				eq(t, "2 params", sec(t, m, 2).Params, map[string]string{"charset": "us-ascii"})
				eq(t, "3 params", sec(t, m, 3).Params, map[string]string{"charset": "UTF-8"})
				eq(t, "4 params", sec(t, m, 4).Params, map[string]string{"charset": "us-ascii"})
				eq(t, "4 body", bodyOf(raw, sec(t, m, 4)), "A type without a subtype is text/plain.")
			}},
		{"deep-nesting.eml", "",
			func(t *testing.T, raw []byte, m *Message) {
				p, depth := m.Root, 0
				for p.Type == "multipart" {
					if len(p.Children) != 1 {
						t.Fatalf("depth %d: %d children", depth, len(p.Children))
					}
					p, depth = p.Children[0], depth+1
				}
				eq(t, "depth of the opaque part", depth, maxDepth)
				eq(t, "opaque type", p.Type+"/"+p.Subtype, "application/octet-stream")
				if b := bodyOf(raw, p); !strings.HasPrefix(b, fmt.Sprintf("--b%03d\r\n", maxDepth)) || !strings.HasSuffix(b, fmt.Sprintf("--b%03d--", maxDepth)) {
					t.Errorf("opaque body = %q", b)
				}
			}},
		{"no-content-type.eml", "text/plain",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "params", m.Root.Params, map[string]string{"charset": "us-ascii"})
				eq(t, "encoding", m.Root.Encoding, "7BIT")
				eq(t, "To", m.Envelope.To, []Address{{"", "rcpt", "example.com", 0}, {"Doe, John", "john.doe", "example.com", 0}, {"", "root", "", 0}})
				eq(t, "Date", m.Envelope.Date.Equal(date("Sat, 18 May 2024 16:00:00 +0000")), true)
				eq(t, "DateRaw", m.Envelope.DateRaw, "18 May 2024 16:00 GMT")
				eq(t, "lines", m.Root.Lines, int64(2))
			}},
		{"mixed-line-endings.eml", "multipart/mixed(text/plain,text/plain)",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "1 body", bodyOf(raw, sec(t, m, 1)), "LF then CRLF")
				eq(t, "2 body", bodyOf(raw, sec(t, m, 2)), "CRLF then LF")
				eq(t, "Subject", m.Envelope.Subject, "Mixed CRLF and LF")
			}},
		{"empty-multipart.eml", "multipart/mixed()",
			func(t *testing.T, raw []byte, m *Message) {
				eq(t, "children", len(m.Root.Children), 0)
				eq(t, "Section 1", m.Root.Section([]int{1}), (*Part)(nil))
			}},
	}
	if len(tests) != len(corpus) {
		t.Errorf("%d cases for %d corpus files", len(tests), len(corpus))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := readCorpus(t, tt.name)
			m := mustParse(t, raw)
			if tt.shape != "" {
				eq(t, "shape", shape(m.Root), tt.shape)
			}
			tt.check(t, raw, m)

			// The same structure whatever the reads and the buffer:
			// one byte at a time, and lines longer than the buffer.
			small, err := parse(iotest.OneByteReader(bytes.NewReader(raw)), 16)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(small, m) {
				t.Error("parsing with a 16-byte buffer, one byte per read, gives another structure")
			}
		})
	}
}

// TestOffsets covers the delimiter edge cases of RFC 2046 section 5.1.1 on
// small inputs.
func TestOffsets(t *testing.T) {
	const ct = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	tests := []struct {
		name   string
		raw    string
		shape  string
		bodies []string // of parts 1, 2, ...
		mimes  []string // their headers
	}{
		{"plain", ct + "--b\r\n\r\nhello\r\n--b--\r\n", "multipart/mixed(text/plain)",
			[]string{"hello"}, []string{"\r\n"}},
		{"empty body, blank line kept", ct + "--b\r\n\r\n\r\n--b--", "multipart/mixed(text/plain)",
			[]string{""}, []string{"\r\n"}},
		{"header cut by the next delimiter", ct + "--b\r\nContent-Type: text/html\r\n--b\r\n\r\nx\r\n--b--", "multipart/mixed(text/html,text/plain)",
			[]string{"", "x"}, []string{"Content-Type: text/html", "\r\n"}},
		{"two delimiters in a row", ct + "--b\r\n--b\r\n\r\nx\r\n--b--", "multipart/mixed(text/plain,text/plain)",
			[]string{"", "x"}, []string{"", "\r\n"}},
		{"header blank line right before the delimiter", ct + "--b\r\nContent-Type: text/html\r\n\r\n--b--", "multipart/mixed(text/html)",
			[]string{""}, []string{"Content-Type: text/html\r\n\r\n"}},
		{"whitespace after delimiters", ct + "--b  \r\n\r\nx\r\n--b-- \t\r\n", "multipart/mixed(text/plain)",
			[]string{"x"}, []string{"\r\n"}},
		{"not a delimiter: more after the boundary", ct + "--b\r\n\r\n--bx\r\n--b -\r\n--b---\r\n--b--", "multipart/mixed(text/plain)",
			[]string{"--bx\r\n--b -\r\n--b---"}, []string{"\r\n"}},
		{"no delimiter at all", ct + "just a preamble\r\n", "multipart/mixed()", nil, nil},
		{"no final CRLF in the part", ct + "--b\r\n\r\nx", "multipart/mixed(text/plain)",
			[]string{"x"}, []string{"\r\n"}},
		{"inner multipart cut by the outer delimiter",
			ct + "--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\ninner\r\n--b\r\n\r\nouter\r\n--b--",
			"multipart/mixed(multipart/alternative(text/plain),text/plain)",
			[]string{"--c\r\n\r\ninner", "outer"}, nil},
		{"same boundary nested: the innermost wins, then the outer",
			ct + "--b\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\ninner\r\n--b--\r\n--b\r\n\r\nouter\r\n--b--",
			"multipart/mixed(multipart/alternative(text/plain),text/plain)",
			[]string{"--b\r\n\r\ninner\r\n--b--", "outer"}, nil},
		{"message/rfc822 with empty body", ct + "--b\r\nContent-Type: message/rfc822\r\n\r\n--b--", "multipart/mixed(message/rfc822[text/plain])",
			[]string{""}, nil},
		{"message/rfc822 header cut", ct + "--b\r\nContent-Type: message/rfc822\r\n--b--", "multipart/mixed(message/rfc822[text/plain])",
			[]string{""}, []string{"Content-Type: message/rfc822"}},
		{"epilogue", ct + "--b\r\n\r\nx\r\n--b--\r\nepilogue\r\n", "multipart/mixed(text/plain)",
			[]string{"x"}, nil},
		{"bare CR is not a line break", ct + "--b\r\n\r\nx\r--b\r\n--b--", "multipart/mixed(text/plain)",
			[]string{"x\r--b"}, nil},
		{"no header at all", "\r\nbody\r\n", "text/plain", []string{"body\r\n"}, []string{"\r\n"}},
		{"empty message", "", "text/plain", []string{""}, []string{""}},
		{"continuation line first", " folded\r\nSubject: x\r\n\r\nbody", "text/plain", []string{"body"}, nil},
		{"boundary too long", "Content-Type: multipart/mixed; boundary=" + strings.Repeat("b", maxBoundary+1) + "\r\n\r\n--" + strings.Repeat("b", maxBoundary+1) + "\r\n\r\nx", "text/plain",
			[]string{"--" + strings.Repeat("b", maxBoundary+1) + "\r\n\r\nx"}, nil},
		{"boundary at the limit", "Content-Type: multipart/mixed; boundary=" + strings.Repeat("b", maxBoundary) + "\r\n\r\n--" + strings.Repeat("b", maxBoundary) + "\r\n\r\nx", "multipart/mixed(text/plain)",
			[]string{"x"}, nil},
		{"quoted boundary with a trailing space", "Content-Type: multipart/mixed; boundary=\"b \"\r\n\r\n--b\r\n\r\nx\r\n--b--", "multipart/mixed(text/plain)",
			[]string{"x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			m := mustParse(t, raw)
			eq(t, "shape", shape(m.Root), tt.shape)
			for i, want := range tt.bodies {
				eq(t, fmt.Sprintf("BODY[%d]", i+1), bodyOf(raw, sec(t, m, i+1)), want)
			}
			for i, want := range tt.mimes {
				eq(t, fmt.Sprintf("BODY[%d.MIME]", i+1), headerOf(raw, sec(t, m, i+1)), want)
			}
		})
	}
}

// TestLongLineCRAtBufferEnd puts the CR of a CRLF at the end of the read
// buffer, and a delimiter after lines longer than it.
func TestLongLineCRAtBufferEnd(t *testing.T) {
	for _, size := range []int{16, 17, 64, bufSize} {
		for _, n := range []int{size - 2, size - 1, size, size + 1, 3*size - 1} {
			line := strings.Repeat("x", n)
			raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + line + "\r\n" + line + "\r\n--b--\r\n")
			m, err := parse(bytes.NewReader(raw), size)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, raw, m)
			p := m.Root.Section([]int{1})
			if p == nil || bodyOf(raw, p) != line+"\r\n"+line || p.Lines != 2 {
				t.Errorf("buffer %d, line %d: part 1 = %+v", size, n, p)
			}
		}
	}
}

func TestManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < maxParts+500; i++ {
		b.WriteString("--b\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	raw := []byte(b.String())
	m := mustParse(t, raw)
	if n := len(m.Root.Children); n >= maxParts || n < maxParts-10 {
		t.Errorf("%d parts", n)
	}
}

var errBroken = errors.New("broken reader")

// TestReadError checks that a failing reader fails Parse, and that the
// end of data is not an error.
func TestReadError(t *testing.T) {
	raw := readCorpus(t, "exchange-forwarded.eml")
	r := io.MultiReader(bytes.NewReader(raw[:5000]), iotest.ErrReader(errBroken))
	if _, err := Parse(r); err != errBroken {
		t.Errorf("Parse of a failing reader: %v", err)
	}
	if _, err := Parse(iotest.DataErrReader(bytes.NewReader(raw))); err != nil {
		t.Errorf("Parse with data and EOF together: %v", err)
	}
	if _, err := Parse(iotest.TimeoutReader(bytes.NewReader(raw))); err == nil {
		t.Error("Parse ignored a timeout")
	}
}

func TestSection(t *testing.T) {
	raw := readCorpus(t, "nested-rfc822.eml")
	m := mustParse(t, raw)
	for _, path := range [][]int{{0}, {4}, {-1}, {1, 2}, {2, 3}, {3, 2}, {3, 1, 2}, {1, 1, 2}} {
		if p := m.Root.Section(path); p != nil {
			t.Errorf("Section(%v) = %s/%s, want nil", path, p.Type, p.Subtype)
		}
	}
	eq(t, "Section()", m.Root.Section(nil), m.Root)
	eq(t, "Section(1.1)", m.Root.Section([]int{1, 1}), m.Root.Children[0])

	single := mustParse(t, readCorpus(t, "dot-lines.eml"))
	eq(t, "single part Section(1)", single.Root.Section([]int{1}), single.Root)
	eq(t, "single part Section(2)", single.Root.Section([]int{2}), (*Part)(nil))

	// A top-level message/rfc822: part 1 is the body, 1.1 the inner body.
	raw = []byte("Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n")
	top := mustParse(t, raw)
	eq(t, "top Section(1)", top.Root.Section([]int{1}), top.Root)
	eq(t, "top Section(1.1) body", bodyOf(raw, top.Root.Section([]int{1, 1})), "inner body\r\n")
}
