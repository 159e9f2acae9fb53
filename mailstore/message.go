package mailstore

import (
	"bytes"
	"fmt"
	"io"

	"github.com/maildock/maildock/mailstore/structure"
)

// Message is a message read into memory and parsed, ready for Deliver. Its
// bytes are held in ChunkSize pieces, never as one large slice, so a 50 MiB
// message costs 50 MiB and no reallocation copies, and the pieces go into bbolt
// as they are.
type Message struct {
	chunks   [][]byte
	size     int64
	crlfSize int64
	parsed   *structure.Message
	encoded  []byte
}

// ReadMessage reads a whole message from r and parses its MIME structure.
// If maxSize > 0 and r holds more, it returns ErrTooLarge after reading
// maxSize+1 bytes (the caller drains r if its protocol needs that).
// Malformed MIME is never an error: it gets a best-effort structure.
func ReadMessage(r io.Reader, maxSize int64) (*Message, error) {
	m := &Message{}
	var prev byte
	for {
		buf := make([]byte, ChunkSize)
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			buf = buf[:n]
			m.chunks = append(m.chunks, buf)
			m.size += int64(n)
			m.crlfSize += int64(n) + bareLFs(buf, prev)
			prev = buf[n-1]
			if maxSize > 0 && m.size > maxSize {
				return nil, ErrTooLarge
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("mailstore: read message: %w", err)
		}
	}
	parsed, err := structure.Parse(m.Reader())
	if err != nil {
		return nil, fmt.Errorf("mailstore: parse message: %w", err)
	}
	enc, err := parsed.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("mailstore: encode structure: %w", err)
	}
	m.parsed, m.encoded = parsed, enc
	return m, nil
}

// bareLFs counts the LFs in b not preceded by CR; prev is the byte before b.
func bareLFs(b []byte, prev byte) int64 {
	var n int64
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return n
		}
		i += j
		before := prev
		if i > 0 {
			before = b[i-1]
		}
		if before != '\r' {
			n++
		}
		i++
	}
}

// Size is the message's length in bytes.
func (m *Message) Size() int64 { return m.size }

// CRLFSize is the length with every bare LF counted as CRLF, which is what
// POP3 reports and sends.
func (m *Message) CRLFSize() int64 { return m.crlfSize }

// Structure is the parsed MIME structure and envelope.
func (m *Message) Structure() *structure.Message { return m.parsed }

// Reader reads the message's bytes from the start.
func (m *Message) Reader() io.Reader {
	rs := make([]io.Reader, len(m.chunks))
	for i, c := range m.chunks {
		rs[i] = bytes.NewReader(c)
	}
	return io.MultiReader(rs...)
}
