package mailstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketImports records the messages `maildock import` stored, per
// account, so that an import run again after an interruption stores
// nothing twice: imports/<account>/<key> -> u64 unix time of the import.
var bucketImports = []byte("imports")

// ImportKey identifies a message in an import source: where it is (an mbox
// file's path and the offset of its From line, or a Maildir file's name
// without its flags) and what it holds, for the mailbox it goes to. The
// same message read again from the same place gets the same key.
func ImportKey(mailbox, location string, raw []byte) [32]byte {
	content := sha256.Sum256(raw)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", mailbox, location)
	h.Write(content[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// ImportItem is one message to import.
type ImportItem struct {
	Key     [32]byte // see ImportKey
	Message *Message
	Mailbox string // made if missing
	Flags   []string
	Date    time.Time // internal date; zero means now
}

// Imported reports whether an import already stored the message with key.
func (s *Store) Imported(account string, key [32]byte) (bool, error) {
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketImports); b != nil {
			if a := b.Bucket([]byte(account)); a != nil {
				found = a.Get(key[:]) != nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("mailstore: imported: %w", err)
	}
	return found, nil
}

// Import stores items in account's mailboxes, in order, in one
// transaction together with their keys: after a crash either a message and
// its key are both stored or neither is. Items whose key an earlier import
// recorded are skipped. It returns how many were stored.
func (s *Store) Import(ctx context.Context, account string, items []ImportItem) (int, error) {
	if account == "" {
		return 0, fmt.Errorf("mailstore: import: empty account")
	}
	var size int64
	for i := range items {
		name, err := CanonicalMailbox(items[i].Mailbox)
		if err != nil {
			return 0, fmt.Errorf("mailstore: import into %q: %w", items[i].Mailbox, err)
		}
		items[i].Mailbox = name
		size += items[i].Message.size
	}
	now := time.Now().Truncate(time.Second)
	res, err := s.update(ctx, size, func(c *commitCtx) error {
		imports, err := c.tx.CreateBucketIfNotExists(bucketImports)
		if err != nil {
			return err
		}
		keys, err := imports.CreateBucketIfNotExists([]byte(account))
		if err != nil {
			return err
		}
		n := 0
		for _, it := range items {
			if keys.Get(it.Key[:]) != nil {
				continue
			}
			if it.Mailbox != "INBOX" {
				if _, _, err := openMailbox(c.tx, account, "INBOX", true); err != nil {
					return err
				}
				if _, _, err := openMailbox(c.tx, account, it.Mailbox, true); err != nil {
					return err
				}
			}
			blob, err := putBlob(c.tx, it.Message, 1)
			if err != nil {
				return err
			}
			date := it.Date
			if date.IsZero() {
				date = now
			}
			rec := msgRecord{Blob: blob, Date: date, Size: it.Message.size, CRLFSize: it.Message.crlfSize, Flags: normalizeFlags(it.Flags)}
			if _, err := fileMessage(c, account, it.Mailbox, rec); err != nil {
				return err
			}
			if err := keys.Put(it.Key[:], u64(uint64(now.Unix()))); err != nil {
				return err
			}
			n++
		}
		c.result = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mailstore: import: %w", err)
	}
	return res.(int), nil
}
