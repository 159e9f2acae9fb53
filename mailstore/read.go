package mailstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/maildock/maildock/mailstore/structure"
)

// BlobReader reads a stored message body. Each chunk is copied out in its own
// short read transaction, so a slow network peer never holds a transaction
// open (which would stop bbolt from reusing pages). A message expunged while
// its body is open still reads to the end: the body is kept until Close
// (see pins). Close every BlobReader.
type BlobReader struct {
	s      *Store
	id     uint64
	size   int64
	chunks uint32
	off    int64

	cur    []byte // the chunk at index curIdx
	curIdx int64
	pinned bool // counted in s.pins until Close
}

// OpenBlob opens a message body for reading. The first chunk is read in
// the same transaction as the blob's record, so a message of up to
// ChunkSize bytes (most mail) reads whole even if it is expunged, and its
// blob freed, right after OpenBlob returns.
func (s *Store) OpenBlob(id uint64) (*BlobReader, error) {
	r := &BlobReader{s: s, id: id, curIdx: -1}
	// Pinned before the first read: a commit dropping the last reference
	// after this keeps the body until Close (see pins).
	if !s.pins.pin(id) {
		return nil, fmt.Errorf("mailstore: open blob %d: %w", id, ErrNotFound)
	}
	r.pinned = true
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBlobs).Get(u64(id))
		if v == nil {
			return ErrNotFound
		}
		rec, err := decodeBlobRecord(v)
		if err != nil {
			return err
		}
		r.size, r.chunks = rec.Size, rec.Chunks
		if r.size == 0 {
			return nil
		}
		return r.fill(tx, 0)
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("mailstore: open blob %d: %w", id, err)
	}
	return r, nil
}

// Size is the body's length in bytes.
func (r *BlobReader) Size() int64 { return r.size }

// Read implements io.Reader.
func (r *BlobReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *BlobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("mailstore: seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("mailstore: seek: negative position")
	}
	r.off = offset
	return offset, nil
}

// ReadAt implements io.ReaderAt.
func (r *BlobReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mailstore: read: negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		idx := off / ChunkSize
		if idx != r.curIdx {
			if err := r.load(idx); err != nil {
				return n, err
			}
		}
		c := copy(p[n:], r.cur[off-idx*ChunkSize:])
		n += c
		off += int64(c)
	}
	return n, nil
}

func (r *BlobReader) load(idx int64) error {
	err := r.s.view(func(tx *bolt.Tx) error { return r.fill(tx, idx) })
	if err != nil {
		return fmt.Errorf("mailstore: read blob %d chunk %d: %w", r.id, idx, err)
	}
	return nil
}

// fill copies chunk idx out of tx into r.cur.
func (r *BlobReader) fill(tx *bolt.Tx, idx int64) error {
	r.curIdx = -1
	if r.cur == nil {
		r.cur = make([]byte, 0, ChunkSize)
	}
	v := tx.Bucket(bucketChunks).Get(chunkKey(r.id, uint32(idx)))
	if v == nil {
		return ErrNotFound
	}
	r.cur = append(r.cur[:0], v...)
	want := int64(ChunkSize)
	if rest := r.size - idx*ChunkSize; rest < want {
		want = rest
	}
	if int64(len(r.cur)) != want {
		return fmt.Errorf("chunk %d: %d bytes, want %d: %w", idx, len(r.cur), want, errCorrupt)
	}
	r.curIdx = idx
	return nil
}

// Close releases the reader. A body expunged while it was open is deleted
// at the last Close.
func (r *BlobReader) Close() error {
	r.cur = nil
	r.curIdx = -1
	if r.pinned {
		r.pinned = false
		if r.s.pins.unpin(r.id) {
			go r.s.reapZombie(r.id)
		}
	}
	return nil
}

// ReadBlob returns a whole body. Prefer OpenBlob for large messages.
func (s *Store) ReadBlob(id uint64) ([]byte, error) {
	r, err := s.OpenBlob(id)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// Structure returns the MIME structure parsed at delivery.
func (s *Store) Structure(id uint64) (*structure.Message, error) {
	var raw []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStructs).Get(u64(id))
		if v == nil {
			return ErrNotFound
		}
		raw = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: structure of blob %d: %w", id, err)
	}
	m := new(structure.Message)
	if err := m.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("mailstore: structure of blob %d: %w", id, err)
	}
	return m, nil
}

// checkInvariants verifies what bbolt cannot: every message refers to a
// blob, reference counts match, every blob has all its chunks and a
// structure, UIDs are below UIDNEXT.
func checkInvariants(ctx context.Context, tx *bolt.Tx) []error {
	var errs []error
	refs := map[uint64]uint32{}
	accts := tx.Bucket(bucketAccounts)
	_ = accts.ForEachBucket(func(acct []byte) error {
		mbs := accts.Bucket(acct).Bucket(bucketMailboxes)
		if mbs == nil {
			errs = append(errs, fmt.Errorf("account %s: no mailboxes bucket", acct))
			return nil
		}
		return mbs.ForEachBucket(func(name []byte) error {
			mb := mbs.Bucket(name)
			info, err := decodeMailboxInfo(mb.Get(keyInfo))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: info: %w", acct, name, err))
				return nil
			}
			msgs := mb.Bucket(bucketMsgs)
			if msgs == nil {
				errs = append(errs, fmt.Errorf("%s/%s: no msgs bucket", acct, name))
				return nil
			}
			return msgs.ForEach(func(k, v []byte) error {
				uid := getU32(k)
				rec, err := decodeMsgRecord(v)
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("%s/%s uid %d: %w", acct, name, uid, err))
				case uid == 0 || uid >= info.UIDNext:
					errs = append(errs, fmt.Errorf("%s/%s: uid %d not below UIDNEXT %d", acct, name, uid, info.UIDNext))
				default:
					refs[rec.Blob]++
				}
				return ctx.Err()
			})
		})
	})
	errs = append(errs, pickupRefs(tx, refs)...)
	blobs, chunks, structs := tx.Bucket(bucketBlobs), tx.Bucket(bucketChunks), tx.Bucket(bucketStructs)
	_ = blobs.ForEach(func(k, v []byte) error {
		id := getU64(k)
		rec, err := decodeBlobRecord(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("blob %d: %w", id, err))
			return nil
		}
		if refs[id] != rec.Refs {
			errs = append(errs, fmt.Errorf("blob %d: %d references recorded, %d found", id, rec.Refs, refs[id]))
		}
		delete(refs, id)
		var total int64
		for i := uint32(0); i < rec.Chunks; i++ {
			c := chunks.Get(chunkKey(id, i))
			if c == nil {
				errs = append(errs, fmt.Errorf("blob %d: chunk %d missing", id, i))
			}
			total += int64(len(c))
		}
		if total != rec.Size {
			errs = append(errs, fmt.Errorf("blob %d: chunks hold %d bytes, want %d", id, total, rec.Size))
		}
		if structs.Get(k) == nil {
			errs = append(errs, fmt.Errorf("blob %d: structure missing", id))
		}
		return ctx.Err()
	})
	for id := range refs {
		errs = append(errs, fmt.Errorf("blob %d: referenced but missing", id))
	}
	return errs
}
