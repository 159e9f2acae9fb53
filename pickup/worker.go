package pickup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maildock/maildock/internal/fsync"
	"github.com/maildock/maildock/mailstore"
)

// worker writes one account's queue into its folder. Only its own
// goroutine touches the fields below poke.
type worker struct {
	w      *Writer
	f      Folder
	lay    layout
	log    *slog.Logger
	poke   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	// recovered is false until the journal of a previous run (or of a
	// failed batch) has been dealt with and temporary leftovers swept.
	recovered bool
	// unconfirmed holds the items whose files are durably in place but
	// whose DonePickups failed; they are confirmed before anything else
	// is written, and the journal keeps naming them until then.
	unconfirmed []uint64
	// failing is true from the first failure until a batch (or a drain
	// with nothing to write) succeeds whole: a nearly full disk that
	// takes a file or two per retry is one incident, logged once.
	failing bool
	// progress: files were written since the last failure, so the next
	// retry comes after RetryMin again instead of a longer wait.
	progress bool
}

// testHook, when set (by tests only), is called at the points of a batch
// where a crash is most interesting, so that a test can slow the writer
// down there and kill it. It must be set before Run.
var testHook func(point string)

func hook(point string) {
	if testHook != nil {
		testHook(point)
	}
}

func (wk *worker) wake() {
	select {
	case wk.poke <- struct{}{}:
	default:
	}
}

func (wk *worker) stop() {
	wk.cancel()
	<-wk.done
}

