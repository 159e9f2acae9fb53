// Package mbox reads and writes mbox files in the mboxrd flavour: a message
// starts at a "From sender date" line, and every body line that matches
// ^>*From  gets one more '>' on the way out and loses one on the way in.
//
// Reading is lenient, because mbox files come from many programs: a line
// "From " starts a message only at the start of the file or after an empty
// line, lines may end in LF or CRLF, and a date that does not parse is
// reported as the zero time. mboxo files (which quote only "From ", not
// ">From ") read the same, except that a body line that really started
// with ">From " loses its '>'; the two flavours cannot be told apart.
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrNotMbox is returned by Next when the input does not start with a
// "From " line.
var ErrNotMbox = errors.New("mbox: not an mbox file (it does not start with a \"From \" line)")

// Message is one message of an mbox file.
type Message struct {
	// Offset is where the message's From line starts in the file.
	Offset int64
	// Sender is the From line's first field (often MAILER-DAEMON when
	// unknown).
	Sender string
	// Date is the From line's date, or the zero time if it did not parse.
	Date time.Time
	// Raw is the message as the file holds it, with the From quoting
	// undone and the separating empty line removed. Line endings are
	// left as they are in the file.
	Raw []byte
}

// Reader reads messages from an mbox file.
type Reader struct {
	r      *bufio.Reader
	off    int64  // offset of next (the line read ahead)
	next   []byte // the next message's From line, read ahead; nil at start
	eof    bool
	maxLen int64
}

// NewReader reads the mbox file r. Messages longer than maxLen bytes make
// Next fail (0: no limit).
func NewReader(r io.Reader, maxLen int64) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), maxLen: maxLen}
}

// line reads one line with its ending; at EOF it returns what is left
// (possibly without a line ending) and io.EOF when nothing is left.
func (r *Reader) line() ([]byte, error) {
	l, err := r.r.ReadBytes('\n')
	if len(l) > 0 {
		return l, nil
	}
	if err == nil {
		err = io.EOF
	}
	return nil, err
}

// Next returns the next message, or io.EOF after the last one.
func (r *Reader) Next() (*Message, error) {
	if r.next == nil {
		if r.eof {
			return nil, io.EOF
		}
		l, err := r.line()
		if err == io.EOF {
			r.eof = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(l, []byte("From ")) {
			return nil, ErrNotMbox
		}
		r.next = l
	}
	m := &Message{Offset: r.off}
	m.Sender, m.Date = parseFromLine(string(trimEOL(r.next)))
	r.off += int64(len(r.next))
	r.next = nil
	var body bytes.Buffer
	prevEmpty := false // the previous line was an empty line
	var pending []byte // an empty line held back: the separator, or part of the message
	for {
		l, err := r.line()
		if err == io.EOF {
			r.eof = true
			break
		}
		if err != nil {
			return nil, err
		}
		if prevEmpty && bytes.HasPrefix(l, []byte("From ")) {
			r.next = l
			break
		}
		r.off += int64(len(l))
		if pending != nil {
			body.Write(pending)
			pending = nil
		}
		prevEmpty = len(trimEOL(l)) == 0
		if prevEmpty && len(l) > 0 && l[len(l)-1] == '\n' {
			pending = l
			continue
		}
		body.Write(unquote(l))
		if r.maxLen > 0 && int64(body.Len()) > r.maxLen {
			return nil, fmt.Errorf("mbox: message at offset %d is longer than %d bytes", m.Offset, r.maxLen)
		}
	}
	// A held-back empty line is the separator (before the next From
	// line, or the one a writer leaves at the end of the file).
	m.Raw = body.Bytes()
	return m, nil
}

func trimEOL(l []byte) []byte {
	l = bytes.TrimSuffix(l, []byte("\n"))
	return bytes.TrimSuffix(l, []byte("\r"))
}

// unquote removes one '>' from a line matching ^>+From .
func unquote(l []byte) []byte {
	i := 0
	for i < len(l) && l[i] == '>' {
		i++
	}
	if i > 0 && bytes.HasPrefix(l[i:], []byte("From ")) {
		return l[1:]
	}
	return l
}

// fromLineLayouts are the date formats seen after the sender on From lines:
// asctime (the standard), and asctime with a zone.
var fromLineLayouts = []string{
	time.ANSIC,                        // Mon Jan _2 15:04:05 2006
	time.UnixDate,                     // Mon Jan _2 15:04:05 MST 2006
	"Mon Jan _2 15:04:05 -0700 2006",  // some writers put a numeric zone there
	"Mon Jan _2 15:04:05 2006 -0700",  // and some after the year
	"Mon, _2 Jan 2006 15:04:05 -0700", // RFC 5322 dates, seen from odd tools
}

// parseFromLine splits "From sender date". A date without a zone is UTC.
func parseFromLine(l string) (sender string, date time.Time) {
	rest := strings.TrimPrefix(l, "From ")
	rest = strings.TrimLeft(rest, " ")
	sender, rest, _ = strings.Cut(rest, " ")
	rest = strings.TrimSpace(rest)
	// Extra spaces: asctime pads the day with one; collapse any more.
	for strings.Contains(rest, "   ") {
		rest = strings.ReplaceAll(rest, "   ", "  ")
	}
	for _, layout := range fromLineLayouts {
		if t, err := time.Parse(layout, rest); err == nil {
			return sender, t
		}
	}
	return sender, time.Time{}
}

// Writer writes messages as an mboxrd file.
type Writer struct {
	w *bufio.Writer
}

// NewWriter writes an mbox file to w. Call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10)}
}

// WriteMessage writes one message: a From line with sender (or
// MAILER-DAEMON) and date (in UTC, asctime format), then the message with
// CRLF line endings turned into LF and From lines quoted, then an empty
// line. A message that does not end in a line ending gets one.
func (w *Writer) WriteMessage(sender string, date time.Time, raw []byte) error {
	sender = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, sender)
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	fmt.Fprintf(w.w, "From %s %s\n", sender, date.UTC().Format(time.ANSIC))
	for len(raw) > 0 {
		var l []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			l, raw = bytes.TrimSuffix(raw[:i], []byte("\r")), raw[i+1:]
		} else {
			l, raw = raw, nil
		}
		i := 0
		for i < len(l) && l[i] == '>' {
			i++
		}
		if bytes.HasPrefix(l[i:], []byte("From ")) {
			w.w.WriteByte('>')
		}
		w.w.Write(l)
		w.w.WriteByte('\n')
	}
	_, err := w.w.WriteString("\n")
	return err
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// ToCRLF returns b with every line ending that is a bare LF made CRLF.
func ToCRLF(b []byte) []byte {
	n := bytes.Count(b, []byte("\n")) - bytes.Count(b, []byte("\r\n"))
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// ToLF returns b with every CRLF made LF.
func ToLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\r\n")) {
		return b
	}
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}
