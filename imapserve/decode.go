package imapserve

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// decoding names the decoder for a Content-Transfer-Encoding ("" for the
// identity ones); ok is false for one we do not know (NO [UNKNOWN-CTE]).
func decoding(cte string) (dec string, ok bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return "", true
	case "base64":
		return "base64", true
	case "quoted-printable":
		return "quoted-printable", true
	}
	return "", false
}

// base64Decoder decodes base64 leniently, as mail clients and Dovecot do:
// characters outside the alphabet (line breaks, spaces, padding, garbage)
// are skipped, and a last incomplete group gives what bytes it holds.
type base64Decoder struct {
	r   io.Reader
	in  []byte // read, not yet filtered
	q   []byte // alphabet characters waiting for a full group
	out []byte // decoded, not yet returned
	eof bool
	err error
}

func newBase64Decoder(r io.Reader) io.Reader {
	return &base64Decoder{r: r, in: make([]byte, 32<<10)}
}

var b64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()

func (d *base64Decoder) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.eof {
			return 0, d.err
		}
		n, err := d.r.Read(d.in)
		for _, c := range d.in[:n] {
			if b64Alphabet[c] {
				d.q = append(d.q, c)
			}
		}
		full := len(d.q) / 4 * 4
		if err != nil {
			d.eof = true
			d.err = err
			if err == io.EOF {
				full = len(d.q)
			}
		}
		if full > 0 {
			chunk := d.q[:full]
			if rem := len(chunk) % 4; rem == 1 {
				chunk = chunk[:len(chunk)-1] // six bits make no byte
			}
			buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(chunk)))
			m, _ := base64.RawStdEncoding.Decode(buf, chunk)
			d.out = append(d.out, buf[:m]...)
			d.q = append(d.q[:0], d.q[full:]...)
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// qpDecoder decodes quoted-printable leniently: "=XY" is a byte, "=" at
// the end of a line (after optional white space) is a soft line break,
// white space at the end of a line is dropped (RFC 2045 section 6.7), and
// an "=" that starts neither is kept as it is.
type qpDecoder struct {
	r     io.Reader
	in    []byte
	out   bytes.Buffer
	state int    // qpNormal, ...
	held  []byte // "=", "=X", or white space whose fate depends on what follows
	eof   bool
	err   error
}

const (
	qpNormal = iota
	qpEq     // after "="
	qpEqHex  // after "=" and a hex digit
	qpEqWS   // after "=" and white space: a soft break if the line ends
	qpEqCR   // after "=" (and white space) and CR
	qpWS     // after white space
)

func newQPDecoder(r io.Reader) io.Reader {
	return &qpDecoder{r: r, in: make([]byte, 32<<10)}
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (d *qpDecoder) Read(p []byte) (int, error) {
	for d.out.Len() == 0 {
		if d.eof {
			return 0, d.err
		}
		n, err := d.r.Read(d.in)
		for _, c := range d.in[:n] {
			d.step(c)
		}
		if err != nil {
			d.eof, d.err = true, err
			if err == io.EOF {
				// The end of the data ends the line: held white space goes,
				// a last "=" is a soft line break (the line end before a
				// boundary belongs to the boundary), "=X" stays.
				if d.state == qpEqHex {
					d.out.Write(d.held)
				}
				d.held, d.state = nil, qpNormal
			}
		}
	}
	return d.out.Read(p)
}

func (d *qpDecoder) step(c byte) {
	switch d.state {
	case qpNormal:
		switch c {
		case '=':
			d.held, d.state = append(d.held[:0], c), qpEq
		case ' ', '\t':
			d.held, d.state = append(d.held[:0], c), qpWS
		default:
			d.out.WriteByte(c)
		}
	case qpWS:
		switch c {
		case ' ', '\t':
			d.held = append(d.held, c)
		case '\r', '\n':
			d.held, d.state = d.held[:0], qpNormal // trailing white space
			d.out.WriteByte(c)
		default:
			d.out.Write(d.held)
			d.held, d.state = d.held[:0], qpNormal
			d.step(c)
		}
	case qpEq:
		switch {
		case c == '\n':
			d.held, d.state = d.held[:0], qpNormal // soft break
		case c == '\r':
			d.state = qpEqCR
		case c == ' ' || c == '\t':
			d.held, d.state = append(d.held, c), qpEqWS
		default:
			if _, ok := unhexDigit(c); ok {
				d.held, d.state = append(d.held, c), qpEqHex
				return
			}
			d.out.WriteByte('=')
			d.held, d.state = d.held[:0], qpNormal
			d.step(c)
		}
	case qpEqHex:
		hi, _ := unhexDigit(d.held[1])
		if lo, ok := unhexDigit(c); ok {
			d.out.WriteByte(hi<<4 | lo)
			d.held, d.state = d.held[:0], qpNormal
			return
		}
		d.out.Write(d.held)
		d.held, d.state = d.held[:0], qpNormal
		d.step(c)
	case qpEqWS:
		switch c {
		case ' ', '\t':
			d.held = append(d.held, c)
		case '\r':
			d.state = qpEqCR
		case '\n':
			d.held, d.state = d.held[:0], qpNormal
		default:
			d.out.Write(d.held)
			d.held, d.state = d.held[:0], qpNormal
			d.step(c)
		}
	case qpEqCR:
		d.held, d.state = d.held[:0], qpNormal
		if c != '\n' {
			d.step(c)
		}
	}
}

// filterHeader keeps (fields) or drops (not) the named fields of a raw
// header, for BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)].
// Fields keep their bytes (folding and line ends as stored; a last field
// cut short gets CRLF); the result ends with the header's blank line if it
// has one, as Dovecot's does.
func filterHeader(raw []byte, fields, not []string) []byte {
	want := make(map[string]bool, len(fields)+len(not))
	for _, f := range fields {
		want[strings.ToLower(f)] = true
	}
	for _, f := range not {
		want[strings.ToLower(f)] = true
	}
	keep := len(fields) > 0
	var out []byte
	var blank []byte
	var cur []byte // the field being collected
	flush := func() {
		if len(cur) == 0 {
			return
		}
		name := cur
		if i := bytes.IndexByte(name, ':'); i >= 0 {
			name = name[:i]
		} else {
			name = nil
		}
		match := want[strings.ToLower(string(bytes.TrimRight(name, " \t")))]
		if match == keep {
			out = append(out, cur...)
			if c := cur[len(cur)-1]; c != '\n' {
				out = append(out, '\r', '\n')
			}
		}
		cur = nil
	}
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			line, raw = raw, nil
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 && line[0] != ' ' && line[0] != '\t' {
			flush()
			blank = line
			if line[len(line)-1] != '\n' {
				blank = []byte("\r\n")
			}
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			cur = append(cur, line...)
			continue
		}
		flush()
		cur = append(cur[:0:0], line...)
	}
	flush()
	return append(out, blank...)
}
