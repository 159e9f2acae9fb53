package structure

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseParams(t *testing.T) {
	type P = map[string]string
	tests := []struct {
		in     string
		value  string
		params P
	}{
		{"text/plain", "text/plain", nil},
		{"Text/HTML; Charset=UTF-8", "text/html", P{"charset": "UTF-8"}},
		{`multipart/mixed; boundary="a;b\"c"`, "multipart/mixed", P{"boundary": `a;b"c`}},
		{"multipart/mixed; boundary=----=_Part_1.2", "multipart/mixed", P{"boundary": "----=_Part_1.2"}},
		{"multipart/mixed; boundary==?x?q?y?=", "multipart/mixed", P{"boundary": "=?x?q?y?="}},
		{"text/plain;", "text/plain", nil},
		{"text/plain; ; ;", "text/plain", nil},
		{"text/plain; charset", "text/plain", nil},
		{"text/plain; =x; charset=a", "text/plain", P{"charset": "a"}},
		{"text/plain; charset=a; charset=b", "text/plain", P{"charset": "a"}},
		{"text/plain (comment); charset=us-ascii (Plain text)", "text/plain", P{"charset": "us-ascii"}},
		{`text/plain; name="unterminated`, "text/plain", P{"name": "unterminated"}},
		{"text/html charset=utf-8", "text/html", P{"charset": "utf-8"}},
		{"text/plain; name=my file.txt", "text/plain", P{"name": "my file.txt"}},
		{`text/plain; na me=x; "q"=y; n@=z; ok=1`, "text/plain", P{"ok": "1"}},
		{"attachment; filename=\"=?utf-8?B?w6k=?=.txt\"", "attachment", P{"filename": "é.txt"}},
		{"attachment; filename=\"=?x-unknown?Q?a?=\"", "attachment", P{"filename": "=?x-unknown?Q?a?="}},
		{"attachment; filename*=utf-8''%e2%82%ac.txt", "attachment", P{"filename": "€.txt"}},
		{"attachment; filename*=''plain%20ascii", "attachment", P{"filename": "plain ascii"}},
		{"attachment; filename*=no-quotes%41", "attachment", P{"filename": "no-quotesA"}},
		{"attachment; filename*=utf-8''bad%zz%4", "attachment", P{"filename": "bad%zz%4"}},
		{"attachment; filename*=\"utf-8''quoted%20anyway\"", "attachment", P{"filename": "quoted anyway"}},
		{"attachment; filename*=iso-8859-15''%A4", "attachment", P{"filename": "€"}},
		{"attachment; filename*=x-unknown''%C1", "attachment", P{"filename": "\xc1"}},
		{"attachment; filename*1=b; filename*0=a; filename*2*=%63", "attachment", P{"filename": "abc"}},
		{"attachment; filename*1=b; filename*3=d", "attachment", nil},
		{"attachment; filename*0=a; filename*2=c", "attachment", P{"filename": "a"}},
		{"attachment; filename*00=a; filename*x=b; filename**=c", "attachment", nil},
		{"attachment; filename=plain; filename*=utf-8''ext", "attachment", P{"filename": "ext"}},
		{"attachment; *=x; *0=y", "attachment", nil},
		{"", "", nil},
		{"; charset=x", "", P{"charset": "x"}},
		{"\xff\xfe/x; a=\xff", "", P{"a": "\xff"}},
	}
	for _, tt := range tests {
		value, params := parseParams(tt.in)
		if value != tt.value || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("parseParams(%q) = %q, %#v; want %q, %#v", tt.in, value, params, tt.value, tt.params)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	type A = []Address
	tests := []struct {
		in   string
		want A
	}{
		{"", nil},
		{" , ,", nil},
		{"a@example.org", A{{"", "a", "example.org", 0}}},
		{"A <a@example.org>", A{{"A", "a", "example.org", 0}}},
		{`"Doe, John" <j@x.org>, b@y.org`, A{{"Doe, John", "j", "x.org", 0}, {"", "b", "y.org", 0}}},
		{`"Quote \" inside" <q@x>`, A{{`Quote " inside`, "q", "x", 0}}},
		{"=?utf-8?Q?J=C3=B6rg?= <j@x>", A{{"=?utf-8?Q?J=C3=B6rg?=", "j", "x", 0}}},
		{"John  (middle)  Doe <j@x>", A{{"John Doe", "j", "x", 0}}},
		{"j@x (John Doe)", A{{"John Doe", "j", "x", 0}}},
		{"<j@x>", A{{"", "j", "x", 0}}},
		{"<@relay1,@relay2:j@x>", A{{"", "j", "x", 0}}},
		{`"john doe"@x`, A{{"", "john doe", "x", 0}}},
		{"Team: a@x, B <b@y>;, c@z", A{{"", "Team", "", GroupStart}, {"", "a", "x", 0}, {"B", "b", "y", 0}, {"", "", "", GroupEnd}, {"", "c", "z", 0}}},
		{"undisclosed-recipients:;", A{{"", "undisclosed-recipients", "", GroupStart}, {"", "", "", GroupEnd}}},
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;", A{{"", "group", "", GroupStart}, {"", "g1", "d1.org", 0}, {"", "g2", "d2.org", 0},
			{"", "", "", GroupEnd}, {"", "group2", "", GroupStart}, {"", "g3", "d3.org", 0}, {"", "", "", GroupEnd}}},
		{"group:;, group2: (foo) ;", A{{"", "group", "", GroupStart}, {"", "", "", GroupEnd}, {"", "group2", "", GroupStart}, {"", "", "", GroupEnd}}},
		{"Open Group: a@x", A{{"", "Open Group", "", GroupStart}, {"", "a", "x", 0}, {"", "", "", GroupEnd}}},
		{"undisclosed recipients", A{{"", "undisclosed recipients", "", 0}}},
		{"root", A{{"", "root", "", 0}}},
		{"John Doe j@x", A{{"John Doe", "j", "x", 0}}},
		{"a@b@c", A{{"", "a@b", "c", 0}}},
		{"<>", nil},
		{"Name <>", A{{"Name", "", "", 0}}},
		{"Broken <a@x", A{{"Broken", "a", "x", 0}}},
		{`"unterminated <a@x>`, A{{"", "unterminated <a@x>", "", 0}}},
		{"user@[IPv6:::1]", A{{"", "user", "[IPv6:::1]", 0}}},
		{"(only a comment)", A{{"", "(only a comment)", "", 0}}},
		{"Jörg <jörg@bücher.example>", A{{"Jörg", "jörg", "bücher.example", 0}}},
		{"Andr\xe9 <a@x>", A{{"Andr\xe9", "a", "x", 0}}},
		{"a@x,\r\n\tb@y", A{{"", "a", "x", 0}, {"", "b", "y", 0}}},
	}
	for _, tt := range tests {
		if got := parseAddressList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseAddressList(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		in   string
		want time.Time // zero: unparseable
		off  int
	}{
		{"Tue, 14 May 2024 09:12:40 +0000", utc("2024-05-14T09:12:40Z"), 0},
		{"Tue, 14 May 2024 09:12:40 +0200 (CEST)", utc("2024-05-14T07:12:40Z"), 7200},
		{"14 May 2024 09:12 GMT", utc("2024-05-14T09:12:00Z"), 0},
		{"Tue, 14 May 2024 09:12:40 EDT", utc("2024-05-14T13:12:40Z"), -4 * 3600},
		{"Tuesday, 14 May 2024 09:12:40 +0000", utc("2024-05-14T09:12:40Z"), 0},
		{"Tue, 14 May 24 09:12:40 +0000", utc("2024-05-14T09:12:40Z"), 0},
		{"Tue,14 May 2024 09:12:40 +0000", utc("2024-05-14T09:12:40Z"), 0},
		{"Tue, 14 May 2024 09:12:40 +0100 CET", utc("2024-05-14T08:12:40Z"), 3600},
		{"14 may 2024 09:12:40 +0000", utc("2024-05-14T09:12:40Z"), 0},
		{"Tue May 14 09:12:40 2024", utc("2024-05-14T09:12:40Z"), 0},
		{"2024-05-14T09:12:40+05:30", utc("2024-05-14T03:42:40Z"), 5*3600 + 1800},
		{"Tue, 14 September 2024 09:12:40 +0000", utc("2024-09-14T09:12:40Z"), 0},
		{"Mon, 1 Jan 0001 00:00:00 +0000", time.Time{}, 0},
		{"yesterday", time.Time{}, 0},
		{"", time.Time{}, 0},
		{"Tue, 32 May 2024 09:12:40 +0000", time.Time{}, 0},
	}
	for _, tt := range tests {
		got := parseDate(tt.in)
		if !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
			t.Errorf("parseDate(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		if _, off := got.Zone(); !got.IsZero() && off != tt.off {
			t.Errorf("parseDate(%q) offset %d, want %d", tt.in, off, tt.off)
		}
	}
}

