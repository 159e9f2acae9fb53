package imapserve

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"testing/iotest"
)

// oneByte reads its input a byte at a time, to try every split.
func decodeAll(t testing.TB, dec func(io.Reader) io.Reader, in string, oneByte bool) string {
	t.Helper()
	var r io.Reader = strings.NewReader(in)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	out, err := io.ReadAll(dec(r))
	if err != nil {
		t.Fatalf("decode %q: %v", in, err)
	}
	return string(out)
}

func TestBase64Decoder(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"aGVsbG8=", "hello"},
		{"aGVs\r\nbG8=\r\n", "hello"},
		{"aGVsbG8", "hello"}, // no padding
		{"aGVsbG8gd29ybGQ=\r\n", "hello world"},
		{" a G V s b G 8 = ", "hello"},          // spaces anywhere
		{"aGVs*bG8=", "hello"},                  // garbage skipped
		{"aGVsbG8gd", "hello "},                 // six bits make no byte                // a last partial group
		{"aGVsbG8gd29ybGQhIQ", "hello world!!"}, // a last partial group
		{"====", ""},
	} {
		for _, one := range []bool{false, true} {
			if got := decodeAll(t, newBase64Decoder, tc.in, one); got != tc.want {
				t.Errorf("base64 %q (byte by byte %v): %q, want %q", tc.in, one, got, tc.want)
			}
		}
	}
}

func TestQPDecoder(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"caf=C3=A9", "café"},
		{"caf=c3=a9", "café"},                       // lower-case hex
		{"soft=\r\nbreak", "softbreak"},             // soft break
		{"soft=\nbreak", "softbreak"},               // with a bare LF
		{"soft=  \r\nbreak", "softbreak"},           // white space after "="
		{"trailing   \r\nnext", "trailing\r\nnext"}, // transport padding
		{"tab\t\nx", "tab\nx"},
		{"in  between", "in  between"},
		{"a=ZZb", "a=ZZb"}, // not hex: kept
		{"a=3", "a=3"},     // cut short at the end
		{"a=", "a"},        // soft break at the very end (the CRLF belongs to the boundary)
		{"end  ", "end"},
		{"=3D=0D=0A", "=\r\n"},
		{"a=\rb", "ab"}, // "=" CR without LF
	} {
		for _, one := range []bool{false, true} {
			if got := decodeAll(t, newQPDecoder, tc.in, one); got != tc.want {
				t.Errorf("qp %q (byte by byte %v): %q, want %q", tc.in, one, got, tc.want)
			}
		}
	}
}

func TestFilterHeader(t *testing.T) {
	hdr := "From: a@example.org\r\nSubject: one\r\n two\r\nX-Dup: 1\r\nno colon line\r\nx-dup: 2\r\n\r\n"
	for _, tc := range []struct {
		fields, not []string
		in, want    string
	}{
		{[]string{"subject"}, nil, hdr, "Subject: one\r\n two\r\n\r\n"},
		{[]string{"X-DUP"}, nil, hdr, "X-Dup: 1\r\nx-dup: 2\r\n\r\n"},
		{nil, []string{"from", "x-dup", "subject"}, hdr, "no colon line\r\n\r\n"},
		{[]string{"from"}, nil, "From: a\nTo: b\n\n", "From: a\n\n"},
		{[]string{"to"}, nil, "From: a\r\nTo: b", "To: b\r\n"}, // no blank line, no final line end
		{[]string{"from"}, nil, "", ""},
		{[]string{"from"}, nil, "To: a\r\n\r", "\r\n"}, // a blank line cut short
	} {
		if got := string(filterHeader([]byte(tc.in), tc.fields, tc.not)); got != tc.want {
			t.Errorf("filter %v/%v of %q: %q, want %q", tc.fields, tc.not, tc.in, got, tc.want)
		}
	}
}

func TestListMatch(t *testing.T) {
	for _, tc := range []struct {
		name, ref, pattern string
		want               bool
	}{
		{"INBOX", "", "*", true},
		{"INBOX", "", "inbox", true},
		{"INBOX/sub", "", "Inbox/%", true},
		{"a/b/c", "", "a/%", false},
		{"a/b/c", "", "a/*", true},
		{"a/b/c", "", "a/%/c", true},
		{"a/b/c", "a/", "%/c", true},
		{"a/b/c", "a/", "/a/*", false}, // no name starts with the separator
		{"abc", "", "a%c", true},
		{"ab/c", "", "a%c", false},
		{"", "", "", true},
		{"x", "", "", false},
		{strings.Repeat("a", 500), "", strings.Repeat("%*", 300) + "b", false},
	} {
		if got := listMatch(tc.name, tc.ref, tc.pattern); got != tc.want {
			t.Errorf("listMatch(%q, %q, %.20q) = %v", tc.name, tc.ref, tc.pattern, got)
		}
	}
}

// The decoders never fail, never loop, and agree with the standard ones on
// well-formed input.
func FuzzBase64Decoder(f *testing.F) {
	f.Add([]byte("aGVsbG8="), false)
	f.Add([]byte("aGVs\r\nbG8"), true)
	f.Fuzz(func(t *testing.T, data []byte, wellFormed bool) {
		in := string(data)
		if wellFormed {
			in = base64.StdEncoding.EncodeToString(data)
		}
		got := decodeAll(t, newBase64Decoder, in, false)
		if got != decodeAll(t, newBase64Decoder, in, true) {
			t.Fatal("result depends on read sizes")
		}
		if wellFormed && got != string(data) {
			t.Fatalf("%q decoded to %q", in, got)
		}
	})
}

func FuzzQPDecoder(f *testing.F) {
	f.Add([]byte("caf=C3=A9 =\r\n x  \r\n"), false)
	f.Add([]byte("a=\rb="), true)
	f.Fuzz(func(t *testing.T, data []byte, wellFormed bool) {
		in := string(data)
		if wellFormed {
			var b bytes.Buffer
			w := quotedprintable.NewWriter(&b)
			w.Write(data)
			w.Close()
			in = b.String()
		}
		got := decodeAll(t, newQPDecoder, in, false)
		if got != decodeAll(t, newQPDecoder, in, true) {
			t.Fatal("result depends on read sizes")
		}
		if wellFormed {
			// The standard writer turns line breaks into CRLF: compare
			// with the standard reader.
			want, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(in)))
			if err == nil && got != string(want) {
				t.Fatalf("%q: %q, standard reader %q", in, got, want)
			}
		}
	})
}

func FuzzFilterHeader(f *testing.F) {
	f.Add([]byte("From: a\r\nSubject: b\r\n c\r\n\r\nbody"), "subject")
	f.Add([]byte("\n\n"), "")
	f.Fuzz(func(t *testing.T, raw []byte, field string) {
		out := filterHeader(raw, []string{field}, nil)
		not := filterHeader(raw, nil, []string{field})
		for _, b := range [][]byte{out, not} {
			if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
				t.Fatalf("no final line end: %q", b)
			}
		}
		if len(out)+len(not) > 2*len(raw)+8 {
			t.Fatalf("output larger than the input: %d + %d for %d", len(out), len(not), len(raw))
		}
	})
}
