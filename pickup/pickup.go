package pickup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// Folder is one account's drop folder ([account.pickup] in the config).
type Folder struct {
	Account     string
	Dir         string      // absolute, or relative to the working directory at New/SetFolders
	Format      string      // "eml" (default) | "maildir" | "iis"
	LineEndings string      // "crlf" (default) | "lf"
	FileMode    os.FileMode // permission bits of the files; 0 means 0640
}

// Options configure a Writer.
type Options struct {
	Store   *mailstore.Store
	Folders []Folder
	Logger  *slog.Logger
	// Backoff after a failure: the first retry after RetryMin, doubling up
	// to RetryMax. Defaults 1s and 5m.
	RetryMin, RetryMax time.Duration
}

// batchSize bounds the items one batch writes before their renames, the
// directory syncs and the one store commit that marks them done. (A
// variable only so that the crash test can vary it.)
var batchSize = 256

// Writer writes the drop-folder queue of the store into the folders.
type Writer struct {
	store    *mailstore.Store
	log      *slog.Logger
	retryMin time.Duration
	retryMax time.Duration
	host     string // host part of Maildir names

	reload sync.Mutex // serialises SetFolders and Run's start and end

	mu           sync.Mutex
	folders      map[string]Folder // by account
	workers      map[string]*worker
	runCtx       context.Context // nil unless Run is running
	unconfigured map[string]bool // accounts with queued items and no folder (logged once)
}

// New checks the folders and returns a Writer; nothing is written before
// Run.
func New(opts Options) (*Writer, error) {
	if opts.Store == nil {
		return nil, errors.New("pickup: no store")
	}
	folders, err := normalizeAll(opts.Folders)
	if err != nil {
		return nil, err
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = opts.RetryMin
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Writer{
		store:        opts.Store,
		log:          opts.Logger,
		retryMin:     opts.RetryMin,
		retryMax:     opts.RetryMax,
		host:         maildirHost(host),
		folders:      folders,
		workers:      make(map[string]*worker),
		unconfigured: make(map[string]bool),
	}, nil
}

// Run writes until ctx is done. Each folder gets its own goroutine, so one
// broken folder never holds up another: it recovers what a crash left
// (finishing the renames its journal announced, removing temporary
// leftovers), drains the backlog in arrival order, then waits for the
// store's notifications. Run returns nil when ctx is done, an error if the
// store closes under it.
func (w *Writer) Run(ctx context.Context) error {
	// Subscribe before the first drain, so nothing queued in between is
	// missed.
	sub := w.store.Subscribe()
	defer sub.Close()

	w.reload.Lock()
	w.mu.Lock()
	if w.runCtx != nil {
		w.mu.Unlock()
		w.reload.Unlock()
		return errors.New("pickup: Run is already running")
	}
	w.runCtx = ctx
	for _, f := range w.sortedFoldersLocked() {
		w.startLocked(ctx, f)
	}
	w.mu.Unlock()
	w.reload.Unlock()

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case _, ok := <-sub.C():
			if !ok {
				err = fmt.Errorf("pickup: %w", mailstore.ErrClosed)
				break loop
			}
			changes, resync := sub.Changes()
			w.dispatch(changes, resync)
		}
	}

	w.reload.Lock()
	w.mu.Lock()
	stopping := w.workers
	w.workers = make(map[string]*worker)
	w.runCtx = nil
	w.mu.Unlock()
	for _, wk := range stopping {
		wk.stop()
	}
	w.reload.Unlock()
	return err
}

// dispatch pokes the workers whose accounts have new work.
func (w *Writer) dispatch(changes []mailstore.Change, resync bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if resync {
		for _, wk := range w.workers {
			wk.wake()
		}
		return
	}
	for _, c := range changes {
		if c.Kind != mailstore.PickupQueued {
			continue
		}
		if wk, ok := w.workers[c.Account]; ok {
			wk.wake()
			continue
		}
		if !w.unconfigured[c.Account] {
			w.unconfigured[c.Account] = true
			w.log.Warn("pickup: messages are queued for a drop folder, but the account has none configured; they stay queued until one is", "account", c.Account)
		}
	}
}

// Backlog returns the number of queued items per account: every account
// with a folder, and every account seen queuing items without one.
func (w *Writer) Backlog() map[string]int {
	w.mu.Lock()
	accts := make([]string, 0, len(w.folders)+len(w.unconfigured))
	for a := range w.folders {
		accts = append(accts, a)
	}
	for a := range w.unconfigured {
		if _, ok := w.folders[a]; !ok {
			accts = append(accts, a)
		}
	}
	w.mu.Unlock()
	out := make(map[string]int, len(accts))
	for _, a := range accts {
		if n, err := w.store.PickupBacklog(a); err == nil {
			out[a] = n
		}
	}
	return out
}

// SetFolders replaces the configured folders (config reload). An invalid
// list changes nothing and returns the problems. While Run runs, the
// workers of removed or changed folders finish their current batch and
// stop, then the new ones start and drain; an unchanged folder's worker
// carries on undisturbed.
func (w *Writer) SetFolders(fs []Folder) error {
	folders, err := normalizeAll(fs)
	if err != nil {
		return err
	}
	w.reload.Lock()
	defer w.reload.Unlock()

	w.mu.Lock()
	w.folders = folders
	for a := range folders {
		delete(w.unconfigured, a)
	}
	var stopping []*worker
	for a, wk := range w.workers {
		if f, ok := folders[a]; !ok || f != wk.f {
			stopping = append(stopping, wk)
			delete(w.workers, a)
		}
	}
	w.mu.Unlock()

	for _, wk := range stopping {
		wk.stop()
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runCtx == nil {
		return nil
	}
	for _, f := range w.sortedFoldersLocked() {
		if _, ok := w.workers[f.Account]; !ok {
			w.startLocked(w.runCtx, f)
		}
	}
	return nil
}

func (w *Writer) sortedFoldersLocked() []Folder {
	fs := make([]Folder, 0, len(w.folders))
	for _, f := range w.folders {
		fs = append(fs, f)
	}
	slices.SortFunc(fs, func(a, b Folder) int {
		if a.Account < b.Account {
			return -1
		}
		if a.Account > b.Account {
			return 1
		}
		return 0
	})
	return fs
}

func (w *Writer) startLocked(ctx context.Context, f Folder) {
	ctx, cancel := context.WithCancel(ctx)
	wk := &worker{
		w:      w,
		f:      f,
		lay:    layoutOf(f),
		log:    w.log.With("account", f.Account, "dir", f.Dir, "format", f.Format),
		poke:   make(chan struct{}, 1),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	w.workers[f.Account] = wk
	go func() {
		defer close(wk.done)
		wk.run(ctx)
	}()
}
