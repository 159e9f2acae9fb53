package imapserve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/mailstore/structure"
)

// testHookFetchWriting, if set, runs while a FETCH response is open.
var testHookFetchWriting atomic.Pointer[func()]

// errGone: the message was expunged while the FETCH was getting it.
var errGone = errors.New("imapserve: message expunged")

// errAborted ends a FETCH whose response could not be finished; the
// connection is already closed (the client sees it as a disconnection,
// which is how Dovecot answers a FETCH that fails half way).
var errAborted = &imap.Error{Type: imap.StatusResponseTypeBye, Text: "FETCH failed"}

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	defer s.guard("FETCH", &err)
	v, err := s.selected()
	if err != nil {
		return err
	}
	if err := checkSections(options); err != nil {
		return err
	}
	idx, err := v.resolve(numSet)
	if err != nil || len(idx) == 0 {
		return err
	}
	uids := make([]uint32, len(idx))
	for i, j := range idx {
		uids[i] = v.uids[j]
	}
	infos, err := s.srv.store.MessagesByUID(s.account, v.name, uids)
	if errors.Is(err, mailstore.ErrNotFound) {
		return errSelectedGone
	}
	if err != nil {
		return s.storeErr("fetch", err)
	}
	if options.Flags {
		if err := v.announceKeywords(infos, s.writeMailboxFlags); err != nil {
			return err
		}
	}
	byUID := make(map[uint32]*mailstore.MessageInfo, len(infos))
	for i := range infos {
		byUID[infos[i].UID] = &infos[i]
	}

	// BODY[...] without PEEK sets \Seen (RFC 3501 section 6.4.5), but not
	// in a mailbox selected with EXAMINE.
	seenNow := map[uint32]bool{}
	if !v.readOnly && setsSeen(options) {
		var unseen []uint32
		for _, m := range infos {
			if !m.HasFlag(mailstore.FlagSeen) {
				unseen = append(unseen, m.UID)
			}
		}
		if len(unseen) > 0 {
			updated, err := s.srv.store.SetFlags(s.ctx(), s.account, v.name, unseen, mailstore.FlagsAdd, []string{mailstore.FlagSeen})
			if err != nil {
				return s.storeErr("fetch set seen", err)
			}
			v.noteSelfFlags(updated)
			for i := range updated {
				if m := byUID[updated[i].UID]; m != nil {
					*m = updated[i]
					seenNow[m.UID] = true
				}
			}
		}
	}

	skipped := false
	for _, i := range idx {
		m := byUID[v.uids[i]]
		if m == nil {
			skipped = true
			continue
		}
		err := s.fetchOne(w, v, uint32(i+1), m, options, seenNow[m.UID])
		if errors.Is(err, errGone) {
			skipped = true
			continue
		}
		if err != nil {
			return err
		}
	}
	if skipped {
		return errExpungeIssued
	}
	return nil
}

