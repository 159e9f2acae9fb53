package mailstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The drop-folder queue: pickup/<account>/<seq u64> -> pickupRecord. A
// record is written in the delivery's own transaction and holds a reference
// on the blob, so the body outlives an IMAP expunge until its file is
// written. The writer deletes records (in batches) once their files are
// durable.

var bucketPickup = []byte("pickup")

// PickupItem is one message waiting for its drop-folder file.
type PickupItem struct {
	Seq     uint64 // queue position: arrival order, unique per account, never reused
	Account string
	Blob    uint64
	Date    time.Time // internal date
	Size    int64
	From    string   // SMTP envelope sender
	To      []string // SMTP envelope recipients of this account
	Mailbox string   // where it was also filed ("" with PickupOnly)
	UID     uint32
}

const pickupRecordVersion = 1

func (p *PickupItem) encode() []byte {
	b := []byte{pickupRecordVersion}
	b = binary.AppendUvarint(b, p.Blob)
	b = binary.AppendVarint(b, p.Date.UnixNano())
	b = binary.AppendUvarint(b, uint64(p.Size))
	b = appendStr(b, p.From)
	b = binary.AppendUvarint(b, uint64(len(p.To)))
	for _, t := range p.To {
		b = appendStr(b, t)
	}
	b = appendStr(b, p.Mailbox)
	b = binary.AppendUvarint(b, uint64(p.UID))
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func decodePickup(account string, seq uint64, b []byte) (PickupItem, error) {
	p := PickupItem{Seq: seq, Account: account}
	if len(b) == 0 || b[0] != pickupRecordVersion {
		return p, errCorrupt
	}
	d := decoder{b: b[1:]}
	p.Blob = d.uvarint()
	p.Date = time.Unix(0, d.varint())
	p.Size = int64(d.uvarint())
	p.From = d.str()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return p, errCorrupt
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		p.To = append(p.To, d.str())
	}
	p.Mailbox = d.str()
	p.UID = uint32(d.uvarint())
	return p, d.err
}

func queuePickup(c *commitCtx, item PickupItem) error {
	root, err := c.tx.CreateBucketIfNotExists(bucketPickup)
	if err != nil {
		return err
	}
	q, err := root.CreateBucketIfNotExists([]byte(item.Account))
	if err != nil {
		return err
	}
	seq, err := q.NextSequence()
	if err != nil {
		return err
	}
	q.FillPercent = 1.0
	if err := q.Put(u64(seq), item.encode()); err != nil {
		return err
	}
	c.change(Change{Kind: PickupQueued, Account: item.Account})
	return nil
}

// PendingPickups returns up to limit queued items of an account, oldest
// first.
func (s *Store) PendingPickups(account string, limit int) ([]PickupItem, error) {
	var out []PickupItem
	err := s.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketPickup)
		if root == nil || root.Bucket([]byte(account)) == nil {
			return nil
		}
		cur := root.Bucket([]byte(account)).Cursor()
		for k, v := cur.First(); k != nil && len(out) < limit; k, v = cur.Next() {
			item, err := decodePickup(account, getU64(k), v)
			if err != nil {
				return fmt.Errorf("item %d: %w", getU64(k), err)
			}
			out = append(out, item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: pending pickups of %s: %w", account, err)
	}
	return out, nil
}

// PickupBacklog counts an account's queued items.
func (s *Store) PickupBacklog(account string) (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		if root := tx.Bucket(bucketPickup); root != nil {
			if q := root.Bucket([]byte(account)); q != nil {
				n = q.Stats().KeyN
			}
		}
		return nil
	})
	return n, err
}

// DonePickups removes items whose files are durably written, all in one
// transaction, and releases their hold on the bodies. Unknown sequence
// numbers are ignored, so a retry after a crash is harmless.
func (s *Store) DonePickups(ctx context.Context, account string, seqs []uint64) error {
	_, err := s.update(ctx, 0, func(c *commitCtx) error {
		root := c.tx.Bucket(bucketPickup)
		if root == nil || root.Bucket([]byte(account)) == nil {
			return nil
		}
		q := root.Bucket([]byte(account))
		for _, seq := range seqs {
			v := q.Get(u64(seq))
			if v == nil {
				continue
			}
			item, err := decodePickup(account, seq, v)
			if err != nil {
				return fmt.Errorf("item %d: %w", seq, err)
			}
			if err := q.Delete(u64(seq)); err != nil {
				return err
			}
			if err := unrefBlob(c, item.Blob); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mailstore: pickups done for %s: %w", account, err)
	}
	return nil
}

// pickupRefs counts the queue's references per blob, for checkInvariants.
func pickupRefs(tx *bolt.Tx, refs map[uint64]uint32) []error {
	var errs []error
	root := tx.Bucket(bucketPickup)
	if root == nil {
		return nil
	}
	_ = root.ForEachBucket(func(acct []byte) error {
		return root.Bucket(acct).ForEach(func(k, v []byte) error {
			item, err := decodePickup(string(acct), getU64(k), v)
			if err != nil {
				errs = append(errs, fmt.Errorf("pickup %s/%d: %w", acct, getU64(k), err))
				return nil
			}
			refs[item.Blob]++
			return nil
		})
	})
	return errs
}
