package mailstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// commitCtx carries what one write function did inside a transaction, so
// that it can be thrown away when the transaction is retried.
type commitCtx struct {
	tx      *bolt.Tx
	pins    *pins
	reaped  []uint64 // blobs deleted: not to be opened until the commit ends
	modseq  uint64   // the modification sequence of this transaction, see nextModSeq
	changes []Change
	result  any
}

func (c *commitCtx) change(ch Change) { c.changes = append(c.changes, ch) }

// nextModSeq returns the modification sequence of the current transaction,
// taking one from meta on first use.
func (c *commitCtx) nextModSeq() uint64 {
	if c.modseq == 0 {
		meta := c.tx.Bucket(bucketMeta)
		c.modseq = getU64(meta.Get(keyModSeq)) + 1
		// Only fails for a read-only transaction or an over-long key.
		_ = meta.Put(keyModSeq, u64(c.modseq))
	}
	return c.modseq
}

type writeFunc func(c *commitCtx) error

type writeReq struct {
	fn    writeFunc
	bytes int64 // message bytes this write carries, for batch sizing
	res   commitCtx
	err   error
	done  chan struct{}
}

// commitStats counts group commits for metrics and benchmarks.
type commitStats struct {
	commits atomic.Int64
	writes  atomic.Int64
}

// CommitStats reports how many transactions were committed and how many
// writes they carried: writes/commits is the average group size.
func (s *Store) CommitStats() (commits, writes int64) {
	return s.stats.commits.Load(), s.stats.writes.Load()
}

// update runs fn in a write transaction shared with other concurrent
// writers, and returns once that transaction is committed and fsynced.
func (s *Store) update(ctx context.Context, bytes int64, fn writeFunc) (any, error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	req := &writeReq{fn: fn, bytes: bytes, done: make(chan struct{})}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued, the write happens or fails on its own: the caller must
	// learn which, so it does not give up on ctx here.
	<-req.done
	return req.res.result, req.err
}

// committer is the single goroutine that writes. While one transaction
// commits, new requests queue up and go together into the next one: the
// group grows with the load, and a lone writer never waits for company.
func (s *Store) committer() {
	defer close(s.stopped)
	for {
		var first *writeReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Close holds closeMu, so nothing more can be queued: drain.
			for {
				select {
				case r := <-s.reqs:
					s.run([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch := []*writeReq{first}
		size := first.bytes
	fill:
		for size < s.opt.MaxBatchBytes {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				size += r.bytes
			default:
				break fill
			}
		}
		s.run(batch)
	}
}

// errMember marks which member of a batch failed.
type errMember struct {
	i   int
	err error
}

func (e *errMember) Error() string { return e.err.Error() }

// run commits a batch. If one member fails, the transaction is rolled back,
// that member is run alone (to get its own error), and the others are
// committed without it: nothing is lost and nothing is stored twice, because
// a rolled-back transaction left nothing behind.
func (s *Store) run(batch []*writeReq) {
	for len(batch) > 0 {
		var changes []Change
		var reaped []uint64
		err := s.db.Update(func(tx *bolt.Tx) error {
			var modseq uint64
			changes = changes[:0]
			for i, r := range batch {
				r.res = commitCtx{tx: tx, pins: &s.pins, modseq: modseq}
				err := safeCall(r.fn, &r.res)
				reaped = append(reaped, r.res.reaped...)
				if err != nil {
					return &errMember{i: i, err: err}
				}
				modseq = r.res.modseq
				changes = append(changes, r.res.changes...)
			}
			return nil
		})
		s.pins.done(reaped)
		var em *errMember
		if errors.As(err, &em) && len(batch) > 1 {
			failed := batch[em.i]
			batch = append(batch[:em.i:em.i], batch[em.i+1:]...)
			s.run([]*writeReq{failed})
			continue
		}
		if err != nil {
			if em != nil {
				err = em.err
			} else {
				err = fmt.Errorf("mailstore: commit: %w", err)
				s.log.Error("mailstore: commit failed", "err", err, "writes", len(batch))
			}
		} else {
			s.stats.commits.Add(1)
			s.stats.writes.Add(int64(len(batch)))
			s.usage.invalidate(changes)
			s.notify.publish(changes)
		}
		for _, r := range batch {
			r.err = err
			if err != nil {
				r.res.result = nil
			}
			close(r.done)
		}
		return
	}
}

// safeCall turns a panic in a write function into an error for its caller,
// so one bad write cannot take the committer, and every other writer, down.
func safeCall(fn writeFunc, c *commitCtx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("mailstore: internal error: %v", v)
		}
	}()
	return fn(c)
}
