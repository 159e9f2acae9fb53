package mbox

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

// FuzzReader reads anything without panicking, and whatever it reads
// survives a write and a second read: same messages (line endings made LF,
// a final line ending added), same senders (as the writer cleans them),
// same dates (UTC, whole seconds).
func FuzzReader(f *testing.F) {
	if data, err := os.ReadFile("testdata/thunderbird.mbox"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("From a Mon Jan  1 00:00:00 2024\nA: b\n\n>From x\n\nFrom b x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 1<<20)
		var msgs []*Message
		for {
			m, err := r.Next()
			if err != nil {
				break
			}
			if m.Offset < 0 || m.Offset >= int64(len(data)) || !bytes.HasPrefix(data[m.Offset:], []byte("From ")) {
				t.Fatalf("offset %d is not a From line", m.Offset)
			}
			msgs = append(msgs, m)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, m := range msgs {
			if err := w.WriteMessage(m.Sender, m.Date, m.Raw); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		r2 := NewReader(bytes.NewReader(buf.Bytes()), 0)
		for i, m := range msgs {
			got, err := r2.Next()
			if err != nil {
				t.Fatalf("message %d of %d does not read back: %v\n%q", i, len(msgs), err, buf.Bytes())
			}
			want := ToLF(m.Raw)
			if len(want) > 0 && want[len(want)-1] != '\n' {
				want = append(want, '\n')
			}
			if !bytes.Equal(got.Raw, want) {
				t.Fatalf("message %d: read back %q, want %q", i, got.Raw, want)
			}
			wantDate := m.Date.UTC().Truncate(time.Second)
			if m.Date.IsZero() {
				wantDate = time.Unix(0, 0)
			}
			if !got.Date.Equal(wantDate) {
				t.Fatalf("message %d: date %v, want %v", i, got.Date, wantDate)
			}
		}
		if _, err := r2.Next(); err != io.EOF {
			t.Fatalf("more messages read back than written: %v", err)
		}
	})
}
