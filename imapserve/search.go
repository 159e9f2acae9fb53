package imapserve

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/charset"

	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/mailstore/structure"
)

// SEARCH runs over the messages the client knows (the view), with their
// current flags from the store. Text keys (HEADER, SUBJECT, FROM, TO, CC,
// BCC, BODY, TEXT) match substrings case-insensitively after RFC 2047
// words, Content-Transfer-Encodings and charsets are decoded, as Dovecot
// does without a full-text index. BODY looks at text parts and embedded
// messages, not at attachments. Dates compare calendar days, each in its
// own time zone (RFC 3501 section 6.4.4).

func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (_ *imap.SearchData, err error) {
	defer s.guard("SEARCH", &err)
	v, err := s.selected()
	if err != nil {
		return nil, err
	}
	snap, err := s.srv.store.Messages(s.account, v.name)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errSelectedGone
	}
	if err != nil {
		return nil, s.storeErr("search", err)
	}
	c := v.staticCriteria(criteria)
	var (
		seqs    imap.SeqSet
		uids    imap.UIDSet
		saved   []uint32
		data    imap.SearchData
		matched bool
	)
	// Both lists are in UID order: walk them together.
	j := 0
	for i, uid := range v.uids {
		for j < len(snap.Messages) && snap.Messages[j].UID < uid {
			j++
		}
		if j == len(snap.Messages) || snap.Messages[j].UID != uid {
			continue // expunged, not yet reported
		}
		mc := &searchMsg{s: s, v: v, seq: uint32(i + 1), m: &snap.Messages[j]}
		if matched, err = mc.match(c); err != nil {
			if errors.Is(err, errGone) {
				continue
			}
			return nil, err
		}
		if !matched {
			continue
		}
		saved = append(saved, uid)
		num := uint32(i + 1)
		if kind == imapserver.NumKindUID {
			num = uid
		}
		seqs.AddNum(num)
		uids.AddNum(imap.UID(num))
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if options.ReturnSave {
		v.searchRes = saved
	}
	return &data, nil
}

// staticCriteria replaces "*" and "$" by what they stand for now.
func (v *view) staticCriteria(c *imap.SearchCriteria) *imap.SearchCriteria {
	out := *c
	out.SeqNum = nil
	out.UID = nil
	n := uint32(len(v.uids))
	for _, set := range c.SeqNum {
		var st imap.SeqSet
		for _, r := range set {
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = n
			}
			if stop == 0 {
				stop = n
			}
			if start > stop {
				start, stop = stop, start
			}
			if start == 0 {
				continue // "*" of an empty mailbox
			}
			st.AddRange(start, stop)
		}
		out.SeqNum = append(out.SeqNum, st)
	}
	last := v.lastUID()
	for _, set := range c.UID {
		var st imap.UIDSet
		if imap.IsSearchRes(set) {
			for _, uid := range v.searchRes {
				st.AddNum(imap.UID(uid))
			}
			out.UID = append(out.UID, st)
			continue
		}
		for _, r := range set {
			start, stop := uint32(r.Start), uint32(r.Stop)
			if start == 0 {
				start = last
			}
			if stop == 0 {
				stop = last
			}
			if start > stop {
				start, stop = stop, start
			}
			if start == 0 {
				continue
			}
			st.AddRange(imap.UID(start), imap.UID(stop))
		}
		out.UID = append(out.UID, st)
	}
	out.Not = make([]imap.SearchCriteria, len(c.Not))
	for i := range c.Not {
		out.Not[i] = *v.staticCriteria(&c.Not[i])
	}
	out.Or = make([][2]imap.SearchCriteria, len(c.Or))
	for i := range c.Or {
		out.Or[i] = [2]imap.SearchCriteria{*v.staticCriteria(&c.Or[i][0]), *v.staticCriteria(&c.Or[i][1])}
	}
	return &out
}

// searchMsg is one message being matched; its structure, header and
// body are read only if a key needs them, and at most once.
type searchMsg struct {
	s   *session
	v   *view
	seq uint32
	m   *mailstore.MessageInfo

	st     *structure.Message
	fields []headerField // the top-level header, decoded
	br     *mailstore.BlobReader
}