func TestCharsets(t *testing.T) {
	for _, tt := range []struct{ cs, in, want string }{
		{"ISO-8859-1", "caf\xe9", "café"},
		{"latin1", "\xa4", "¤"},
		{"iso-8859-15", "\xa4", "€"},
		{"windows-1252", "\x80\x93x\x94", "€“x”"},
		{"UTF-8", "é", "é"},
		{"koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
		{"shift_jis", "\x93\xfa\x96\x7b", "日本"},
	} {
		r, err := charsetReader(tt.cs, strings.NewReader(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.cs, err)
			continue
		}
		if got, _ := io.ReadAll(r); string(got) != tt.want {
			t.Errorf("%s: %q gives %q, want %q", tt.cs, tt.in, got, tt.want)
		}
	}
	if _, err := charsetReader("x-unknown", nil); err == nil {
		t.Error("unknown charset accepted")
	}
}

// TestRecoverCharsetPanic checks that a panic while interpreting a header
// (here from a charset converter) leaves a default part, not a failed Parse.
func TestRecoverCharsetPanic(t *testing.T) {
	defer func(old func(string, io.Reader) (io.Reader, error)) { charsetReader = old }(charsetReader)
	charsetReader = func(string, io.Reader) (io.Reader, error) { panic("boom") }
	raw := []byte("Subject: s\r\nContent-Type: text/html; name*=iso-8859-15''%A4\r\n\r\nbody\r\n")
	m := mustParse(t, raw)
	eq(t, "type", m.Root.Type+"/"+m.Root.Subtype, "text/plain")
	eq(t, "Subject", m.Envelope.Subject, "s")
	eq(t, "body", bodyOf(raw, m.Root), "body\r\n")
}
