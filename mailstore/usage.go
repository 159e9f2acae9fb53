package mailstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Usage is what an account holds: every message of every mailbox, a
// message copied into two mailboxes counting twice (as IMAP QUOTA does).
type Usage struct {
	Bytes    int64
	Messages int
	Newest   time.Time // the latest internal date (arrival); zero if none
}

// usageCache keeps each account's Usage between the changes that alter
// it. A change only drops the entry: the next Usage call counts again,
// which is simple and exact (an INBOX rename, say, moves messages without
// changing the total). gen guards against storing a count that a commit
// overtook while it was being made.
type usageCache struct {
	mu  sync.Mutex
	gen map[string]uint64
	val map[string]Usage
}

func (u *usageCache) invalidate(changes []Change) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, ch := range changes {
		switch ch.Kind {
		case MessagesAdded, MessagesExpunged, MailboxDeleted, MailboxRenamed, MailboxCreated:
			if u.gen == nil {
				u.gen = map[string]uint64{}
			}
			u.gen[ch.Account]++
			delete(u.val, ch.Account)
		}
	}
}

// Usage returns what an account holds. It counts once after each change
// to the account (reading every message record, not bodies) and answers
// from memory until the next one.
func (s *Store) Usage(account string) (Usage, error) {
	u := &s.usage
	u.mu.Lock()
	if v, ok := u.val[account]; ok {
		u.mu.Unlock()
		return v, nil
	}
	gen := u.gen[account]
	u.mu.Unlock()

	var v Usage
	err := s.view(func(tx *bolt.Tx) error {
		return forEachMessage(tx, account, func(_ string, _ uint32, rec msgRecord) error {
			v.Bytes += rec.Size
			v.Messages++
			if rec.Date.After(v.Newest) {
				v.Newest = rec.Date
			}
			return nil
		})
	})
	if err != nil {
		return Usage{}, fmt.Errorf("mailstore: usage of %s: %w", account, err)
	}
	u.mu.Lock()
	if u.gen[account] == gen {
		if u.val == nil {
			u.val = map[string]Usage{}
		}
		u.val[account] = v
	}
	u.mu.Unlock()
	return v, nil
}

// forEachMessage calls fn for every message of every mailbox of an
// account (none if the account has never been used).
func forEachMessage(tx *bolt.Tx, account string, fn func(mailbox string, uid uint32, rec msgRecord) error) error {
	acct := tx.Bucket(bucketAccounts).Bucket([]byte(account))
	if acct == nil {
		return nil
	}
	return acct.Bucket(bucketMailboxes).ForEachBucket(func(name []byte) error {
		msgs := acct.Bucket(bucketMailboxes).Bucket(name).Bucket(bucketMsgs)
		if msgs == nil {
			return nil
		}
		return msgs.ForEach(func(k, v []byte) error {
			rec, err := decodeMsgRecord(v)
			if err != nil {
				return fmt.Errorf("%s uid %d: %w", name, getU32(k), err)
			}
			return fn(string(name), getU32(k), rec)
		})
	})
}

// ExpungeOlder removes up to limit messages of an account, in any
// mailbox, whose internal date is before cutoff, in one transaction, and
// returns how many went. Sessions with a mailbox selected are told (IMAP
// EXPUNGE). Retention calls it in small batches so that no transaction
// holds the store for long.
func (s *Store) ExpungeOlder(ctx context.Context, account string, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	// Find the candidates in a read transaction; the expunge below skips
	// any that went in between.
	old := map[string][]uint32{}
	n := 0
	errLimit := errors.New("limit reached")
	err := s.view(func(tx *bolt.Tx) error {
		return forEachMessage(tx, account, func(mailbox string, uid uint32, rec msgRecord) error {
			if rec.Date.Before(cutoff) {
				old[mailbox] = append(old[mailbox], uid)
				if n++; n >= limit {
					return errLimit
				}
			}
			return nil
		})
	})
	if err != nil && err != errLimit {
		return 0, fmt.Errorf("mailstore: expunge older: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	res, err := s.update(ctx, 0, func(c *commitCtx) error {
		total := 0
		for mailbox, uids := range old {
			gone, err := expungeTx(c, account, mailbox, uids)
			if err != nil {
				return err
			}
			total += len(gone)
		}
		c.result = total
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mailstore: expunge older in %s: %w", account, err)
	}
	return res.(int), nil
}
