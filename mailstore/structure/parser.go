package structure

import (
	"bufio"
	"bytes"
	"io"
)

// bufSize is the read buffer's size. Lines that fit in it are looked at in
// place; longer ones are read in pieces, keeping only their start.
const bufSize = 64 << 10

// parser reads a message once, line by line, and builds its Part tree.
// Nothing but the current line and the header fields it interprets is kept.
type parser struct {
	r   *bufio.Reader
	err error // the reader's error, other than io.EOF

	off       int64 // bytes read so far
	nlines    int64 // lines read so far
	lastTerm  int   // line-break length of the last line read
	lastEmpty bool  // whether the last line read was empty

	scratch []byte // the start of the current line, when longer than r's buffer

	bounds   [][]byte // "--" + boundary of each open multipart, outermost first
	maxBound int      // longest of bounds (ever)
	parts    int      // parts made so far
}

// line is one line of the message.
type line struct {
	off       int64  // offset of its first byte
	no        int64  // its index: how many lines precede it
	clen      int64  // length without the line break
	trim      int64  // length without the line break and trailing white space
	term      int    // length of the line break: 2 (CRLF), 1 (LF) or 0 (end of data)
	head      []byte // the first bytes of the content; valid until the next read
	prevTerm  int    // line-break length of the line before
	prevEmpty bool   // whether the line before was empty
}

// readLine reads the next line, keeping at least its first keep bytes (or
// all, if shorter) in l.head. It reports false at the end of the data or on
// a read error (then p.err is set).
func (p *parser) readLine(keep int) (l line, ok bool) {
	if p.err != nil {
		return l, false
	}
	l.off, l.no, l.prevTerm, l.prevEmpty = p.off, p.nlines, p.lastTerm, p.lastEmpty
	var n int64
	var last byte
	inPlace := true
	for {
		chunk, err := p.r.ReadSlice('\n')
		p.off += int64(len(chunk))
		n += int64(len(chunk))
		content := chunk
		if err == nil {
			content = chunk[:len(chunk)-1]
			l.term = 1
		}
		if i := lastNonSpace(content); i >= 0 {
			l.trim = l.clen + int64(i) + 1
		}
		if len(content) > 0 {
			last = content[len(content)-1]
		}
		if inPlace && err != bufio.ErrBufferFull {
			l.head = content
		} else {
			if inPlace {
				p.scratch = p.scratch[:0]
				inPlace = false
			}
			if room := keep - len(p.scratch); room > 0 {
				p.scratch = append(p.scratch, content[:min(room, len(content))]...)
			}
			l.head = p.scratch
		}
		l.clen += int64(len(content))
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			p.err = err
			return l, false
		}
		break
	}
	if n == 0 {
		return l, false
	}
	if l.term == 1 && l.clen > 0 && last == '\r' {
		l.term, l.clen = 2, l.clen-1
	}
	if int64(len(l.head)) > l.clen {
		l.head = l.head[:l.clen]
	}
	if len(l.head) > keep {
		l.head = l.head[:keep]
	}
	p.nlines++
	p.lastTerm, p.lastEmpty = l.term, l.clen == 0
	return l, true
}

// lastNonSpace is the index of the last byte of b that is not a space, tab
// or CR, or -1.
func lastNonSpace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if c := b[i]; c != ' ' && c != '\t' && c != '\r' {
			return i
		}
	}
	return -1
}

// drain reads the rest of the input and returns the total size.
func (p *parser) drain() int64 {
	if p.err != nil {
		return p.off
	}
	n, err := io.Copy(io.Discard, p.r)
	p.off += n
	if err != nil {
		p.err = err
	}
	return p.off
}

// delimiter reports whether l is a boundary delimiter line of an open
// multipart (RFC 2046 section 5.1.1): "--" boundary, optionally "--" for the
// close delimiter, then only white space. level is the multipart's index in
// p.bounds; the innermost match wins.
func (p *parser) delimiter(l *line) (level int, final, ok bool) {
	h := l.head
	if len(p.bounds) == 0 || len(h) < 2 || h[0] != '-' || h[1] != '-' {
		return 0, false, false
	}
	for i := len(p.bounds) - 1; i >= 0; i-- {
		b := p.bounds[i]
		if !bytes.HasPrefix(h, b) {
			continue
		}
		n := int64(len(b))
		if l.trim == n {
			return i, false, true
		}
		if l.trim == n+2 && len(h) >= len(b)+2 && h[len(b)] == '-' && h[len(b)+1] == '-' {
			return i, true, true
		}
	}
	return 0, false, false
}

// stop is what ended an entity: a delimiter line of an open multipart, or
// the end of the data.
type stop struct {
	eof       bool
	level     int   // index in p.bounds of the multipart whose delimiter this is
	final     bool  // a close delimiter
	off       int64 // offset of the delimiter line (the data's size at the end)
	no        int64 // index of the delimiter line (the number of lines at the end)
	prevEmpty bool  // whether the line before the delimiter was empty
	end       int64 // where the entities it ends end
}

