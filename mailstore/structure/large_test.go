package structure

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
)

// largeMessage is a header, a short text part and a base64 attachment of
// about size bytes, as a reader that makes the bytes as they are read (so
// that the test measures Parse, not the message).
func largeMessage(size int) (io.Reader, int64) {
	head := crlf(`From: Big <big@example.org>
To: rcpt@example.com
Subject: large
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="big"

--big
Content-Type: text/plain

See attached.
--big
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

`)
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	n := size / len(line)
	tail := "--big--\r\n"
	total := int64(len(head) + n*len(line) + len(tail))
	r := io.MultiReader(strings.NewReader(head), &repeatReader{line: line, n: n}, strings.NewReader(tail))
	return r, total
}

type repeatReader struct {
	line string
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.line[r.off:])
		k += c
		r.off += c
		if r.off == len(r.line) {
			r.off = 0
			r.n--
		}
	}
	return k, nil
}

// TestLargeMessageMemory checks that Parse streams: a 50 MiB message costs
// its read buffer and its structure, not its size.
func TestLargeMessageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MiB")
	}
	r, total := largeMessage(50 << 20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := Parse(r)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if m.Root.End != total || len(m.Root.Children) != 2 || m.Root.Children[1].End != total-int64(len("\r\n--big--\r\n")) {
		t.Fatalf("structure %s, end %d of %d", shape(m.Root), m.Root.End, total)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("Parse of %d bytes allocated %d bytes", total, alloc)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"exchange-forwarded.eml", "huge-header.eml", "nested-rfc822.eml"} {
		raw := readCorpus(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("50MiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, total := largeMessage(50 << 20)
			b.SetBytes(total)
			if _, err := Parse(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