type headerField struct {
	name  string // lower case
	value string // decoded, lower case
}

func (mc *searchMsg) match(c *imap.SearchCriteria) (bool, error) {
	ok, err := mc.matchCheap(c)
	if !ok || err != nil {
		return false, err
	}
	defer func() {
		if mc.br != nil {
			mc.br.Close()
			mc.br = nil
		}
	}()
	return mc.matchDeep(c)
}

// matchCheap checks what needs no message content.
func (mc *searchMsg) matchCheap(c *imap.SearchCriteria) (bool, error) {
	for _, set := range c.SeqNum {
		if !set.Contains(mc.seq) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(mc.m.UID)) {
			return false, nil
		}
	}
	for _, f := range c.Flag {
		if !mc.hasFlag(f) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if mc.hasFlag(f) {
			return false, nil
		}
	}
	if c.Larger > 0 && mc.m.Size <= c.Larger {
		return false, nil
	}
	if c.Smaller > 0 && mc.m.Size >= c.Smaller {
		return false, nil
	}
	if !c.Since.IsZero() && civil(mc.m.InternalDate) < civilUTC(c.Since) {
		return false, nil
	}
	if !c.Before.IsZero() && civil(mc.m.InternalDate) >= civilUTC(c.Before) {
		return false, nil
	}
	return true, nil
}

func (mc *searchMsg) matchDeep(c *imap.SearchCriteria) (bool, error) {
	if ok, err := mc.matchCheap(c); !ok || err != nil {
		return false, err
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		st, err := mc.structure()
		if err != nil {
			return false, err
		}
		// No (readable) Date: the epoch, as in Dovecot.
		sent := st.Envelope.Date
		if sent.IsZero() {
			sent = time.Unix(0, 0).UTC()
		}
		if !c.SentSince.IsZero() && civil(sent) < civilUTC(c.SentSince) {
			return false, nil
		}
		if !c.SentBefore.IsZero() && civil(sent) >= civilUTC(c.SentBefore) {
			return false, nil
		}
	}
	for _, h := range c.Header {
		ok, err := mc.headerHas(h.Key, h.Value)
		if !ok || err != nil {
			return false, err
		}
	}
	if len(c.Body) > 0 {
		ok, err := mc.textHas(c.Body, false)
		if !ok || err != nil {
			return false, err
		}
	}
	if len(c.Text) > 0 {
		ok, err := mc.textHas(c.Text, true)
		if !ok || err != nil {
			return false, err
		}
	}
	for i := range c.Not {
		ok, err := mc.matchDeep(&c.Not[i])
		if err != nil {
			return false, err
		}
		if ok {
			return false, nil
		}
	}
	for i := range c.Or {
		ok, err := mc.matchDeep(&c.Or[i][0])
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = mc.matchDeep(&c.Or[i][1]); err != nil {
				return false, err
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (mc *searchMsg) hasFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		_, ok := mc.v.recent[mc.m.UID]
		return ok
	}
	return mc.m.HasFlag(string(f))
}

// civil is a time's calendar day in its own zone, as yyyymmdd.
func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func civilUTC(t time.Time) int { return civil(t.UTC()) }

func (mc *searchMsg) structure() (*structure.Message, error) {
	if mc.st != nil {
		return mc.st, nil
	}
	st, err := mc.s.structs.get(mc.s.srv.store, mc.m.Blob)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errGone
	}
	if err != nil {
		return nil, mc.s.storeErr("search structure", err)
	}
	mc.st = st
	return st, nil
}

func (mc *searchMsg) blob() (*mailstore.BlobReader, error) {
	if mc.br != nil {
		return mc.br, nil
	}
	br, err := mc.s.srv.store.OpenBlob(mc.m.Blob)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errGone
	}
	if err != nil {
		return nil, mc.s.storeErr("search body", err)
	}
	mc.br = br
	return br, nil
}

func (mc *searchMsg) readRange(off, end int64) ([]byte, error) {
	br, err := mc.blob()
	if err != nil {
		return nil, err
	}
	off = min(max(off, 0), mc.m.Size)
	end = min(max(end, off), mc.m.Size)
	b := make([]byte, end-off)
	if _, err := br.ReadAt(b, off); err != nil && err != io.EOF {
		if errors.Is(err, mailstore.ErrNotFound) {
			return nil, errGone
		}
		return nil, mc.s.storeErr("search read", err)
	}
	return b, nil
}

