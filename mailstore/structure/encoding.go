package structure

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// The encoding, version 2: a version byte, then varints and strings.
//
//	message  = version(2) envelope present(uvarint 0|1) [part]
//	envelope = date str(DateRaw) str(Subject) list(From) list*(Sender) list*(ReplyTo)
//	           list(To) list(Cc) list(Bcc) str(InReplyTo) str(MessageID)
//	date     = uvarint 0 (zero time) | uvarint 1, varint unix seconds, uvarint nanoseconds, varint zone offset
//	list     = uvarint 0 (nil) | uvarint n+1, n × addr
//	addr     = uvarint 0, str(Name) str(Mailbox) str(Host) | uvarint 1, str(group name) | uvarint 2 (group end)
//	list*    = as list, or uvarint 1 for "the same as From" and n+2 for n addresses
//	part     = uvarint flags (1: Envelope, 2: Message)
//	           varint HeaderStart-base, varint BodyStart-HeaderStart, varint End-BodyStart
//	           str(Type) str(Subtype) map(Params) str(ID) str(Description) str(Encoding)
//	           varint Lines str(MD5) str(Disposition) map(DispositionParams)
//	           strs(Language) str(Location) [envelope] [part(Message)] parts(Children)
//	map      = uvarint 0 (nil) | uvarint n+1, n × (str key, str value), keys sorted
//	strs     = uvarint 0 (nil) | uvarint n+1, n × str
//	parts    = uvarint 0 (nil) | uvarint n+1, n × part
//	str      = uvarint k < 64: common[k] | uvarint 64+len, bytes
//
// base is 0 for the root, BodyStart for an embedded message's root and for
// the first child, and the previous sibling's End for the next: offsets are
// small deltas. The version byte changes whenever any of this, or common,
// does. Version 1 (still decoded) had no groups: addr was the three strs.
const encodingVersion = 2

// common are strings frequent enough in structures to be one byte. Never
// change this table without changing encodingVersion.
var common = [...]string{
	"", "text", "plain", "html", "multipart", "mixed", "alternative", "related",
	"application", "octet-stream", "image", "message", "rfc822", "7BIT", "8BIT", "base64",
	"quoted-printable", "7bit", "8bit", "BASE64", "QUOTED-PRINTABLE", "binary", "charset", "us-ascii",
	"utf-8", "UTF-8", "iso-8859-1", "boundary", "name", "filename", "attachment", "inline",
	"format", "flowed", "pdf", "jpeg", "png", "gif", "digest", "report",
	"signed", "delivery-status", "calendar", "global", "size", "creation-date", "modification-date", "windows-1252",
	"ISO-8859-1", "en-US", "delsp", "yes", "reply-type", "original", "type", "micalg",
	"protocol", "report-type", "method", "REQUEST", "rfc822-headers", "x-unknown", "Base64", "Quoted-Printable",
}

const nCommon = 64

var _ [nCommon - len(common)]struct{} // common fits below nCommon

var commonIndex = func() map[string]int {
	m := make(map[string]int, len(common))
	for i := len(common) - 1; i >= 0; i-- {
		m[common[i]] = i
	}
	return m
}()

// maxEncodedDepth bounds the nesting the encoding accepts, both ways; Parse
// never nests deeper than about maxDepth.
const maxEncodedDepth = 1000

var errCorrupt = errors.New("structure: corrupt encoding")

// MarshalBinary encodes m compactly for storage; UnmarshalBinary is its
// inverse. Times round-trip as the same instant and zone offset (which is all
// Parse gives them).
func (m *Message) MarshalBinary() ([]byte, error) {
	e := encoder{b: make([]byte, 0, 256)}
	e.b = append(e.b, encodingVersion)
	e.envelope(&m.Envelope)
	if m.Root == nil {
		e.uvarint(0)
	} else {
		e.uvarint(1)
		e.part(m.Root, 0, 0)
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded. It returns an error,
// and leaves m as it was, if b is not such an encoding.
func (m *Message) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errCorrupt
	}
	if b[0] != encodingVersion && b[0] != 1 {
		return fmt.Errorf("structure: unknown encoding version %d", b[0])
	}
	d := decoder{b: b[1:], version: b[0]}
	var out Message
	d.envelope(&out.Envelope)
	switch d.uvarint() {
	case 0:
	case 1:
		out.Root = d.part(0, 0)
	default:
		d.fail()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return d.err
	}
	*m = out
	return nil
}