func setsSeen(options *imap.FetchOptions) bool {
	for _, bs := range options.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

func needsStructure(options *imap.FetchOptions) bool {
	if options.Envelope || options.BodyStructure != nil || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0 {
		return true
	}
	for _, bs := range options.BodySection {
		if len(bs.Part) > 0 || bs.Specifier != imap.PartSpecifierNone {
			return true
		}
	}
	return false
}

// fetchOne writes one message's FETCH response. Everything that can fail
// (the structure, header filtering, BINARY decoding and sizes) is done
// before the response starts; while it is written only the body bytes are
// read, chunk by chunk.
func (s *session) fetchOne(w *imapserver.FetchWriter, v *view, seq uint32, m *mailstore.MessageInfo, options *imap.FetchOptions, seenNow bool) error {
	var st *structure.Message
	if needsStructure(options) {
		var err error
		st, err = s.structs.get(s.srv.store, m.Blob)
		if errors.Is(err, mailstore.ErrNotFound) {
			return errGone
		}
		if err != nil {
			return s.storeErr("fetch structure", err)
		}
	}
	var br *mailstore.BlobReader
	openBlob := func() (*mailstore.BlobReader, error) {
		if br != nil {
			return br, nil
		}
		r, err := s.srv.store.OpenBlob(m.Blob)
		if errors.Is(err, mailstore.ErrNotFound) {
			return nil, errGone
		}
		if err != nil {
			return nil, s.storeErr("fetch body", err)
		}
		br = r
		return br, nil
	}
	defer func() {
		if br != nil {
			br.Close()
		}
	}()

	bodies := make([]*source, len(options.BodySection))
	for i, sec := range options.BodySection {
		src, err := bodySource(sec, m, st, openBlob)
		if err != nil {
			return s.fetchErr(err)
		}
		bodies[i] = src.partial(sec.Partial)
	}
	binaries := make([]*source, len(options.BinarySection))
	for i, sec := range options.BinarySection {
		src, err := binarySource(sec.Part, m, st, openBlob)
		if err != nil {
			return s.fetchErr(err)
		}
		if err := src.measure(openBlob); err != nil {
			return s.fetchErr(err)
		}
		binaries[i] = src.partial(sec.Partial)
	}
	binSizes := make([]int64, len(options.BinarySectionSize))
	for i, sec := range options.BinarySectionSize {
		src, err := binarySource(sec.Part, m, st, openBlob)
		if err != nil {
			return s.fetchErr(err)
		}
		if err := src.measure(openBlob); err != nil {
			return s.fetchErr(err)
		}
		binSizes[i] = src.size
	}
	if len(bodies)+len(binaries) > 0 {
		if _, err := openBlob(); err != nil {
			return s.fetchErr(err)
		}
	}

	rw := w.CreateMessage(seq)
	s.openRW = rw
	if hook := testHookFetchWriting.Load(); hook != nil {
		(*hook)()
	}
	if options.UID {
		rw.WriteUID(imap.UID(m.UID))
	}
	if options.Flags {
		v.noteTold(m)
		rw.WriteFlags(v.msgFlags(m))
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if options.Envelope {
		rw.WriteEnvelope(envelope(&st.Envelope))
	}
	if options.BodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure(st.Root))
	}
	for i, sec := range options.BodySection {
		if err := s.writeLiteral(rw.WriteBodySection(sec, bodies[i].size), bodies[i], br); err != nil {
			return err
		}
	}
	for i, sec := range options.BinarySection {
		if err := s.writeLiteral(rw.WriteBinarySection(sec, binaries[i].size), binaries[i], br); err != nil {
			return err
		}
	}
	for i, sec := range options.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, uint32(min(binSizes[i], 1<<32-1)))
	}
	if seenNow && !options.Flags {
		rw.WriteFlags(v.msgFlags(m))
	}
	s.openRW = nil
	return rw.Close()
}

// fetchErr maps an error met while preparing a response.
func (s *session) fetchErr(err error) error {
	var imapErr *imap.Error
	if errors.Is(err, errGone) || errors.As(err, &imapErr) {
		return err
	}
	return s.storeErr("fetch", err)
}

// writeLiteral copies a section into its literal. If that fails half way
// the literal cannot be completed: the connection is closed.
func (s *session) writeLiteral(wc io.WriteCloser, src *source, br *mailstore.BlobReader) error {
	s.openLit = wc
	err := src.copyTo(wc, br)
	if err == nil {
		s.openLit = nil
		if err = wc.Close(); err == nil {
			return nil
		}
	}
	var re readErr
	if errors.As(err, &re) {
		s.log.Error("imap: FETCH: reading the message failed while sending it; closing the connection", "account", s.account, "err", re.err)
	} else {
		s.log.Info("imap: FETCH: sending failed; closing the connection", "account", s.account, "err", err)
	}
	s.abortResponse()
	return errAborted
}

// readErr marks a failure of the store (not the network) while a literal
// is sent.
type readErr struct{ err error }

