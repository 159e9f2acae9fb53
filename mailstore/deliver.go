package mailstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Target is one mailbox a message is delivered to.
type Target struct {
	Account string
	Mailbox string    // "" means INBOX, which is made on first use; others must exist
	Flags   []string  // initial flags (IMAP APPEND)
	Date    time.Time // internal date; zero means now

	// Pickup queues the message for the account's drop folder in the same
	// transaction, so a delivery that succeeded is sure to get its file.
	Pickup bool
	// PickupOnly (with Pickup) files the message in no mailbox: the drop
	// folder is the only place it goes (pickup keep = false).
	PickupOnly bool
	// The SMTP envelope, recorded for the drop folder (the iis format
	// writes it as x-sender and x-receiver lines).
	EnvFrom string
	EnvTo   []string
}

// Delivered says where a message was stored. For a PickupOnly target,
// Mailbox is "" and UID 0.
type Delivered struct {
	Account     string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	Blob        uint64
}

// Deliver stores m once and files it into every target, all in one
// transaction: either every target has it or none does. It returns only once
// the transaction is committed and fsynced. Targets naming the same account
// and mailbox twice get one copy.
func (s *Store) Deliver(ctx context.Context, m *Message, targets []Target) ([]Delivered, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("mailstore: deliver: no targets")
	}
	targets = uniqueTargets(targets)
	for i := range targets {
		name, err := CanonicalMailbox(targets[i].Mailbox)
		if err != nil {
			return nil, fmt.Errorf("mailstore: deliver to %q: %w", targets[i].Mailbox, err)
		}
		targets[i].Mailbox = name
		if targets[i].Account == "" {
			return nil, fmt.Errorf("mailstore: deliver: empty account")
		}
	}
	now := time.Now().Truncate(time.Second)
	res, err := s.update(ctx, m.size, func(c *commitCtx) error {
		out := make([]Delivered, 0, len(targets))
		refs := 0
		for _, t := range targets {
			if !t.Pickup || !t.PickupOnly {
				refs++
			}
			if t.Pickup {
				refs++
			}
		}
		blob, err := putBlob(c.tx, m, uint32(refs))
		if err != nil {
			return err
		}
		for _, t := range targets {
			date := t.Date
			if date.IsZero() {
				date = now
			}
			d := Delivered{Account: t.Account, Blob: blob}
			if !t.Pickup || !t.PickupOnly {
				rec := msgRecord{Blob: blob, Date: date, Size: m.size, CRLFSize: m.crlfSize, Flags: normalizeFlags(t.Flags)}
				if d, err = fileMessage(c, t.Account, t.Mailbox, rec); err != nil {
					return err
				}
			}
			if t.Pickup {
				item := PickupItem{Account: t.Account, Blob: blob, Date: date, Size: m.size, From: t.EnvFrom, To: t.EnvTo, Mailbox: d.Mailbox, UID: d.UID}
				if err := queuePickup(c, item); err != nil {
					return err
				}
			}
			out = append(out, d)
		}
		c.result = out
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: deliver: %w", err)
	}
	return res.([]Delivered), nil
}

func uniqueTargets(ts []Target) []Target {
	out := make([]Target, 0, len(ts))
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		mb := t.Mailbox
		if mb == "" || strings.EqualFold(mb, "INBOX") {
			mb = "INBOX"
		}
		k := t.Account + "\x00" + mb
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// putBlob writes a message body, its chunks and its structure, with refs
// references.
func putBlob(tx *bolt.Tx, m *Message, refs uint32) (uint64, error) {
	blobs := tx.Bucket(bucketBlobs)
	id, err := blobs.NextSequence()
	if err != nil {
		return 0, err
	}
	chunks := tx.Bucket(bucketChunks)
	// Keys only ever grow, so full pages cost nothing later and save space.
	chunks.FillPercent = 1.0
	blobs.FillPercent = 1.0
	for i, c := range m.chunks {
		if err := chunks.Put(chunkKey(id, uint32(i)), c); err != nil {
			return 0, err
		}
	}
	structs := tx.Bucket(bucketStructs)
	structs.FillPercent = 1.0
	if err := structs.Put(u64(id), m.encoded); err != nil {
		return 0, err
	}
	rec := blobRecord{Size: m.size, CRLFSize: m.crlfSize, Chunks: uint32(len(m.chunks)), Refs: refs}
	if err := blobs.Put(u64(id), rec.encode()); err != nil {
		return 0, err
	}
	return id, nil
}

// fileMessage gives rec the next UID of a mailbox. INBOX is made if missing.
func fileMessage(c *commitCtx, account, mailbox string, rec msgRecord) (Delivered, error) {
	mb, info, err := openMailbox(c.tx, account, mailbox, mailbox == "INBOX")
	if err != nil {
		return Delivered{}, err
	}
	if info.UIDNext == 0 || info.UIDNext == ^uint32(0) {
		return Delivered{}, fmt.Errorf("mailbox %q has run out of UIDs", mailbox)
	}
	uid := info.UIDNext
	info.UIDNext++
	rec.ModSeq = c.nextModSeq()
	msgs := mb.Bucket(bucketMsgs)
	msgs.FillPercent = 1.0
	if err := msgs.Put(u32(uid), rec.encode()); err != nil {
		return Delivered{}, err
	}
	if err := mb.Put(keyInfo, info.encode()); err != nil {
		return Delivered{}, err
	}
	c.change(Change{Kind: MessagesAdded, Account: account, Mailbox: mailbox, UIDs: []uint32{uid}})
	return Delivered{Account: account, Mailbox: mailbox, UIDValidity: info.UIDValidity, UID: uid, Blob: rec.Blob}, nil
}