type encoder struct {
	b   []byte
	err error
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	if i, ok := commonIndex[s]; ok {
		e.uvarint(uint64(i))
		return
	}
	e.uvarint(nCommon + uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strs(l []string) {
	if l == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(l)) + 1)
	for _, s := range l {
		e.str(s)
	}
}

func (e *encoder) params(m map[string]string) {
	if m == nil {
		e.uvarint(0)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.uvarint(uint64(len(keys)) + 1)
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

func (e *encoder) date(t time.Time) {
	if t.IsZero() {
		e.uvarint(0)
		return
	}
	_, off := t.Zone()
	e.uvarint(1)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	e.varint(int64(off))
}

// addrs encodes an address list; if from is not nil, a list that is the same
// as from is one byte.
func (e *encoder) addrs(l []Address, from *[]Address) {
	shift := uint64(1)
	if from != nil {
		if sameAddrs(l, *from) {
			e.uvarint(1)
			return
		}
		shift = 2
	}
	if l == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(l)) + shift)
	for _, a := range l {
		switch a.Group {
		case GroupStart:
			e.uvarint(1)
			e.str(a.Mailbox)
		case GroupEnd:
			e.uvarint(2)
		default:
			e.uvarint(0)
			e.str(a.Name)
			e.str(a.Mailbox)
			e.str(a.Host)
		}
	}
}

func sameAddrs(a, b []Address) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (e *encoder) envelope(env *Envelope) {
	e.date(env.Date)
	e.str(env.DateRaw)
	e.str(env.Subject)
	e.addrs(env.From, nil)
	e.addrs(env.Sender, &env.From)
	e.addrs(env.ReplyTo, &env.From)
	e.addrs(env.To, nil)
	e.addrs(env.Cc, nil)
	e.addrs(env.Bcc, nil)
	e.str(env.InReplyTo)
	e.str(env.MessageID)
}

func (e *encoder) part(p *Part, base int64, depth int) {
	if depth > maxEncodedDepth {
		e.err = errors.New("structure: parts nested too deep to encode")
		return
	}
	var flags uint64
	if p.Envelope != nil {
		flags |= 1
	}
	if p.Message != nil {
		flags |= 2
	}
	e.uvarint(flags)
	e.varint(p.HeaderStart - base)
	e.varint(p.BodyStart - p.HeaderStart)
	e.varint(p.End - p.BodyStart)
	e.str(p.Type)
	e.str(p.Subtype)
	e.params(p.Params)
	e.str(p.ID)
	e.str(p.Description)
	e.str(p.Encoding)
	e.varint(p.Lines)
	e.str(p.MD5)
	e.str(p.Disposition)
	e.params(p.DispositionParams)
	e.strs(p.Language)
	e.str(p.Location)
	if p.Envelope != nil {
		e.envelope(p.Envelope)
	}
	if p.Message != nil {
		e.part(p.Message, p.BodyStart, depth+1)
	}
	if p.Children == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(p.Children)) + 1)
	next := p.BodyStart
	for _, c := range p.Children {
		if c == nil {
			e.err = errors.New("structure: nil child part")
			return
		}
		e.part(c, next, depth+1)
		next = c.End
	}
}

// decoder reads the encoding; after the first problem, err is set and every
// read returns zero values.
type decoder struct {
	b       []byte
	err     error
	version byte
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list length encoded as n+shift (0 for nil). Every element
// takes at least one byte, which bounds n.
func (d *decoder) count(shift uint64) (n int, isNil bool) {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return 0, true
	}
	if v < shift || v-shift > uint64(len(d.b)) {
		d.fail()
		return 0, true
	}
	return int(v - shift), false
}