func (e readErr) Error() string { return e.err.Error() }

type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = readErr{err}
	}
	return n, err
}

// source is the content of one BODY[...] or BINARY[...] item: an
// in-memory prefix, then a byte range of the message, decoded or not; of
// that, size bytes from skip on.
type source struct {
	prefix   []byte
	off, n   int64  // range of the raw message
	decode   string // "", "base64" or "quoted-printable"
	measured bool   // total is known
	total    int64  // decoded length of prefix + range
	skip     int64
	size     int64 // what is sent
}

func rangeSource(off, end, msgSize int64) *source {
	off = min(max(off, 0), msgSize)
	end = min(max(end, off), msgSize)
	return &source{off: off, n: end - off, measured: true, total: end - off, size: end - off}
}

func memSource(b []byte) *source {
	return &source{prefix: b, measured: true, total: int64(len(b)), size: int64(len(b))}
}

// partial applies <offset.count>.
func (src *source) partial(p *imap.SectionPartial) *source {
	src.skip, src.size = 0, src.total
	if p == nil {
		return src
	}
	src.skip = min(max(p.Offset, 0), src.total)
	src.size = src.total - src.skip
	if p.Size >= 0 && p.Size < src.size {
		src.size = p.Size
	}
	return src
}

// measure works out the decoded length (one decoding pass).
func (src *source) measure(openBlob func() (*mailstore.BlobReader, error)) error {
	if src.measured {
		return nil
	}
	br, err := openBlob()
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, src.reader(br))
	if err != nil {
		var re readErr
		if errors.As(err, &re) && errors.Is(re.err, mailstore.ErrNotFound) {
			return errGone
		}
		return fmt.Errorf("imapserve: decode: %w", err)
	}
	src.total = int64(len(src.prefix)) + n
	src.measured = true
	src.size = src.total
	return nil
}

func (src *source) reader(br *mailstore.BlobReader) io.Reader {
	var body io.Reader = errReader{io.NewSectionReader(br, src.off, src.n)}
	switch src.decode {
	case "base64":
		body = newBase64Decoder(body)
	case "quoted-printable":
		body = newQPDecoder(body)
	}
	return body
}

func (src *source) copyTo(w io.Writer, br *mailstore.BlobReader) error {
	var r io.Reader = bytes.NewReader(src.prefix)
	if src.n > 0 {
		r = io.MultiReader(r, src.reader(br))
	}
	if src.skip > 0 {
		if _, err := io.CopyN(io.Discard, r, src.skip); err != nil {
			return readErr{err}
		}
	}
	n, err := io.CopyN(w, r, src.size)
	if err == io.EOF && n < src.size {
		return readErr{fmt.Errorf("section ended after %d of %d bytes", n, src.size)}
	}
	return err
}

// findPart returns the part a section number names (RFC 3501 section
// 6.4.5), or nil. A message (the top level, or one a message/rfc822 part
// holds) that is not multipart has a part 1, its body; no other
// non-multipart part has parts: BODY[1.1] of a text message is empty, as
// in Dovecot. (structure.Part.Section would give the body again.)
func findPart(root *structure.Part, path []int) *structure.Part {
	cur, msgRoot := root, true
	for i, n := range path {
		switch {
		case cur.Type == "multipart":
			if n < 1 || n > len(cur.Children) {
				return nil
			}
			cur = cur.Children[n-1]
		case msgRoot && n == 1:
			// the message's own body
		default:
			return nil
		}
		msgRoot = false
		if i < len(path)-1 && cur.Message != nil {
			cur, msgRoot = cur.Message, true
		}
	}
	return cur
}

var errBadSection = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Invalid BODY[..] section"}

// checkSections refuses, before anything is sent, sections RFC 3501's
// grammar does not have and go-imap's parser lets through: MIME needs a
// part number.
func checkSections(options *imap.FetchOptions) error {
	for _, bs := range options.BodySection {
		if bs.Specifier == imap.PartSpecifierMIME && len(bs.Part) == 0 {
			return errBadSection
		}
	}
	return nil
}

