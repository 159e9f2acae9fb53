package mailstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/maildock/maildock/internal/fsync"
)

// SchemaVersion is the schema this code reads and writes.
const SchemaVersion = 1

// ChunkSize is the size of the pieces message bodies are stored in.
const ChunkSize = 64 << 10

var (
	bucketMeta     = []byte("meta")
	bucketAccounts = []byte("accounts")
	bucketBlobs    = []byte("blobs")
	bucketChunks   = []byte("chunks")
	bucketStructs  = []byte("structs")

	bucketMailboxes = []byte("mailboxes")
	bucketMsgs      = []byte("msgs")
	keyInfo         = []byte("info")

	keySchema      = []byte("schema")
	keyUIDValidity = []byte("uidvalidity")
	keyModSeq      = []byte("modseq")
)

// migrations[v] upgrades a store from version v-1 to v. Version 1 is the
// first schema, made by init; later versions add their function here.
var migrations = map[uint32]func(tx *bolt.Tx) error{}

// Errors callers can test for with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrMailboxExists = errors.New("mailbox already exists")
	ErrTooLarge      = errors.New("message too large")
	ErrLocked        = errors.New("store is in use by another process")
	ErrClosed        = errors.New("store closed")
	ErrInvalidName   = errors.New("invalid mailbox name")
)

// Options configure a Store.
type Options struct {
	// Path of the bbolt file; its directory is made if missing.
	Path string
	// LockTimeout bounds the wait for the file lock another process holds.
	// Default 2s.
	LockTimeout time.Duration
	// MaxBatchBytes caps the message bytes one group commit carries. Default 64 MiB.
	MaxBatchBytes int64
	Logger        *slog.Logger
}

// Store is an open mail store. Its methods are safe for concurrent use.
type Store struct {
	db  *bolt.DB
	log *slog.Logger
	opt Options

	reqs    chan *writeReq
	stop    chan struct{}
	stopped chan struct{}

	closeMu sync.RWMutex
	closed  bool

	notify notifier
	stats  commitStats
	usage  usageCache
	pins   pins
}

// Open opens or creates the store at opts.Path. If another process holds it,
// Open fails with ErrLocked after opts.LockTimeout.
func Open(opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("mailstore: open: %w", err)
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The freelist is rebuilt at open instead of written at every
		// commit: fewer pages per commit, at the price of a scan at start.
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 256 << 20,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("mailstore: open %s: %w (is another maildock running on this data directory?)", opts.Path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: open %s: %w", opts.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initSchema(tx); err != nil {
			return err
		}
		return sweepZombies(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mailstore: open %s: %w", opts.Path, err)
	}
	// bbolt fsyncs the file, not the directory entry of a file it just
	// made: without this, a power loss soon after the first start could
	// lose the whole file, committed messages and all.
	if err := fsync.Dir(filepath.Dir(opts.Path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("mailstore: open %s: %w", opts.Path, err)
	}
	s := &Store{
		db:      db,
		log:     opts.Logger,
		opt:     opts,
		reqs:    make(chan *writeReq, 1024),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	s.notify.init()
	go s.committer()
	return s, nil
}

func initSchema(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketAccounts, bucketBlobs, bucketChunks, bucketStructs} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(keySchema)
	if v == nil {
		return meta.Put(keySchema, u32(SchemaVersion))
	}
	have := getU32(v)
	if have > SchemaVersion {
		return fmt.Errorf("schema version %d was written by a newer maildock (this one knows %d)", have, SchemaVersion)
	}
	for next := have + 1; next <= SchemaVersion; next++ {
		m, ok := migrations[next]
		if !ok {
			return fmt.Errorf("no migration to schema version %d", next)
		}
		if err := m(tx); err != nil {
			return fmt.Errorf("migration to schema version %d: %w", next, err)
		}
	}
	return meta.Put(keySchema, u32(SchemaVersion))
}

// Ping proves the store can commit: it writes and fsyncs a small record.
// For health checks.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.update(ctx, 0, func(c *commitCtx) error {
		return c.tx.Bucket(bucketMeta).Put([]byte("ping"), u64(uint64(time.Now().Unix())))
	})
	if err != nil {
		return fmt.Errorf("mailstore: ping: %w", err)
	}
	return nil
}

// Close waits for pending writes, then closes the file.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	<-s.stopped
	s.notify.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("mailstore: close: %w", err)
	}
	return nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.db.Path() }

// Size is the size of the store file in bytes (0 if it cannot be read).
func (s *Store) Size() int64 {
	var n int64
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n
}

// view runs a short read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

var errCheckRollback = errors.New("mailstore: check: rolled back")

// Check runs bbolt's consistency check and this package's own invariants,
// returning every problem found. bbolt's check reads the shared freelist,
// which is safe only with no commit running alongside (bbolt's Tx.Check):
// on a writable store it runs as a write of its own, so writers wait for
// it.
func (s *Store) Check(ctx context.Context) []error {
	var errs []error
	check := func(tx *bolt.Tx) error {
		errs = errs[:0] // a group commit may run a write twice
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		errs = append(errs, checkInvariants(ctx, tx)...)
		return nil
	}
	var err error
	if s.db.IsReadOnly() {
		err = s.view(check)
	} else {
		// Rolled back, not committed: checking writes nothing.
		_, err = s.update(ctx, 0, func(c *commitCtx) error {
			check(c.tx)
			return errCheckRollback
		})
		if errors.Is(err, errCheckRollback) {
			err = nil
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}
