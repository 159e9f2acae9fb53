package mailstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// This file holds what the IMAP server needs beyond the general API: reads
// of a few messages by UID in one transaction, and an EXPUNGE that checks
// \Deleted inside the transaction that removes the messages.

// MessagesByUID returns the messages of a mailbox with the given UIDs, in
// UID order, read in one transaction. UIDs that are not in the mailbox are
// left out. A missing INBOX is empty; other missing mailboxes are
// ErrNotFound.
func (s *Store) MessagesByUID(account, mailbox string, uids []uint32) ([]MessageInfo, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: messages by uid: %w", err)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	uids = sortedUIDs(uids)
	out := make([]MessageInfo, 0, len(uids))
	err = s.view(func(tx *bolt.Tx) error {
		mb, _, err := openMailbox(tx, account, mailbox, false)
		if err != nil {
			return err
		}
		msgs := mb.Bucket(bucketMsgs)
		for _, uid := range uids {
			v := msgs.Get(u32(uid))
			if v == nil {
				continue
			}
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("uid %d: %w", uid, err)
			}
			out = append(out, infoFromRecord(uid, rec))
		}
		return nil
	})
	if err == ErrNotFound && mailbox == "INBOX" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: messages of %s/%s: %w", account, mailbox, err)
	}
	return out, nil
}

// ExpungeDeleted removes, among the given UIDs, the messages that carry
// \Deleted when the transaction runs, and returns their UIDs in increasing
// order (IMAP EXPUNGE, UID EXPUNGE and CLOSE). Deciding inside the write
// transaction means a message whose \Deleted another session has just
// cleared is kept.
func (s *Store) ExpungeDeleted(ctx context.Context, account, mailbox string, uids []uint32) ([]uint32, error) {
	mailbox, err := CanonicalMailbox(mailbox)
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge: %w", err)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		mb, _, err := openMailbox(c.tx, account, mailbox, false)
		if err == ErrNotFound {
			c.result = []uint32(nil)
			return nil
		}
		if err != nil {
			return err
		}
		msgs := mb.Bucket(bucketMsgs)
		var deleted []uint32
		for _, uid := range sortedUIDs(uids) {
			v := msgs.Get(u32(uid))
			if v == nil {
				continue
			}
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("uid %d: %w", uid, err)
			}
			info := infoFromRecord(uid, rec)
			if info.HasFlag(FlagDeleted) {
				deleted = append(deleted, uid)
			}
		}
		gone, err := expungeTx(c, account, mailbox, deleted)
		c.result = gone
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mailstore: expunge in %s/%s: %w", account, mailbox, err)
	}
	return res.([]uint32), nil
}
