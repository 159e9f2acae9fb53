package mailstore

import (
	"encoding/binary"
	"errors"
	"time"
)

var errCorrupt = errors.New("corrupt record")

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func getU32(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func chunkKey(blob uint64, n uint32) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, blob)
	binary.BigEndian.PutUint32(k[8:], n)
	return k
}

// decoder reads the varint records below without panicking on bad input.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
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
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// msgRecord is one message in one mailbox: msgs/<uid>.
type msgRecord struct {
	Blob     uint64
	Date     time.Time // internal date, second precision, with its zone offset
	Size     int64     // bytes as stored
	CRLFSize int64     // bytes with every bare LF sent as CRLF (POP3 sizes)
	ModSeq   uint64
	Flags    []string
}

const msgRecordVersion = 1

func (r *msgRecord) encode() []byte {
	b := make([]byte, 0, 48+8*len(r.Flags))
	b = append(b, msgRecordVersion)
	b = binary.AppendUvarint(b, r.Blob)
	b = binary.AppendVarint(b, r.Date.Unix())
	_, off := r.Date.Zone()
	b = binary.AppendVarint(b, int64(off))
	b = binary.AppendUvarint(b, uint64(r.Size))
	b = binary.AppendUvarint(b, uint64(r.CRLFSize))
	b = binary.AppendUvarint(b, r.ModSeq)
	b = binary.AppendUvarint(b, uint64(len(r.Flags)))
	for _, f := range r.Flags {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func decodeMsgRecord(b []byte) (msgRecord, error) {
	var r msgRecord
	if len(b) == 0 || b[0] != msgRecordVersion {
		return r, errCorrupt
	}
	d := decoder{b: b[1:]}
	r.Blob = d.uvarint()
	sec := d.varint()
	off := d.varint()
	r.Date = time.Unix(sec, 0).In(zoneFor(int(off)))
	r.Size = int64(d.uvarint())
	r.CRLFSize = int64(d.uvarint())
	r.ModSeq = d.uvarint()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return r, errCorrupt
	}
	if n > 0 {
		r.Flags = make([]string, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		r.Flags = append(r.Flags, d.str())
	}
	return r, d.err
}

func zoneFor(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", offset)
}

// blobRecord describes one stored message body: blobs/<id>.
type blobRecord struct {
	Size     int64
	CRLFSize int64
	Chunks   uint32
	Refs     uint32
}

const blobRecordVersion = 1

func (r *blobRecord) encode() []byte {
	b := []byte{blobRecordVersion}
	b = binary.AppendUvarint(b, uint64(r.Size))
	b = binary.AppendUvarint(b, uint64(r.CRLFSize))
	b = binary.AppendUvarint(b, uint64(r.Chunks))
	b = binary.AppendUvarint(b, uint64(r.Refs))
	return b
}

func decodeBlobRecord(b []byte) (blobRecord, error) {
	var r blobRecord
	if len(b) == 0 || b[0] != blobRecordVersion {
		return r, errCorrupt
	}
	d := decoder{b: b[1:]}
	r.Size = int64(d.uvarint())
	r.CRLFSize = int64(d.uvarint())
	r.Chunks = uint32(d.uvarint())
	r.Refs = uint32(d.uvarint())
	return r, d.err
}

// mailboxInfo is a mailbox's own state: mailboxes/<name>/info.
type mailboxInfo struct {
	UIDValidity uint32
	UIDNext     uint32
	Subscribed  bool
	Created     time.Time
}

const mailboxInfoVersion = 1

func (m *mailboxInfo) encode() []byte {
	b := []byte{mailboxInfoVersion}
	b = binary.AppendUvarint(b, uint64(m.UIDValidity))
	b = binary.AppendUvarint(b, uint64(m.UIDNext))
	sub := uint64(0)
	if m.Subscribed {
		sub = 1
	}
	b = binary.AppendUvarint(b, sub)
	b = binary.AppendVarint(b, m.Created.Unix())
	return b
}

func decodeMailboxInfo(b []byte) (mailboxInfo, error) {
	var m mailboxInfo
	if len(b) == 0 || b[0] != mailboxInfoVersion {
		return m, errCorrupt
	}
	d := decoder{b: b[1:]}
	m.UIDValidity = uint32(d.uvarint())
	m.UIDNext = uint32(d.uvarint())
	m.Subscribed = d.uvarint() == 1
	m.Created = time.Unix(d.varint(), 0).UTC()
	return m, d.err
}
