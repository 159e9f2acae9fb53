package structure

import (
	"bytes"
	"strings"
)

// The header fields the parser keeps. The envelope's come last.
const (
	fContentType = iota
	fEncoding
	fID
	fDescription
	fMD5
	fDisposition
	fLanguage
	fLocation
	fDate // the first envelope field
	fSubject
	fFrom
	fSender
	fReplyTo
	fTo
	fCc
	fBcc
	fInReplyTo
	fMessageID
	nFields
)

var fieldIndex = map[string]int{
	"content-type":              fContentType,
	"content-transfer-encoding": fEncoding,
	"content-id":                fID,
	"content-description":       fDescription,
	"content-md5":               fMD5,
	"content-disposition":       fDisposition,
	"content-language":          fLanguage,
	"content-location":          fLocation,
	"date":                      fDate,
	"subject":                   fSubject,
	"from":                      fFrom,
	"sender":                    fSender,
	"reply-to":                  fReplyTo,
	"to":                        fTo,
	"cc":                        fCc,
	"bcc":                       fBcc,
	"in-reply-to":               fInReplyTo,
	"message-id":                fMessageID,
}

// header collects the first occurrence of each field the parser uses,
// unfolded (RFC 5322 section 2.2.3: line breaks removed, white space kept)
// and cut at maxField bytes. Everything else in the header is dropped as it
// is read.
type header struct {
	v     [nFields][]byte
	seen  [nFields]bool
	limit int // fields at or past this index are not kept
	cur   int // the field that continuation lines extend, or -1
}

func (h *header) init(isMessage bool) {
	h.limit, h.cur = fDate, -1
	if isMessage {
		h.limit = nFields
	}
}

// line takes one header line, without its line break.
func (h *header) line(b []byte) {
	if b[0] == ' ' || b[0] == '\t' {
		if h.cur >= 0 {
			h.v[h.cur] = appendMax(h.v[h.cur], b)
		}
		return
	}
	h.cur = -1
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		// Not a header field: RFC 5322 has no place for it. Skip it,
		// as Dovecot does.
		return
	}
	name := bytes.Trim(b[:i], " \t")
	if len(name) == 0 || len(name) > len("content-transfer-encoding") {
		return
	}
	var lower [32]byte
	for j, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[j] = c
	}
	f, ok := fieldIndex[string(lower[:len(name)])]
	if !ok || f >= h.limit || h.seen[f] {
		return
	}
	h.seen[f], h.cur = true, f
	h.v[f] = appendMax(make([]byte, 0, min(len(b)-i, 256)), b[i+1:])
}

func appendMax(v, b []byte) []byte {
	return append(v, b[:min(len(b), maxField-len(v))]...)
}

// value is field f, trimmed; "" if absent.
func (h *header) value(f int) string {
	return string(bytes.Trim(h.v[f], " \t\r\n"))
}

type kind int

const (
	kindLeaf kind = iota
	kindMultipart
	kindMessage
)

// interpret fills in part's content fields from h and says how to parse its
// body: as a leaf, as a multipart with delimiter bound, or as a message.
func (p *parser) interpret(part *Part, h *header, depth int, digest bool) (k kind, bound []byte) {
	defer func() {
		if recover() != nil {
			// A bug of ours: fall back to the defaults.
			*part = Part{HeaderStart: part.HeaderStart, BodyStart: part.BodyStart, End: part.End,
				Type: "text", Subtype: "plain", Encoding: "7BIT"}
			k, bound = kindLeaf, nil
		}
	}()

	if ct := h.value(fContentType); ct == "" {
		// RFC 2045 section 5.2, RFC 2046 section 5.1.5.
		if digest {
			part.Type, part.Subtype = "message", "rfc822"
		} else {
			part.Type, part.Subtype = "text", "plain"
			part.Params = map[string]string{"charset": "us-ascii"}
		}
	} else {
		mt, params := parseParams(ct)
		part.Params = params
		var ok bool
		part.Type, part.Subtype, ok = strings.Cut(mt, "/")
		if !ok || !isToken(part.Type) || !isToken(part.Subtype) {
			// An invalid Content-Type is text/plain (RFC 2045
			// section 5.2); keep what parameters it had.
			part.Type, part.Subtype = "text", "plain"
			if _, ok := params["charset"]; !ok {
				if part.Params == nil {
					part.Params = make(map[string]string)
				}
				part.Params["charset"] = "us-ascii"
			}
		}
	}

	part.Encoding = h.value(fEncoding)
	if part.Encoding == "" {
		part.Encoding = "7BIT"
	}
	part.ID = h.value(fID)
	part.Description = h.value(fDescription)
	part.MD5 = h.value(fMD5)
	part.Location = h.value(fLocation)
	if d := h.value(fDisposition); d != "" {
		part.Disposition, part.DispositionParams = parseParams(d)
	}
	if l := h.value(fLanguage); l != "" {
		for _, tag := range strings.Split(l, ",") {
			if tag = strings.Trim(tag, " \t"); tag != "" {
				part.Language = append(part.Language, tag)
			}
		}
	}

	switch {
	case part.Type == "multipart":
		b := strings.TrimRight(part.Params["boundary"], " \t")
		if b == "" || len(b) > maxBoundary {
			// No boundary: nothing to split on. Dovecot shows
			// such a part as text/plain; so do we. (A boundary
			// longer than maxBoundary is no use either, and would
			// make every line that starts like it costly.)
			part.Type, part.Subtype = "text", "plain"
			return kindLeaf, nil
		}
		k, bound = kindMultipart, []byte("--"+b)
	case part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global"):
		k = kindMessage
	default:
		return kindLeaf, nil
	}
	if depth >= maxDepth || p.parts >= maxParts {
		part.Type, part.Subtype = "application", "octet-stream"
		return kindLeaf, nil
	}
	return k, bound
}

// isToken reports whether s is a non-empty RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// envelope builds the envelope from a message's header.
func (h *header) envelope() (env *Envelope) {
	defer func() {
		if recover() != nil {
			// A bug of ours: keep the raw fields, drop the parsed ones.
			env = &Envelope{DateRaw: h.value(fDate), Subject: h.value(fSubject),
				InReplyTo: h.value(fInReplyTo), MessageID: h.value(fMessageID)}
		}
	}()
	env = &Envelope{
		DateRaw:   h.value(fDate),
		Subject:   h.value(fSubject),
		From:      parseAddressList(h.value(fFrom)),
		Sender:    parseAddressList(h.value(fSender)),
		ReplyTo:   parseAddressList(h.value(fReplyTo)),
		To:        parseAddressList(h.value(fTo)),
		Cc:        parseAddressList(h.value(fCc)),
		Bcc:       parseAddressList(h.value(fBcc)),
		InReplyTo: h.value(fInReplyTo),
		MessageID: h.value(fMessageID),
	}
	env.Date = parseDate(env.DateRaw)
	// RFC 3501 section 7.4.2: absent Sender and Reply-To are From.
	if len(env.Sender) == 0 {
		env.Sender = env.From
	}
	if len(env.ReplyTo) == 0 {
		env.ReplyTo = env.From
	}
	return env
}
