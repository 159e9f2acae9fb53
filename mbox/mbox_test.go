package mbox

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func readAll(t testing.TB, data []byte) []*Message {
	t.Helper()
	r := NewReader(bytes.NewReader(data), 0)
	var out []*Message
	for {
		m, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("message %d: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
}

func TestReaderRealWorld(t *testing.T) {
	data, err := os.ReadFile("testdata/thunderbird.mbox")
	if err != nil {
		t.Fatal(err)
	}
	msgs := readAll(t, data)
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	tests := []struct {
		sender string
		date   time.Time
		has    []string
		hasNot []string
	}{
		{"MAILER-DAEMON", time.Date(2024, 3, 1, 9, 15, 2, 0, time.UTC),
			[]string{"\n\nDisk usage", "\nFrom the runbook:", "\n>From the old runbook", "\nFrom here on", "NonJunk\n"},
			[]string{">From the runbook", ">>From"}},
		{"alerts@monitor.example.net", time.Date(2024, 3, 1, 10, 2, 44, 0, time.UTC),
			[]string{"\n>From: a quoted header line", "\n>>From three levels deep\n"},
			[]string{">>>From"}},
		{"invoice-bot@erp.example.org", time.Date(2024, 3, 4, 7, 30, 0, 0, time.UTC),
			[]string{"\n>From;0\n--b1--\n"}, nil},
	}
	for i, tt := range tests {
		m := msgs[i]
		if m.Sender != tt.sender || !m.Date.Equal(tt.date) {
			t.Errorf("message %d: sender %q date %v, want %q %v", i+1, m.Sender, m.Date, tt.sender, tt.date)
		}
		for _, s := range tt.has {
			if !bytes.Contains(m.Raw, []byte(s)) {
				t.Errorf("message %d lacks %q:\n%s", i+1, s, m.Raw)
			}
		}
		for _, s := range tt.hasNot {
			if bytes.Contains(m.Raw, []byte(s)) {
				t.Errorf("message %d has %q:\n%s", i+1, s, m.Raw)
			}
		}
		if bytes.HasSuffix(m.Raw, []byte("\n\n")) {
			t.Errorf("message %d keeps the separating empty line", i+1)
		}
	}
	if got := msgs[1].Offset; !bytes.HasPrefix(data[got:], []byte("From alerts@")) {
		t.Errorf("offset %d of message 2 is not its From line", got)
	}
}

func TestReaderCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "From a Mon Jan  1 00:00:00 2024\nA: b\n\nbody\n", []string{"A: b\n\nbody\n"}},
		{"two", "From a Mon Jan  1 00:00:00 2024\nA: b\n\nx\n\nFrom b Mon Jan  1 00:00:00 2024\nA: c\n\ny\n\n",
			[]string{"A: b\n\nx\n", "A: c\n\ny\n"}},
		{"From not after an empty line", "From a x\nA: b\n\nx\nFrom me, with love\n", []string{"A: b\n\nx\nFrom me, with love\n"}},
		{"crlf", "From a x\r\nA: b\r\n\r\nx\r\n\r\nFrom b x\r\nA: c\r\n", []string{"A: b\r\n\r\nx\r\n", "A: c\r\n"}},
		{"empty lines at the end", "From a x\nA: b\n\nx\n\n\n\n", []string{"A: b\n\nx\n\n\n"}},
		{"no final newline", "From a x\nA: b\n\nx", []string{"A: b\n\nx"}},
		{"empty message", "From a x\n\nFrom b x\n", []string{"", ""}},
		{"quoting", "From a x\n\n>From a\n>>From b\n>Fromage\n> From c\nFrom d\n", []string{"\nFrom a\n>From b\n>Fromage\n> From c\nFrom d\n"}},
		{"empty file", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range readAll(t, []byte(tt.in)) {
				got = append(got, string(m.Raw))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderRefusesOtherFiles(t *testing.T) {
	for _, in := range []string{"Return-Path: <a@b>\n\nx\n", "\nFrom a x\n", "From"} {
		_, err := NewReader(strings.NewReader(in), 0).Next()
		if !errors.Is(err, ErrNotMbox) {
			t.Errorf("%q: got %v, want ErrNotMbox", in, err)
		}
	}
}

func TestReaderMaxLen(t *testing.T) {
	in := "From a x\n" + strings.Repeat("0123456789\n", 100) + "\nFrom b x\nsmall\n"
	_, err := NewReader(strings.NewReader(in), 500).Next()
	if err == nil || !strings.Contains(err.Error(), "longer than 500") {
		t.Errorf("got %v", err)
	}
}

func TestFromLineDates(t *testing.T) {
	want := time.Date(2024, 3, 1, 9, 5, 2, 0, time.UTC)
	for _, l := range []string{
		"From a Fri Mar  1 09:05:02 2024",
		"From a  Fri Mar 1 09:05:02 2024",
		"From a Fri Mar  1 09:05:02 UTC 2024",
		"From a Fri Mar  1 10:05:02 +0100 2024",
		"From a Fri Mar  1 10:05:02 2024 +0100",
		"From a Fri, 1 Mar 2024 10:05:02 +0100",
	} {
		sender, date := parseFromLine(l)
		if sender != "a" || !date.Equal(want) {
			t.Errorf("%q: got %q %v, want a %v", l, sender, date, want)
		}
	}
	if _, date := parseFromLine("From a yesterday"); !date.IsZero() {
		t.Errorf("a date that does not parse gives %v, want the zero time", date)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	msgs := []string{
		"Subject: a\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\n",
		"Subject: b\n\nno final newline",
		"Subject: c\r\n\r\n\r\n\r\n",
		"",
	}
	date := time.Date(2025, 12, 24, 18, 30, 0, 0, time.FixedZone("", 3600))
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.WriteMessage("bad sender\n", date, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "From badsender Wed Dec 24 17:30:00 2025\nSubject: a\n\n>From the start\n>>From quoted\n>>>From twice\n\n") {
		t.Errorf("written:\n%s", buf.String())
	}
	got := readAll(t, buf.Bytes())
	if len(got) != len(msgs) {
		t.Fatalf("read %d messages, want %d", len(got), len(msgs))
	}
	for i, m := range msgs {
		want := string(ToLF([]byte(m)))
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if string(got[i].Raw) != want || !got[i].Date.Equal(date) || got[i].Sender != "badsender" {
			t.Errorf("message %d: got %q %v %q, want %q %v", i, got[i].Raw, got[i].Date, got[i].Sender, want, date)
		}
	}
}

func TestCRLF(t *testing.T) {
	tests := []struct{ in, crlf, lf string }{
		{"a\nb\r\nc", "a\r\nb\r\nc", "a\nb\nc"},
		{"\n\n", "\r\n\r\n", "\n\n"},
		{"a\r\r\n", "a\r\r\n", "a\r\n"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := string(ToCRLF([]byte(tt.in))); got != tt.crlf {
			t.Errorf("ToCRLF(%q) = %q, want %q", tt.in, got, tt.crlf)
		}
		if got := string(ToLF([]byte(tt.in))); got != tt.lf {
			t.Errorf("ToLF(%q) = %q, want %q", tt.in, got, tt.lf)
		}
	}
}
