// Package structure parses a raw RFC 5322 / MIME message once, at delivery,
// into what an IMAP server needs to answer ENVELOPE, BODYSTRUCTURE and
// BODY[section] without looking at the message again.
//
// # Why parse once
//
// A message is immutable once delivered, but clients ask for its structure
// over and over: every FETCH of ENVELOPE or BODYSTRUCTURE, every BODY[1.2].
// Re-parsing a 50 MiB message from its stored chunks for each of those would
// cost far more than keeping a few hundred bytes of structure beside it. So
// the store runs Parse while it takes the message in, keeps the result with
// MarshalBinary, and the IMAP server serves sections as byte ranges of the
// stored message.
//
// # Offsets
//
// Every Part carries three byte offsets into the raw message, exactly as it
// was received (no CRLF conversion):
//
//	raw[HeaderStart:BodyStart]  the part's header, INCLUDING the blank line that
//	                            ends it: BODY[HEADER] and BODY[n.MIME]
//	raw[BodyStart:End]          the part's body: BODY[n] and BODY[TEXT]
//
// The root part starts at 0 and ends at the message's size. Children lie
// inside their parent's body, in order, without overlapping. Following RFC
// 2046 section 5.1.1, the line break before a boundary delimiter line belongs
// to the delimiter, so a body part ends before it: in
//
//	"--b\r\n\r\nhello\r\n--b--"
//
// the part's body is "hello". A header that is not ended by a blank line (the
// message or part stops, or a boundary interrupts it) runs to that point and
// the body is empty. An unterminated multipart's last child runs to the end of
// the data. Lines count the body's lines as transmitted; a last line without a
// line break counts.
//
// # Broken input
//
// Parse never fails on the message itself: what cannot be understood is kept
// as a best-effort structure. It reads its input once, line by line, keeping
// only the header fields it interprets (at most maxField bytes each, the
// first of each name), so memory stays small for any message size. It accepts
// CRLF, bare LF and mixtures; 8-bit header bytes are kept as they are.
//
// A delimiter line is "--" and the boundary, "--" more for the close
// delimiter, then only white space. The delimiter of any enclosing multipart
// also ends the parts inside, so a multipart that never closes ends where its
// parent goes on, or at the end of the data. A multipart without a boundary
// parameter (or with one longer than maxBoundary) is treated as text/plain,
// as Dovecot does. A multipart or message part nested maxDepth deep is
// reported as application/octet-stream and not split. After maxParts parts
// no more are made: the rest of a multipart stays in its body, unsplit.
//
// A message/rfc822 (or message/global) part is parsed as a message whatever
// Content-Transfer-Encoding it claims; in the rare base64 one that gives an
// empty envelope and a text/plain body, which is still a valid structure.
//
// Content-Type and Content-Disposition parameters are parsed as go-message
// does it (mime.ParseMediaType, then RFC 2047 decoding of the values, but not
// of the boundary); when that fails on malformed input, or for RFC 2231
// values in charsets other than UTF-8 and US-ASCII, which it drops, a lenient
// parser of our own takes over. Charsets are converted by charsetReader (see
// there for go-message's charset package). Header values in the Envelope and
// Part (Subject, display names, Content-Description, ...) are kept raw,
// encoded-words and 8-bit bytes included, as IMAP wants them.
package structure
