package pickup

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/maildock/maildock/mailstore"
)

// streamConvert feeds in through an eolWriter cut at the given points.
func streamConvert(t testing.TB, in []byte, toLF bool, cuts []int) []byte {
	var out bytes.Buffer
	e := newEOLWriter(&out, toLF)
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if c < prev || c > len(in) {
			continue
		}
		n, err := e.Write(in[prev:c])
		if err != nil || n != c-prev {
			t.Fatalf("Write = %d, %v; want %d", n, err, c-prev)
		}
		prev = c
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e.n != int64(out.Len()) {
		t.Fatalf("counted %d bytes, wrote %d", e.n, out.Len())
	}
	return out.Bytes()
}

func TestEOLWriter(t *testing.T) {
	for _, tc := range []struct{ in, crlf, lf string }{
		{"", "", ""},
		{"a\nb\n", "a\r\nb\r\n", "a\nb\n"},
		{"a\r\nb\r\n", "a\r\nb\r\n", "a\nb\n"},
		{"\n", "\r\n", "\n"},
		{"\r", "\r", "\r"},
		{"\r\r\n", "\r\r\n", "\r\n"},
		{"a\rb", "a\rb", "a\rb"},
		{"\n\r\n\n\r", "\r\n\r\n\r\n\r", "\n\n\n\r"},
		{"x\r\r", "x\r\r", "x\r\r"},
		{"\x00\r\n\xff\n", "\x00\r\n\xff\r\n", "\x00\n\xff\n"},
	} {
		in := []byte(tc.in)
		// Every way of cutting it in two and three.
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				if got := streamConvert(t, in, false, []int{i, j}); string(got) != tc.crlf {
					t.Errorf("crlf(%q) cut at %d,%d = %q, want %q", tc.in, i, j, got, tc.crlf)
				}
				if got := streamConvert(t, in, true, []int{i, j}); string(got) != tc.lf {
					t.Errorf("lf(%q) cut at %d,%d = %q, want %q", tc.in, i, j, got, tc.lf)
				}
			}
		}
	}
}

// TestEOLWriterRandom compares the streaming conversion with the obvious
// one on random CR/LF-heavy data cut at random points.
func TestEOLWriterRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\r\n\r\nab\x00")
	for range 2000 {
		in := make([]byte, r.IntN(200))
		for i := range in {
			in[i] = alphabet[r.IntN(len(alphabet))]
		}
		var cuts []int
		for c := 0; c < len(in); c += 1 + r.IntN(7) {
			cuts = append(cuts, c)
		}
		for _, le := range []string{LineEndingsCRLF, LineEndingsLF} {
			if got, want := streamConvert(t, in, le == LineEndingsLF, cuts), convert(in, le); !bytes.Equal(got, want) {
				t.Fatalf("%s(%q) cut at %v = %q, want %q", le, in, cuts, got, want)
			}
		}
	}
}

func FuzzEOLWriter(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r"), uint8(3))
	f.Add([]byte("\r\r\n\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		var cuts []int
		for c := 0; c < len(in); c += 1 + int(step) {
			cuts = append(cuts, c)
		}
		for _, le := range []string{LineEndingsCRLF, LineEndingsLF} {
			if got, want := streamConvert(t, in, le == LineEndingsLF, cuts), convert(in, le); !bytes.Equal(got, want) {
				t.Fatalf("%s(%q) = %q, want %q", le, in, got, want)
			}
		}
	})
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after < len(p) {
		return 0, errors.New("disk full")
	}
	f.after -= len(p)
	return len(p), nil
}

func TestEOLWriterError(t *testing.T) {
	e := newEOLWriter(&failWriter{after: 3}, false)
	if _, err := e.Write([]byte("ab\ncd\n")); err == nil {
		t.Errorf("error of the underlying writer lost")
	}
}

func TestIISEnvelope(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	writeIISEnvelope(w, mailstore.PickupItem{From: "a@b\r\nBcc: evil@x", To: []string{"c@d", "e@f\n"}}, "\r\n")
	w.Flush()
	want := "x-sender: a@bBcc: evil@x\r\nx-receiver: c@d\r\nx-receiver: e@f\r\n"
	if b.String() != want {
		t.Errorf("envelope = %q, want %q", b.String(), want)
	}
}

func TestJournalCodec(t *testing.T) {
	es := []journalEntry{
		{Seq: 1, Date: 1795474083000000000, Tmp: "20261123T224803Z-000000000001.eml" + tmpSuffix, Final: "20261123T224803Z-000000000001.eml"},
		{Seq: 1 << 40, Date: -5, Tmp: "1795474083.M0Q2.host" + tmpSuffix, Final: "1795474083.M0Q2.host,S=42"},
	}
	b := encodeJournal(es)
	got, err := decodeJournal(b)
	if err != nil || len(got) != 2 || got[0] != es[0] || got[1] != es[1] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	// Torn at every length: damaged, never a shorter list.
	for n := 1; n < len(b); n++ {
		if got, err := decodeJournal(b[:n]); !errors.Is(err, errBadJournal) {
			t.Errorf("torn at %d: %+v, %v", n, got, err)
		}
	}
	if got, err := decodeJournal(nil); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	// Names that would leave the folder are refused even with a good CRC.
	for _, bad := range []string{"../x", "a/b", "..", `a\b`} {
		b := encodeJournal([]journalEntry{{Seq: 1, Tmp: "t" + tmpSuffix, Final: bad}})
		if _, err := decodeJournal(b); !errors.Is(err, errBadJournal) {
			t.Errorf("final name %q accepted", bad)
		}
	}
	if _, err := decodeJournal([]byte(strings.Replace(string(b), "S=42", "S=43", 1))); err == nil {
		t.Errorf("changed journal accepted")
	}
}
