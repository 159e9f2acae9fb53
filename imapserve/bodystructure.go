package imapserve

import (
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/mailstore/structure"
)

// ENVELOPE and BODYSTRUCTURE come from the structure the store parsed at
// delivery, never from re-parsing the message: go-imap's extractor panics
// on an unterminated multipart and re-reads the whole message each time.

// Dovecot's fillers for address parts a broken address lacks. An address
// with no host would otherwise be read as the start of a group
// (RFC 3501 section 7.4.2).
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)

func envelope(e *structure.Envelope) *imap.Envelope {
	if e == nil {
		return &imap.Envelope{}
	}
	return &imap.Envelope{
		Date:      e.Date,
		Subject:   toUTF8(e.Subject),
		From:      addresses(e.From),
		Sender:    addresses(e.Sender),
		ReplyTo:   addresses(e.ReplyTo),
		To:        addresses(e.To),
		Cc:        addresses(e.Cc),
		Bcc:       addresses(e.Bcc),
		InReplyTo: msgIDs(e.InReplyTo),
		MessageID: strings.TrimSuffix(strings.TrimPrefix(firstMsgID(e.MessageID), "<"), ">"),
	}
}

func addresses(l []structure.Address) []imap.Address {
	if len(l) == 0 {
		return nil
	}
	out := make([]imap.Address, len(l))
	for i, a := range l {
		// A group is (NIL NIL "name" NIL), its members, (NIL NIL NIL NIL)
		// (RFC 3501 section 7.4.2).
		switch a.Group {
		case structure.GroupStart:
			out[i] = imap.Address{Mailbox: a.Mailbox}
			continue
		case structure.GroupEnd:
			out[i] = imap.Address{}
			continue
		}
		// go-imap sends names as UTF-8 encoded-words when they are not
		// ASCII: raw 8-bit that is not UTF-8 is read as Latin-1 first.
		out[i] = imap.Address{Name: toUTF8(a.Name), Mailbox: a.Mailbox, Host: a.Host}
		if out[i].Mailbox == "" {
			out[i].Mailbox = missingMailbox
		}
		if out[i].Host == "" {
			out[i].Host = missingDomain
		}
	}
	return out
}

// msgIDs returns the "<...>" message ids of an In-Reply-To field, without
// their brackets (go-imap adds them back).
func msgIDs(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return out
		}
		if id := s[i+1 : i+j]; id != "" {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
}

// firstMsgID is the first "<...>" of a Message-ID field, or the field.
func firstMsgID(s string) string {
	if ids := msgIDs(s); len(ids) > 0 {
		return ids[0]
	}
	return strings.TrimSpace(s)
}

// bodyStructure converts a part for BODY and BODYSTRUCTURE (always the
// extended form; go-imap writes the short one for BODY).
func bodyStructure(p *structure.Part) imap.BodyStructure {
	if p.Type == "multipart" {
		mp := &imap.BodyStructureMultiPart{
			Subtype: p.Subtype,
			Extended: &imap.BodyStructureMultiPartExt{
				Params:      p.Params,
				Disposition: disposition(p),
				Language:    p.Language,
				Location:    p.Location,
			},
		}
		for _, c := range p.Children {
			mp.Children = append(mp.Children, bodyStructure(c))
		}
		if len(mp.Children) == 0 {
			// A multipart needs a part; Dovecot shows an empty text/plain.
			mp.Children = []imap.BodyStructure{&imap.BodyStructureSinglePart{
				Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
				Encoding: "7bit", Text: &imap.BodyStructureText{}, Extended: &imap.BodyStructureSinglePartExt{},
			}}
		}
		return mp
	}
	params := p.Params
	if p.Type == "text" && len(params) == 0 {
		// As Dovecot does: a text part says its (default) charset.
		params = map[string]string{"charset": "us-ascii"}
	}
	sp := &imap.BodyStructureSinglePart{
		Type:        p.Type,
		Subtype:     p.Subtype,
		Params:      params,
		ID:          p.ID,
		Description: p.Description,
		Encoding:    p.Encoding,
		Size:        uint32(max(p.End-p.BodyStart, 0)),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disposition(p),
			Language:    p.Language,
			Location:    p.Location,
		},
	}
	switch {
	case p.Message != nil:
		sp.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      envelope(p.Envelope),
			BodyStructure: bodyStructure(p.Message),
			NumLines:      p.Lines,
		}
	case p.Type == "text":
		sp.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	return sp
}

func disposition(p *structure.Part) *imap.BodyStructureDisposition {
	if p.Disposition == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: p.Disposition, Params: p.DispositionParams}
}

// structCache keeps the last few structures a session used: clients
// often ask for BODYSTRUCTURE and then for parts of the same message.
type structCache struct {
	mu sync.Mutex
	m  map[uint64]*structure.Message
}

const structCacheSize = 64

func (c *structCache) get(store *mailstore.Store, blob uint64) (*structure.Message, error) {
	c.mu.Lock()
	st, ok := c.m[blob]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := store.Structure(blob)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= structCacheSize {
		c.m = make(map[uint64]*structure.Message, structCacheSize)
	}
	c.m[blob] = st
	c.mu.Unlock()
	return st, nil
}