func (wk *worker) run(ctx context.Context) {
	defer func() {
		// Stopping (shutdown or reload) with files in place whose store
		// commit failed: one more try, so that a worker started next for
		// this account, perhaps with another layout, does not depend on
		// this one's journal.
		if len(wk.unconfirmed) > 0 && wk.confirm(ctx, wk.unconfirmed) == nil {
			wk.unconfirmed = nil
		}
	}()
	delay := time.Duration(0)
	for {
		err := wk.drain(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			delay = 0
			if wk.failing {
				n, _ := wk.w.store.PickupBacklog(wk.f.Account)
				wk.workingAgain(n)
			}
			select {
			case <-ctx.Done():
				return
			case <-wk.poke:
			}
			continue
		}
		if !wk.failing {
			wk.failing = true
			wk.log.Error("pickup: cannot write to the drop folder; mail stays queued and is retried with backoff", "err", err)
		} else {
			wk.log.Debug("pickup: drop folder still failing", "err", err)
		}
		if delay == 0 || wk.progress {
			delay = wk.w.retryMin
			wk.progress = false
		} else if delay *= 2; delay > wk.w.retryMax {
			delay = wk.w.retryMax
		}
		// Pokes are not waited for: new mail must not turn the backoff
		// into a busy loop against a broken folder.
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// drain writes batches until the queue is empty, ctx is done or something
// fails.
func (wk *worker) drain(ctx context.Context) error {
	if err := wk.makeDirs(); err != nil {
		return err
	}
	if !wk.recovered {
		if err := wk.recover(ctx); err != nil {
			return err
		}
		wk.recovered = true
	}
	for ctx.Err() == nil {
		if len(wk.unconfirmed) > 0 {
			if err := wk.confirm(ctx, wk.unconfirmed); err != nil {
				return err
			}
			wk.unconfirmed = nil
		}
		items, err := wk.w.store.PendingPickups(wk.f.Account, batchSize)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		if err := wk.batch(ctx, items); err != nil {
			return err
		}
	}
	return nil
}

// makeDirs makes the folder and its subdirectories if they are missing
// (every batch: the folder may have been removed while we ran).
func (wk *worker) makeDirs() error {
	for _, d := range wk.lay.dirs {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return err
		}
	}
	return nil
}

// confirm marks items done in the store (one transaction) and empties the
// journal that named them. It runs even when ctx is done: the files are in
// place, and recording that now saves the next start some work.
func (wk *worker) confirm(ctx context.Context, seqs []uint64) error {
	hook("confirm")
	if err := wk.w.store.DonePickups(context.WithoutCancel(ctx), wk.f.Account, seqs); err != nil {
		return err
	}
	if err := clearJournal(wk.journalPath()); err != nil {
		wk.log.Debug("pickup: cannot empty the journal (harmless: its items are done)", "err", err)
	}
	return nil
}

// workingAgain logs the change from failing to working, once; backlog is
// what was queued when the first batch that went through whole began.
func (wk *worker) workingAgain(backlog int) {
	wk.failing = false
	wk.log.Info(fmt.Sprintf("pickup: drop folder writable again, draining %d", backlog), "backlog", backlog)
}

func (wk *worker) journalPath() string { return filepath.Join(wk.lay.tmp, journalName) }

// batch writes items (oldest first) as one batch (the package doc has the
// reasons for each step):
//
//  1. each file into a temporary file, synced (writeAll);
//  2. the temporary directory synced, then the journal naming every
//     rename to come written and synced (commit);
//  3. the renames into place, in arrival order, and one sync of the final
//     directory (commit);
//  4. one DonePickups for the whole batch, then the journal is emptied
//     (confirm).
//
// If an item fails, the items before it still go through steps 2 to 4 and
// the error is returned; the failed item and those after it are retried
// later, in order.
func (wk *worker) batch(ctx context.Context, items []mailstore.PickupItem) error {
	backlog := 0
	if wk.failing {
		backlog, _ = wk.w.store.PickupBacklog(wk.f.Account)
	}
	results := wk.writeAll(ctx, items)
	var (
		entries  []journalEntry
		done     []uint64 // items that need no (more) writing
		writeErr error
	)
	for i, it := range items {
		r := results[i]
		if writeErr != nil || !r.tried {
			// After a failure (or a stop), the rest wait for the retry,
			// so that files keep appearing in arrival order.
			if r.tmp != "" && r.err == nil {
				os.Remove(filepath.Join(wk.lay.tmp, r.tmp))
			}
			continue
		}
		switch {
		case r.there:
			// A file already under the final name was renamed into
			// place by an earlier run that did not get to mark it done.
			done = append(done, it.Seq)
		case errors.Is(r.err, mailstore.ErrNotFound):
			// The queue holds a reference on the body, so this is
			// damage in the store; waiting will not repair it.
			wk.log.Error("pickup: message body missing from the store; its file cannot be written and the item is dropped from the queue", "seq", it.Seq, "blob", it.Blob, "err", r.err)
			done = append(done, it.Seq)
		case r.err != nil:
			writeErr = r.err
		default:
			entries = append(entries, journalEntry{Seq: it.Seq, Date: itemDate(it), Tmp: r.tmp, Final: r.final})
		}
	}
	if len(entries) > 0 {
		if err := wk.commit(entries); err != nil {
			return errors.Join(err, writeErr)
		}
	}
	for _, e := range entries {
		done = append(done, e.Seq)
	}
	if len(done) > 0 {
		if err := wk.confirm(ctx, done); err != nil {
			wk.unconfirmed = done
			return errors.Join(err, writeErr)
		}
		wk.progress = true
	}
	if writeErr == nil && wk.failing {
		wk.workingAgain(backlog)
	}
	return writeErr
}

// parallelWrites is how many temporary files a batch writes at once. Most
// of a file's cost is its fsync, and filesystems with a journal (ext4,
// XFS) commit concurrent fsyncs together, so a few in flight multiply
// the throughput; the order in which files become visible is unaffected,
// since the renames come later and in order.
const parallelWrites = 4

type writeResult struct {
	tried bool   // the item was attempted (not skipped after a stop or failure)
	there bool   // its file already exists under the final name
	tmp   string // temporary file name, once written
	final string
	err   error
}

// writeAll writes the items' temporary files, a few at a time. Once one
// fails or ctx is done, no more are started.
func (wk *worker) writeAll(ctx context.Context, items []mailstore.PickupItem) []writeResult {
	results := make([]writeResult, len(items))
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, parallelWrites)
		failed atomic.Bool
	)
	for i, it := range items {
		sem <- struct{}{}
		if ctx.Err() != nil || failed.Load() {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := wk.writeOne(it)
			if r.err != nil && !errors.Is(r.err, mailstore.ErrNotFound) {
				failed.Store(true)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}

// writeOne writes one item's temporary file, unless its final file is
// already there.
func (wk *worker) writeOne(it mailstore.PickupItem) writeResult {
	r := writeResult{tried: true}
	base := baseName(wk.f, it, wk.w.host)
	if wk.f.Format != FormatMaildir {
		r.final = base
		r.there, r.err = exists(filepath.Join(wk.lay.final, base))
		if r.there || r.err != nil {
			return r
		}
	}
	tmp := base + tmpSuffix
	size, err := wk.writeTemp(filepath.Join(wk.lay.tmp, tmp), it)
	if err != nil {
		r.err = err
		return r
	}
	if wk.f.Format == FormatMaildir {
		// The final name holds the size, known only now.
		r.final = maildirName(base, size)
		r.there, r.err = exists(filepath.Join(wk.lay.final, r.final))
		if r.there || r.err != nil {
			os.Remove(filepath.Join(wk.lay.tmp, tmp))
			return r
		}
	}
	r.tmp = tmp
	hook("written")
	return r
}

// commit makes the written temporary files visible: journal, renames,
// directory syncs. If it fails after the journal was written, the next
// attempt starts with recover, which completes the journal's renames.
func (wk *worker) commit(entries []journalEntry) error {
	// The temporary files' names must be durable before the journal
	// says "renamed if gone": recovery reads a missing temporary file as
	// one already renamed.
	err := fsync.Dir(wk.lay.tmp)
	if err == nil {
		if err = writeJournal(wk.journalPath(), entries); err != nil {
			err = fmt.Errorf("write journal: %w", err)
		}
	}
	if err != nil {
		for _, e := range entries {
			os.Remove(filepath.Join(wk.lay.tmp, e.Tmp))
		}
		return err
	}
	hook("journaled")
	for _, e := range entries {
		if err := os.Rename(filepath.Join(wk.lay.tmp, e.Tmp), filepath.Join(wk.lay.final, e.Final)); err != nil {
			wk.recovered = false
			return err
		}
		hook("renamed")
	}
	// One sync of the final directory for the whole batch makes every
	// rename durable before the store forgets the items.
	if err := fsync.Dir(wk.lay.final); err != nil {
		wk.recovered = false
		return err
	}
	hook("synced")
	return nil
}

func (wk *worker) syncDirs() error {
	if err := fsync.Dir(wk.lay.final); err != nil {
		return err
	}
	return fsync.Dir(wk.lay.tmp)
}

// writeTemp writes one item into path and syncs it, returning the file's
// size. On failure nothing is left at path.
func (wk *worker) writeTemp(path string, it mailstore.PickupItem) (int64, error) {
	body, err := wk.w.store.OpenBlob(it.Blob)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	size, err := wk.fill(f, body, it)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return size, nil
}

func (wk *worker) fill(f *os.File, body io.Reader, it mailstore.PickupItem) (int64, error) {
	// Chmod, not the create mode: the umask must not narrow it.
	if err := f.Chmod(wk.f.FileMode); err != nil {
		return 0, err
	}
	bufs := bufPool.Get().(*fileBufs)
	defer bufPool.Put(bufs)
	bw := bufs.w
	bw.Reset(f)
	defer bw.Reset(nil)
	toLF := wk.f.LineEndings == LineEndingsLF
	var head int64
	if wk.f.Format == FormatIIS {
		eol := "\r\n"
		if toLF {
			eol = "\n"
		}
		before := bw.Buffered()
		writeIISEnvelope(bw, it, eol)
		head = int64(bw.Buffered() - before)
	}
	conv := newEOLWriter(bw, toLF)
	if _, err := io.CopyBuffer(onlyWriter{conv}, body, bufs.copy); err != nil {
		return 0, err
	}
	if err := conv.Close(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return head + conv.n, nil
}

// fileBufs are the buffers of one file write, reused: a backlog of small
// messages would otherwise allocate 128 KiB per file.
type fileBufs struct {
	w    *bufio.Writer
	copy []byte
}

var bufPool = sync.Pool{New: func() any {
	return &fileBufs{w: bufio.NewWriterSize(nil, 64<<10), copy: make([]byte, 64<<10)}
}}

// onlyWriter hides ReadFrom and the like, so io.CopyBuffer uses buf.
type onlyWriter struct{ io.Writer }

// recover deals with what an interrupted batch left behind. The journal
// names renames that were announced and may have happened in part: an
// entry whose temporary file is still there is renamed now (the file is
// complete: it was synced before the journal was written); an entry whose
// temporary file is gone was renamed, and its file may already have been
// consumed by the app, so it is NOT written again. Both are then marked
// done. Entries for items no longer queued (done already, or of another
// store) are skipped. Last, every remaining temporary file is removed.
func (wk *worker) recover(ctx context.Context) error {
	jpath := wk.journalPath()
	entries, err := readJournal(jpath)
	if errors.Is(err, errBadJournal) {
		// Renames start only once the journal is synced, so a damaged
		// journal announced nothing that happened.
		wk.log.Warn("pickup: ignoring a damaged journal; its batch never reached the folder", "path", jpath)
		entries, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	if len(entries) > 0 {
		items, err := wk.w.store.PendingPickups(wk.f.Account, len(entries)+batchSize)
		if err != nil {
			return err
		}
		queued := make(map[uint64]int64, len(items))
		for _, it := range items {
			queued[it.Seq] = itemDate(it)
		}
		var done []uint64
		renamed := 0
		for _, e := range entries {
			if d, ok := queued[e.Seq]; !ok || d != e.Date {
				continue
			}
			tmp, final := filepath.Join(wk.lay.tmp, e.Tmp), filepath.Join(wk.lay.final, e.Final)
			tmpThere, err := exists(tmp)
			if err != nil {
				return err
			}
			if tmpThere {
				finalThere, err := exists(final)
				if err != nil {
					return err
				}
				if !finalThere {
					if err := os.Rename(tmp, final); err != nil {
						return err
					}
					renamed++
				}
			}
			done = append(done, e.Seq)
		}
		if err := wk.syncDirs(); err != nil {
			return err
		}
		if len(done) > 0 {
			wk.log.Info("pickup: completed a batch interrupted by a crash or error", "files", len(done), "renamed_now", renamed)
			if err := wk.w.store.DonePickups(context.WithoutCancel(ctx), wk.f.Account, done); err != nil {
				return err
			}
		}
	}
	if err := clearJournal(jpath); err != nil {
		return err
	}
	return wk.sweep()
}

// sweep removes temporary files left by an interrupted batch.
func (wk *worker) sweep() error {
	des, err := os.ReadDir(wk.lay.tmp)
	if err != nil {
		return err
	}
	n := 0
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), tmpSuffix) {
			continue
		}
		if err := os.Remove(filepath.Join(wk.lay.tmp, de.Name())); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		wk.log.Info("pickup: removed temporary files left by an interrupted run", "files", n)
		return fsync.Dir(wk.lay.tmp)
	}
	return nil
}
