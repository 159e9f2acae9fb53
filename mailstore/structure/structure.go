package structure

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Message is a parsed message: its envelope and its MIME tree.
type Message struct {
	Envelope Envelope
	Root     *Part // the top-level entity; Root.HeaderStart == 0, Root.End == total size
}

// Part is one MIME entity. Offsets are into the raw message (see the package
// doc); the other fields are what BODYSTRUCTURE reports.
type Part struct {
	// Header is raw[HeaderStart:BodyStart], including the blank separator
	// line; the body is raw[BodyStart:End].
	HeaderStart, BodyStart, End int64

	Type, Subtype string            // lowercased; default text/plain
	Params        map[string]string // lowercased keys, decoded values (RFC 2231, RFC 2047); nil if none

	// Content-ID, Content-Description, Content-Transfer-Encoding, raw and
	// trimmed; Encoding is "7BIT" when absent.
	ID, Description, Encoding string

	Lines int64 // body line count, for text/* and message/rfc822 (0 otherwise)

	MD5               string            // Content-MD5, raw
	Disposition       string            // Content-Disposition value, lowercased; "" if absent
	DispositionParams map[string]string // nil if none
	Language          []string          // Content-Language tags; nil if absent
	Location          string            // Content-Location, raw

	Children []*Part   // multipart/*: the body parts in order (possibly none)
	Envelope *Envelope // message/rfc822 and message/global: the embedded message's envelope
	Message  *Part     // message/rfc822 and message/global: the embedded message's root part
}

// Envelope is the IMAP ENVELOPE of a message (RFC 3501 section 7.4.2).
type Envelope struct {
	Date    time.Time // parsed Date; zero if absent or unparseable
	DateRaw string    // the Date field, unfolded and trimmed
	Subject string    // raw unfolded value; encoded-words are not decoded

	// Address lists; Sender and ReplyTo are From when absent. Groups are
	// flattened into their members.
	From, Sender, ReplyTo, To, Cc, Bcc []Address

	InReplyTo, MessageID string // raw values, unfolded and trimmed
}

// Address is one mailbox of an address list. Name is raw (encoded-words
// kept). An address that cannot be parsed keeps its raw text as Mailbox and
// an empty Host; so does a bare local part such as "root".
type Address struct {
	Name, Mailbox, Host string
	// Group marks the start of an RFC 5322 group (Mailbox is the group's
	// name) or its end, as IMAP's ENVELOPE lists groups; NotGroup for an
	// address.
	Group GroupMark
}

// GroupMark says whether an Address is a group's start or end.
type GroupMark uint8

const (
	NotGroup GroupMark = iota
	GroupStart
	GroupEnd
)

const (
	// maxDepth bounds the nesting of entities; deeper multipart or message
	// parts are opaque.
	maxDepth = 100
	// maxParts bounds the number of parts in one message. The rest of a
	// multipart that would exceed it is left in that multipart's body, not
	// split into parts.
	maxParts = 10000
	// maxBoundary bounds a multipart's boundary (RFC 2046 allows 70
	// characters); a multipart with a longer one is text/plain.
	maxBoundary = 1000
	// maxField bounds how much of one header field is kept (the rest of the
	// field is read and dropped).
	maxField = 128 << 10
)

// Parse reads the whole message from r. It never fails on malformed input; it
// returns an error only if r itself fails.
func Parse(r io.Reader) (*Message, error) {
	return parse(r, bufSize)
}

// readers keeps read buffers between calls of Parse: most messages are small,
// and a fresh 64 KiB buffer each time would be most of what Parse allocates.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}

// parse is Parse with a read buffer of size bytes; tests make it small.
func parse(r io.Reader, size int) (*Message, error) {
	var br *bufio.Reader
	if size == bufSize {
		br = readers.Get().(*bufio.Reader)
		br.Reset(r)
		defer func() {
			br.Reset(nil)
			readers.Put(br)
		}()
	} else {
		br = bufio.NewReaderSize(r, size)
	}
	p := &parser{r: br}
	m, ok := p.parseMessage()
	if p.err != nil {
		return nil, p.err
	}
	if !ok {
		// A bug of ours met some input: keep the message as one opaque
		// part rather than fail its delivery.
		n := p.drain()
		if p.err != nil {
			return nil, p.err
		}
		m = &Message{Root: &Part{
			End:      n,
			Type:     "application",
			Subtype:  "octet-stream",
			Encoding: "7BIT",
		}}
	}
	return m, nil
}

// Section returns the part with the given IMAP part number (RFC 3501 section
// 6.4.5), p being the top-level entity of a message: []int{1, 2} is part 1.2.
// A non-multipart entity's part 1 is itself, and the parts of a
// message/rfc822 part are those of the message it holds. An empty path is p.
// Section returns nil if there is no such part.
func (p *Part) Section(path []int) *Part {
	cur, ctx := p, p // ctx: the entity whose parts the next number picks from
	for _, n := range path {
		if ctx.Type == "multipart" {
			if n < 1 || n > len(ctx.Children) {
				return nil
			}
			cur = ctx.Children[n-1]
		} else {
			if n != 1 {
				return nil
			}
			cur = ctx
		}
		ctx = cur
		if cur.Message != nil {
			ctx = cur.Message
		}
	}
	return cur
}