func (d *decoder) str() string {
	v := d.uvarint()
	if d.err != nil {
		return ""
	}
	if v < nCommon {
		if v >= uint64(len(common)) {
			d.fail()
			return ""
		}
		return common[v]
	}
	n := v - nCommon
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n, isNil := d.count(1)
	if isNil {
		return nil
	}
	l := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		l = append(l, d.str())
	}
	return l
}

func (d *decoder) params() map[string]string {
	n, isNil := d.count(1)
	if isNil {
		return nil
	}
	m := make(map[string]string, min(n, 64))
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.str()
	}
	if len(m) != n {
		d.fail() // duplicate keys are not an encoding of a map
	}
	return m
}

func (d *decoder) date() time.Time {
	switch d.uvarint() {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.fail()
		return time.Time{}
	}
	sec, nsec, off := d.varint(), d.uvarint(), d.varint()
	if d.err != nil || nsec >= 1e9 || off < -1<<31 || off > 1<<31 {
		d.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).In(time.FixedZone("", int(off)))
	if t.IsZero() {
		return time.Time{} // as the encoder would have written it
	}
	return t
}

func (d *decoder) addrs(from []Address, sameOK bool) []Address {
	shift := uint64(1)
	if sameOK {
		shift = 2
	}
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return nil
	}
	if sameOK && v == 1 {
		return from
	}
	if v-shift > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	n := int(v - shift)
	l := make([]Address, 0, min(n, 64))
	for i := 0; i < n && d.err == nil; i++ {
		kind := uint64(0)
		if d.version > 1 {
			kind = d.uvarint()
		}
		switch kind {
		case 0:
			l = append(l, Address{Name: d.str(), Mailbox: d.str(), Host: d.str()})
		case 1:
			l = append(l, Address{Mailbox: d.str(), Group: GroupStart})
		case 2:
			l = append(l, Address{Group: GroupEnd})
		default:
			d.fail()
		}
	}
	return l
}

func (d *decoder) envelope(env *Envelope) {
	env.Date = d.date()
	env.DateRaw = d.str()
	env.Subject = d.str()
	env.From = d.addrs(nil, false)
	env.Sender = d.addrs(env.From, true)
	env.ReplyTo = d.addrs(env.From, true)
	env.To = d.addrs(nil, false)
	env.Cc = d.addrs(nil, false)
	env.Bcc = d.addrs(nil, false)
	env.InReplyTo = d.str()
	env.MessageID = d.str()
}

func (d *decoder) part(base int64, depth int) *Part {
	if depth > maxEncodedDepth {
		d.fail()
		return nil
	}
	flags := d.uvarint()
	if flags > 3 {
		d.fail()
		return nil
	}
	p := &Part{}
	p.HeaderStart = base + d.varint()
	p.BodyStart = p.HeaderStart + d.varint()
	p.End = p.BodyStart + d.varint()
	p.Type = d.str()
	p.Subtype = d.str()
	p.Params = d.params()
	p.ID = d.str()
	p.Description = d.str()
	p.Encoding = d.str()
	p.Lines = d.varint()
	p.MD5 = d.str()
	p.Disposition = d.str()
	p.DispositionParams = d.params()
	p.Language = d.strs()
	p.Location = d.str()
	if flags&1 != 0 {
		p.Envelope = new(Envelope)
		d.envelope(p.Envelope)
	}
	if flags&2 != 0 {
		p.Message = d.part(p.BodyStart, depth+1)
	}
	n, isNil := d.count(1)
	if d.err != nil {
		return nil
	}
	if !isNil {
		p.Children = make([]*Part, 0, min(n, 64))
		next := p.BodyStart
		for i := 0; i < n && d.err == nil; i++ {
			c := d.part(next, depth+1)
			if c == nil {
				break
			}
			p.Children = append(p.Children, c)
			next = c.End
		}
	}
	if d.err != nil {
		return nil
	}
	return p
}
