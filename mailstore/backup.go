package mailstore

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenReadOnly opens an existing store file for reading only: a backup
// copy to check, or the live store for an export. It shares the file lock
// with other readers, so it fails with ErrLocked (after lockTimeout, default
// 2s) while a server has the store open, and a server cannot start while
// it is open. Every write fails.
func OpenReadOnly(path string, lockTimeout time.Duration) (*Store, error) {
	if lockTimeout <= 0 {
		lockTimeout = 2 * time.Second
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("mailstore: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("mailstore: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: open %s: %w", path, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketAccounts, bucketBlobs, bucketChunks, bucketStructs} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("no %s bucket: not a maildock store", name)
			}
		}
		if v := getU32(tx.Bucket(bucketMeta).Get(keySchema)); v != SchemaVersion {
			return fmt.Errorf("schema version %d, this maildock reads %d", v, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mailstore: open %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		log:     slog.New(slog.DiscardHandler),
		opt:     Options{Path: path, LockTimeout: lockTimeout, MaxBatchBytes: 64 << 20},
		reqs:    make(chan *writeReq, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.notify.init()
	go s.committer()
	return s, nil
}

// Backup writes a consistent copy of the whole store file to w, from one
// read transaction: writers go on meanwhile (the file grows a little, since
// bbolt cannot reuse the pages the copy still reads). The copy is a store
// file of its own. It returns the bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("mailstore: backup: %w", err)
	}
	return n, nil
}

// Summary counts what a store holds.
type Summary struct {
	Accounts  int
	Mailboxes int
	Messages  int
	Bytes     int64 // the messages' sizes, each copy counted
}

// Summary counts accounts, mailboxes, messages and their bytes in one
// read transaction.
func (s *Store) Summary() (Summary, error) {
	var sum Summary
	err := s.view(func(tx *bolt.Tx) error {
		accts := tx.Bucket(bucketAccounts)
		return accts.ForEachBucket(func(acct []byte) error {
			sum.Accounts++
			mbs := accts.Bucket(acct).Bucket(bucketMailboxes)
			if mbs == nil {
				return nil
			}
			mbs.ForEachBucket(func([]byte) error { sum.Mailboxes++; return nil })
			return forEachMessage(tx, string(acct), func(_ string, _ uint32, rec msgRecord) error {
				sum.Messages++
				sum.Bytes += rec.Size
				return nil
			})
		})
	})
	if err != nil {
		return sum, fmt.Errorf("mailstore: summary: %w", err)
	}
	return sum, nil
}

// CompactFile copies the store at src into a new file dst (which must not
// exist), leaving out the free pages: the file shrinks after many
// deletions. src must not be open elsewhere for writing; OpenReadOnly's
// lock rules apply. dst is written with bbolt's own fsyncs; the caller
// checks it and renames it into place.
func CompactFile(src, dst string, lockTimeout time.Duration) error {
	if lockTimeout <= 0 {
		lockTimeout = 2 * time.Second
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("mailstore: compact: %s exists", dst)
	}
	from, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("mailstore: compact %s: %w", src, ErrLocked)
	}
	if err != nil {
		return fmt.Errorf("mailstore: compact %s: %w", src, err)
	}
	defer from.Close()
	to, err := bolt.Open(dst, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("mailstore: compact into %s: %w", dst, err)
	}
	// 64 MiB per transaction bounds the memory a copy takes.
	if err := bolt.Compact(to, from, 64<<20); err != nil {
		to.Close()
		return fmt.Errorf("mailstore: compact %s: %w", src, err)
	}
	if err := to.Close(); err != nil {
		return fmt.Errorf("mailstore: compact into %s: %w", dst, err)
	}
	return nil
}