func (mc *searchMsg) header() ([]headerField, error) {
	if mc.fields != nil {
		return mc.fields, nil
	}
	st, err := mc.structure()
	if err != nil {
		return nil, err
	}
	raw, err := mc.readRange(st.Root.HeaderStart, st.Root.BodyStart)
	if err != nil {
		return nil, err
	}
	mc.fields = parseHeader(raw)
	return mc.fields, nil
}

// headerHas: HEADER name value (and FROM, SUBJECT, ...). An empty value
// matches every message that has the field (RFC 3501 section 6.4.4).
func (mc *searchMsg) headerHas(name, value string) (bool, error) {
	fields, err := mc.header()
	if err != nil {
		return false, err
	}
	name = strings.ToLower(name)
	needle := strings.ToLower(value)
	for _, f := range fields {
		if f.name == name && strings.Contains(f.value, needle) {
			return true, nil
		}
	}
	// FROM, TO, CC and BCC also match the parsed addresses, so that
	// "<user (comment)@ (comment) example.org>" is found as
	// user@example.org (as Dovecot searches). Only a needle spanning the
	// "@" can match there and not in the field's text (names, group names
	// and either side of an address are in the text), so other searches
	// do not read the structure of every message they do not match.
	if !strings.Contains(needle, "@") {
		return false, nil
	}
	var list func(*structure.Envelope) []structure.Address
	switch name {
	case "from":
		list = func(e *structure.Envelope) []structure.Address { return e.From }
	case "to":
		list = func(e *structure.Envelope) []structure.Address { return e.To }
	case "cc":
		list = func(e *structure.Envelope) []structure.Address { return e.Cc }
	case "bcc":
		list = func(e *structure.Envelope) []structure.Address { return e.Bcc }
	default:
		return false, nil
	}
	st, err := mc.structure()
	if err != nil {
		return false, err
	}
	for _, a := range list(&st.Envelope) {
		s := a.Mailbox
		if a.Host != "" {
			s += "@" + a.Host
		}
		if strings.Contains(strings.ToLower(s), needle) {
			return true, nil
		}
	}
	return false, nil
}

// textHas reports whether all needles occur in the body (and, for TEXT,
// the header).
func (mc *searchMsg) textHas(needles []string, withHeader bool) (bool, error) {
	tm := newTextMatcher(needles)
	if withHeader {
		fields, err := mc.header()
		if err != nil {
			return false, err
		}
		for _, f := range fields {
			tm.writeLowered([]byte(f.name + ": " + f.value + "\n"))
		}
		tm.reset()
		if tm.done() {
			return true, nil
		}
	}
	st, err := mc.structure()
	if err != nil {
		return false, err
	}
	if err := mc.searchParts(tm, st.Root, withHeader); err != nil && !errors.Is(err, errMatched) {
		return false, err
	}
	return tm.done(), nil
}

var errMatched = errors.New("imapserve: all found")

// searchParts feeds the decoded text of p's text parts (and, for TEXT,
// the headers of embedded messages: Dovecot's BODY leaves them out) to tm.
func (mc *searchMsg) searchParts(tm *textMatcher, p *structure.Part, headers bool) error {
	switch {
	case p.Type == "multipart":
		for _, c := range p.Children {
			if err := mc.searchParts(tm, c, headers); err != nil {
				return err
			}
		}
		return nil
	case p.Message != nil && !headers:
		return mc.searchParts(tm, p.Message, headers)
	case p.Message != nil:
		raw, err := mc.readRange(p.Message.HeaderStart, p.Message.BodyStart)
		if err != nil {
			return err
		}
		for _, f := range parseHeader(raw) {
			tm.writeLowered([]byte(f.name + ": " + f.value + "\n"))
		}
		tm.reset()
		if tm.done() {
			return errMatched
		}
		return mc.searchParts(tm, p.Message, headers)
	case p.Type != "text":
		return nil
	}
	br, err := mc.blob()
	if err != nil {
		return err
	}
	var r io.Reader = errReader{io.NewSectionReader(br, p.BodyStart, max(p.End-p.BodyStart, 0))}
	switch dec, _ := decoding(p.Encoding); dec {
	case "base64":
		r = newBase64Decoder(r)
	case "quoted-printable":
		r = newQPDecoder(r)
	}
	if cs := strings.ToLower(p.Params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if cr, err := charset.Reader(cs, r); err == nil {
			r = cr
		}
	}
	_, err = io.Copy(tm, r)
	tm.reset()
	var re readErr
	switch {
	case errors.Is(err, errMatched):
		return errMatched
	case errors.As(err, &re) && errors.Is(re.err, mailstore.ErrNotFound):
		return errGone
	case err != nil && errors.As(err, &re):
		return mc.s.storeErr("search read", re.err)
	}
	// Decoding errors of a broken charset leave what was decoded.
	return nil
}

