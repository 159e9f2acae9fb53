package mailstore

import (
	"context"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// pins keeps a body that a reader has open from being deleted under it.
// A BlobReader reads a large body chunk by chunk in separate transactions;
// if another session expunges the message meanwhile (IMAP FETCH against
// EXPUNGE, or POP3 RETR against an IMAP client's expunge), the last
// reference goes while the reader still needs the chunks. The blob then
// stays, with no references (a "zombie"), until its last reader closes,
// and is deleted then. A zombie left by a crash is deleted at Open.
type pins struct {
	mu      sync.Mutex
	open    map[uint64]int  // BlobReaders open, per blob
	zombies map[uint64]bool // no references left; delete at the last Close
	reaping map[uint64]bool // deleted by a commit in flight: cannot be opened
}

// pin registers a reader; false if the blob is being deleted.
func (p *pins) pin(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaping[id] {
		return false
	}
	if p.open == nil {
		p.open = map[uint64]int{}
	}
	p.open[id]++
	return true
}

// unpin ends a reader; true if the blob is a zombie nobody reads any more.
func (p *pins) unpin(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[id]--; p.open[id] > 0 {
		return false
	}
	delete(p.open, id)
	return p.zombies[id]
}

// release is called in the write transaction that drops a blob's last
// reference. true: delete it now (it cannot be opened until the commit
// ends, see done); false: it has readers and becomes a zombie.
func (p *pins) release(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[id] > 0 {
		if p.zombies == nil {
			p.zombies = map[uint64]bool{}
		}
		p.zombies[id] = true
		return false
	}
	if p.reaping == nil {
		p.reaping = map[uint64]bool{}
	}
	p.reaping[id] = true
	delete(p.zombies, id)
	return true
}

// forget drops a blob from the zombies.
func (p *pins) forget(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.zombies, id)
}

// done ends the deletions of a commit, whether it committed or rolled
// back (then the blob is still there, with its references).
func (p *pins) done(ids []uint64) {
	if len(ids) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		delete(p.reaping, id)
	}
}

// reapZombie deletes a zombie whose last reader closed.
func (s *Store) reapZombie(id uint64) {
	_, err := s.update(context.Background(), 0, func(c *commitCtx) error {
		v := c.tx.Bucket(bucketBlobs).Get(u64(id))
		if v == nil {
			return nil
		}
		rec, err := decodeBlobRecord(v)
		if err != nil {
			return err // damaged: Check's business
		}
		if rec.Refs > 0 {
			// The expunge that made it a zombie was rolled back (a group
			// commit member failed): it is a live body again.
			c.pins.forget(id)
			return nil
		}
		if !c.pins.release(id) {
			return nil // opened again meanwhile: the next Close reaps it
		}
		c.reaped = append(c.reaped, id)
		return deleteBlob(c.tx, id, rec)
	})
	if err != nil && err != ErrClosed {
		s.log.Warn("mailstore: deleting an expunged body after its last reader", "blob", id, "err", err)
	}
}

// sweepZombies deletes bodies left without references by a crash while a
// reader had them open.
func sweepZombies(tx *bolt.Tx) error {
	blobs := tx.Bucket(bucketBlobs)
	var dead []uint64
	var recs []blobRecord
	err := blobs.ForEach(func(k, v []byte) error {
		rec, err := decodeBlobRecord(v)
		if err == nil && rec.Refs == 0 {
			dead = append(dead, getU64(k))
			recs = append(recs, rec)
		}
		return nil // a damaged record is Check's business
	})
	if err != nil {
		return err
	}
	for i, id := range dead {
		if err := deleteBlob(tx, id, recs[i]); err != nil {
			return err
		}
	}
	return nil
}