func (p *parser) eofStop() stop {
	return stop{eof: true, level: -1, off: p.off, no: p.nlines, end: p.off}
}

// delimStop makes the stop for delimiter line l. The line break before l
// belongs to the delimiter, so the entity ends before it, but never before
// from.
func delimStop(l *line, level int, final bool, from int64) stop {
	return stop{
		level:     level,
		final:     final,
		off:       l.off,
		no:        l.no,
		prevEmpty: l.prevEmpty,
		end:       max(from, l.off-int64(l.prevTerm)),
	}
}

// bodyKeep is how much of a body line delimiter needs.
func (p *parser) bodyKeep() int { return p.maxBound + 2 }

// skip reads lines up to a delimiter line of an open multipart or the end of
// the data. from is the least end of what it skips.
func (p *parser) skip(from int64) stop {
	for {
		l, ok := p.readLine(p.bodyKeep())
		if !ok {
			return p.eofStop()
		}
		if level, final, ok := p.delimiter(&l); ok {
			return delimStop(&l, level, final, from)
		}
	}
}

// parseMessage parses the whole input as a message. It reports false if a
// bug of ours panicked.
func (p *parser) parseMessage() (m *Message, ok bool) {
	defer func() {
		if recover() != nil {
			m, ok = nil, false
		}
	}()
	root, env, _ := p.entity(0, false, true)
	return &Message{Envelope: *env, Root: root}, true
}

// entity parses the entity that starts at the current offset, up to a
// delimiter line of an open multipart or the end of the data, and returns it
// with what ended it. digest says the entity is a part of a multipart/digest
// (its default type is message/rfc822); isMessage that it is a whole message,
// whose envelope is returned.
func (p *parser) entity(depth int, digest, isMessage bool) (part *Part, env *Envelope, st stop) {
	part = &Part{HeaderStart: p.off}
	p.parts++

	var h header
	h.init(isMessage)
	ended := false // the header was cut off: the body is empty
	for {
		l, ok := p.readLine(maxField)
		if !ok {
			part.BodyStart, part.End = p.off, p.off
			st, ended = p.eofStop(), true
			break
		}
		if level, final, ok := p.delimiter(&l); ok {
			st = delimStop(&l, level, final, part.HeaderStart)
			part.BodyStart, part.End = st.end, st.end
			ended = true
			break
		}
		if l.clen == 0 {
			part.BodyStart = p.off
			break
		}
		h.line(l.head)
	}

	kind, bound := p.interpret(part, &h, depth, digest)
	if isMessage {
		env = h.envelope()
	}

	if ended {
		if kind == kindMessage {
			part.Message, part.Envelope = p.empty(part.BodyStart)
		}
		return part, env, st
	}

	startLine := p.nlines
	switch kind {
	case kindMultipart:
		st = p.multipart(part, bound, depth)
	case kindMessage:
		part.Message, part.Envelope, st = p.entity(depth+1, false, true)
		st.end = max(part.BodyStart, st.end)
	default:
		st = p.skip(part.BodyStart)
	}
	part.End = st.end
	if kind == kindMessage || part.Type == "text" {
		part.Lines = bodyLines(part, startLine, &st)
	}
	return part, env, st
}

// empty is an empty message at off, for a message part with an empty body.
func (p *parser) empty(off int64) (*Part, *Envelope) {
	part := &Part{HeaderStart: off, BodyStart: off, End: off}
	p.parts++
	var h header
	h.init(true)
	p.interpret(part, &h, maxDepth, false)
	return part, h.envelope()
}

// bodyLines counts the lines of part's body, which starts at line startLine
// and was ended by st.
func bodyLines(part *Part, startLine int64, st *stop) int64 {
	if part.End <= part.BodyStart {
		return 0
	}
	n := st.no - startLine
	if part.End < st.off && st.prevEmpty {
		// The empty line before the delimiter is only the delimiter's CRLF.
		n--
	}
	return n
}

// multipart parses the body of a multipart part with delimiter bound
// ("--" + boundary): preamble, body parts, epilogue.
func (p *parser) multipart(part *Part, bound []byte, depth int) stop {
	p.bounds = append(p.bounds, bound)
	p.maxBound = max(p.maxBound, len(bound))
	level := len(p.bounds) - 1
	defer func() { p.bounds = p.bounds[:level] }()

	digest := part.Subtype == "digest"
	st := p.skip(part.BodyStart) // the preamble
	for !st.eof && st.level == level {
		if st.final || p.parts >= maxParts {
			// The epilogue; or too many parts, then the rest is
			// not split.
			p.bounds = p.bounds[:level]
			st = p.skip(st.off)
			break
		}
		var child *Part
		child, _, st = p.entity(depth+1, digest, false)
		part.Children = append(part.Children, child)
	}
	st.end = max(part.BodyStart, st.end)
	return st
}