// textMatcher looks for several strings at once in a stream of UTF-8 text,
// case-insensitively, across chunk boundaries.
type textMatcher struct {
	needles [][]byte
	found   []bool
	left    int
	maxLen  int
	tail    []byte // the end of what was seen, for matches across writes
	pend    []byte // an incomplete UTF-8 sequence at the end of the last write
}

func newTextMatcher(needles []string) *textMatcher {
	tm := &textMatcher{found: make([]bool, len(needles))}
	for _, n := range needles {
		b := bytes.ToLower([]byte(n))
		tm.needles = append(tm.needles, b)
		tm.maxLen = max(tm.maxLen, len(b))
	}
	tm.left = len(needles)
	for i, n := range tm.needles {
		if len(n) == 0 {
			tm.found[i] = true
			tm.left--
		}
	}
	return tm
}

func (tm *textMatcher) done() bool { return tm.left == 0 }

// reset forgets the tail: text of different parts does not run together.
func (tm *textMatcher) reset() { tm.tail, tm.pend = tm.tail[:0], tm.pend[:0] }

func (tm *textMatcher) Write(p []byte) (int, error) {
	if tm.done() {
		return 0, errMatched
	}
	data := append(tm.pend, p...)
	cut := len(data)
	// Hold back an incomplete rune for the next write.
	for back := 1; back <= utf8.UTFMax && back <= len(data); back++ {
		c := data[len(data)-back]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(data[len(data)-back:]) {
				cut = len(data) - back
			}
			break
		}
	}
	tm.writeLowered(bytes.ToLower(data[:cut]))
	tm.pend = append(tm.pend[:0:0], data[cut:]...)
	if tm.done() {
		return len(p), errMatched
	}
	return len(p), nil
}

func (tm *textMatcher) writeLowered(low []byte) {
	buf := append(tm.tail, low...)
	for i, n := range tm.needles {
		if !tm.found[i] && bytes.Contains(buf, n) {
			tm.found[i] = true
			tm.left--
		}
	}
	keep := min(len(buf), max(tm.maxLen-1, 0))
	tm.tail = append(tm.tail[:0:0], buf[len(buf)-keep:]...)
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// parseHeader splits a raw header into unfolded fields with RFC 2047
// words decoded, lower-cased for matching.
func parseHeader(raw []byte) []headerField {
	var out []headerField
	var cur []byte
	flush := func() {
		if len(cur) == 0 {
			return
		}
		name, value, ok := bytes.Cut(cur, []byte(":"))
		cur = cur[:0]
		if !ok {
			return
		}
		v := strings.TrimSpace(string(value))
		if dec, err := wordDecoder.DecodeHeader(v); err == nil {
			v = dec
		}
		out = append(out, headerField{
			name:  strings.ToLower(strings.TrimSpace(string(name))),
			value: strings.ToLower(toUTF8(v)),
		})
	}
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			line, raw = raw, nil
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			cur = append(cur, line...)
			continue
		}
		flush()
		cur = append(cur, line...)
	}
	flush()
	if out == nil {
		out = []headerField{}
	}
	return out
}

// toUTF8 keeps valid UTF-8 and reads anything else as Latin-1, the usual
// charset of unlabelled 8-bit header bytes.
func toUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