// bodySource finds a BODY[section]: byte ranges of the stored message from
// the offsets its structure records (package structure documents them).
func bodySource(sec *imap.FetchItemBodySection, m *mailstore.MessageInfo, st *structure.Message, openBlob func() (*mailstore.BlobReader, error)) (*source, error) {
	size := m.Size
	if len(sec.Part) == 0 && sec.Specifier == imap.PartSpecifierNone {
		return rangeSource(0, size, size), nil
	}
	part := st.Root
	if len(sec.Part) > 0 {
		if part = findPart(st.Root, sec.Part); part == nil {
			return memSource(nil), nil
		}
	}
	// HEADER and TEXT of a part are those of the message a message/rfc822
	// part holds.
	msg := st.Root
	if len(sec.Part) > 0 {
		msg = part.Message
	}
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		return rangeSource(part.BodyStart, part.End, size), nil
	case imap.PartSpecifierMIME:
		if len(sec.Part) == 0 {
			return memSource(nil), nil
		}
		return rangeSource(part.HeaderStart, part.BodyStart, size), nil
	case imap.PartSpecifierText:
		if msg == nil {
			return memSource(nil), nil
		}
		return rangeSource(msg.BodyStart, msg.End, size), nil
	case imap.PartSpecifierHeader:
		if msg == nil {
			return memSource(nil), nil
		}
		hdr := rangeSource(msg.HeaderStart, msg.BodyStart, size)
		if len(sec.HeaderFields) == 0 && len(sec.HeaderFieldsNot) == 0 {
			return hdr, nil
		}
		br, err := openBlob()
		if err != nil {
			return nil, err
		}
		raw := make([]byte, hdr.n)
		if _, err := br.ReadAt(raw, hdr.off); err != nil && err != io.EOF {
			if errors.Is(err, mailstore.ErrNotFound) {
				return nil, errGone
			}
			return nil, fmt.Errorf("imapserve: read header: %w", err)
		}
		return memSource(filterHeader(raw, sec.HeaderFields, sec.HeaderFieldsNot)), nil
	}
	return memSource(nil), nil
}

var errUnknownCTE = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE, Text: "Unknown Content-Transfer-Encoding"}

// binarySource finds a BINARY[section]: the part's body with its
// Content-Transfer-Encoding undone (RFC 3516). BINARY[] is the message
// with its body decoded if it is a single part. Multiparts and
// message/rfc822 parts are sent as they are.
func binarySource(path []int, m *mailstore.MessageInfo, st *structure.Message, openBlob func() (*mailstore.BlobReader, error)) (*source, error) {
	size := m.Size
	part := st.Root
	if len(path) > 0 {
		if part = findPart(st.Root, path); part == nil {
			return memSource(nil), nil
		}
	}
	if part.Type == "multipart" || part.Message != nil {
		if len(path) == 0 {
			return rangeSource(0, size, size), nil
		}
		return rangeSource(part.BodyStart, part.End, size), nil
	}
	dec, ok := decoding(part.Encoding)
	if !ok {
		return nil, errUnknownCTE
	}
	body := rangeSource(part.BodyStart, part.End, size)
	if len(path) == 0 {
		if dec == "" {
			return rangeSource(0, size, size), nil
		}
		br, err := openBlob()
		if err != nil {
			return nil, err
		}
		hdr := rangeSource(0, part.BodyStart, size)
		body.prefix = make([]byte, hdr.n)
		if _, err := br.ReadAt(body.prefix, 0); err != nil && err != io.EOF {
			if errors.Is(err, mailstore.ErrNotFound) {
				return nil, errGone
			}
			return nil, fmt.Errorf("imapserve: read header: %w", err)
		}
	}
	if dec != "" {
		body.decode, body.measured = dec, false
	}
	return body, nil
}
