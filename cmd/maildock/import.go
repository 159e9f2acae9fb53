package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/maildock/maildock/maildir"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/mbox"
)

// Import batches: messages per transaction, and bytes.
const (
	importBatch      = 100
	importBatchBytes = 16 << 20
	// importMaxMessage bounds one message of an mbox file, so that a file
	// without separators cannot take all memory.
	importMaxMessage = 256 << 20
)

func cmdImport(args []string, stdout, stderr io.Writer) error {
	fset := newFlags("import", "--config FILE --account A [--mailbox M] SRC", stderr)
	path := fset.String("config", "", "the config whose store to import into (server stopped; required)")
	account := fset.String("account", "", "the account to import into (required)")
	mailbox := fset.String("mailbox", "", "the mailbox for SRC when it is one mbox file (default INBOX)")
	pos, err := parseWithArgs(fset, args, "SRC")
	if err != nil {
		return err
	}
	if *account == "" {
		fmt.Fprintln(stderr, "maildock import: --account A is required")
		fset.Usage()
		return errUsage
	}
	cfg, err := loadConfig(fset, *path)
	if err != nil {
		return err
	}
	if !hasAccount(cfg, *account) {
		return fmt.Errorf("no account %q in %s", *account, *path)
	}
	sources, err := importSources(pos[0], *mailbox, stderr)
	if err != nil {
		return err
	}
	s, err := mailstore.Open(mailstore.Options{Path: storeFile(cfg), LockTimeout: offlineLockTimeout})
	if err != nil {
		return inUse(err)
	}
	defer s.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	im := &importer{store: s, account: *account, stderr: stderr, prog: newProgress(stderr, sources)}
	err = im.run(ctx, sources)
	im.prog.finish(im.stored, im.skipped, err == nil && ctx.Err() == nil)
	if err != nil {
		return fmt.Errorf("import stopped after %d messages: %w (run the same command again to continue)", im.stored, err)
	}
	if ctx.Err() != nil {
		return &exitError{code: 130, err: fmt.Errorf("import interrupted after %d messages: run the same command again to continue", im.stored)}
	}
	fmt.Fprintf(stdout, "imported into %s: %d messages stored, %d already there, from %d mailboxes\n", *account, im.stored, im.skipped, len(sources))
	return nil
}

// importSource is one mailbox's worth of SRC: an mbox file or a Maildir
// folder.
type importSource struct {
	mailbox string
	path    string
	key     string // its path below SRC, for the import keys
	maildir bool
	size    int64 // bytes, for the progress display
}

// importSources finds what SRC holds: a Maildir (cur/ and new/) with its
// Maildir++ folders, a directory tree of mbox files, or one mbox file.
func importSources(src, mailbox string, stderr io.Writer) ([]importSource, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	if mailbox != "" && fi.IsDir() {
		return nil, fmt.Errorf("--mailbox is for one mbox file; the mailboxes of %s come from its folders and file names", src)
	}
	if mailbox == "" {
		mailbox = "INBOX"
	}
	var out []importSource
	switch {
	case !fi.IsDir():
		out = []importSource{{mailbox: mailbox, path: src, key: filepath.Base(src), size: fi.Size()}}
	case isMaildir(src):
		ents, err := os.ReadDir(src)
		if err != nil {
			return nil, err
		}
		out = append(out, maildirSource(src, "", "INBOX"))
		for _, e := range ents {
			if mb, ok := maildir.FolderMailbox(e.Name()); ok && e.IsDir() && isMaildir(filepath.Join(src, e.Name())) {
				out = append(out, maildirSource(filepath.Join(src, e.Name()), e.Name(), mb))
			}
		}
	default:
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != src {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if !isMbox(p) {
				fmt.Fprintf(stderr, "maildock import: skipping %s: not an mbox file\n", p)
				return nil
			}
			rel, _ := filepath.Rel(src, p)
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, importSource{mailbox: mboxMailbox(rel), path: p, key: filepath.ToSlash(rel), size: fi.Size()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i := range out {
		name, err := mailstore.CanonicalMailbox(out[i].mailbox)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a valid mailbox name", out[i].path, out[i].mailbox)
		}
		out[i].mailbox = name
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no mbox file and no Maildir", src)
	}
	return out, nil
}

func isMaildir(dir string) bool {
	for _, d := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

func maildirSource(dir, key, mailbox string) importSource {
	src := importSource{mailbox: mailbox, path: dir, key: key, maildir: true}
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				src.size += fi.Size()
			}
		}
	}
	return src
}

// isMbox: an empty file (an empty mailbox) or one that starts with "From ".
func isMbox(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 5)
	n, _ := io.ReadFull(f, b)
	return n == 0 || string(b[:n]) == "From "
}

// mboxMailbox is the mailbox of an mbox file below SRC: A/B.mbox and
// Thunderbird's A.sbd/B are A/B; levels are unescaped as export escapes
// them.
func mboxMailbox(rel string) string {
	levels := strings.Split(filepath.ToSlash(rel), "/")
	for i, l := range levels {
		if i == len(levels)-1 {
			l = strings.TrimSuffix(l, ".mbox")
		} else {
			l = strings.TrimSuffix(l, ".sbd")
		}
		levels[i] = maildir.UnescapeName(l)
	}
	return strings.Join(levels, "/")
}

type importer struct {
	store   *mailstore.Store
	account string
	stderr  io.Writer
	prog    *progress

	stored, skipped int
}

// importJob is a message read from SRC, or one skipped because an earlier
// run stored it (item.Message nil).
type importJob struct {
	item mailstore.ImportItem
	done int64 // bytes of SRC read once this message is
}

// run reads SRC in one goroutine while this one stores what it read, in
// batches of one transaction each.
func (im *importer) run(ctx context.Context, sources []importSource) error {
	for _, src := range sources {
		err := im.store.CreateMailbox(ctx, im.account, src.mailbox)
		if err != nil && !errors.Is(err, mailstore.ErrMailboxExists) {
			return err
		}
	}
	jobs := make(chan importJob, importBatch)
	readErr := make(chan error, 1)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		defer close(jobs)
		readErr <- im.read(readCtx, sources, jobs)
	}()
	var batch []mailstore.ImportItem
	var batchBytes, done int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// Not ctx: a batch read before an interrupt is still stored.
		n, err := im.store.Import(context.Background(), im.account, batch)
		im.stored += n
		im.skipped += len(batch) - n
		batch, batchBytes = batch[:0], 0
		im.prog.update(done, im.stored, im.skipped)
		return err
	}
	for j := range jobs {
		done = j.done
		if j.item.Message == nil {
			im.skipped++
			continue
		}
		batch = append(batch, j.item)
		batchBytes += j.item.Message.Size()
		if len(batch) >= importBatch || batchBytes >= importBatchBytes {
			if err := flush(); err != nil {
				stopReading()
				for range jobs {
				}
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	im.prog.update(done, im.stored, im.skipped)
	return <-readErr
}

// read sends every message of sources to jobs, in order, until ctx ends.
func (im *importer) read(ctx context.Context, sources []importSource, jobs chan<- importJob) error {
	var base int64
	for _, src := range sources {
		var err error
		if src.maildir {
			err = im.readMaildir(ctx, src, base, jobs)
		} else {
			err = im.readMbox(ctx, src, base, jobs)
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
		base += src.size
	}
	return nil
}

func (im *importer) readMbox(ctx context.Context, src importSource, base int64, jobs chan<- importJob) error {
	f, err := os.Open(src.path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r := mbox.NewReader(bufio.NewReaderSize(f, 1<<20), importMaxMessage)
	for ctx.Err() == nil {
		m, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src.path, err)
		}
		flags, raw := mbox.TakeFlags(m.Raw)
		raw = mbox.ToCRLF(raw)
		date := m.Date
		if date.IsZero() {
			date = headerDate(raw, fi.ModTime())
		}
		key := src.key + "@" + strconv.FormatInt(m.Offset, 10)
		if err := im.send(ctx, jobs, src.mailbox, key, raw, flags, date, base+m.Offset+int64(len(m.Raw))); err != nil {
			return fmt.Errorf("%s: message at offset %d: %w", src.path, m.Offset, err)
		}
	}
	return nil
}

func (im *importer) readMaildir(ctx context.Context, src importSource, base int64, jobs chan<- importJob) error {
	kw, err := maildir.ReadKeywords(src.path)
	if err != nil {
		return err
	}
	type file struct {
		path, name string
		cur        bool
	}
	var files []file
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(src.path, sub))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, file{filepath.Join(src.path, sub, e.Name()), e.Name(), sub == "cur"})
			}
		}
	}
	// Maildir names start with the delivery time: their order is close
	// to arrival order.
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	done := base
	for _, f := range files {
		if ctx.Err() != nil {
			return nil
		}
		raw, err := os.ReadFile(f.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // moved or deleted by a mail client meanwhile
		}
		if err != nil {
			return err
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			return err
		}
		unique, flags := maildir.ParseName(f.name, kw)
		if !f.cur {
			flags = nil // new/ holds mail no client has seen yet
		}
		done += int64(len(raw))
		if err := im.send(ctx, jobs, src.mailbox, src.key+"/"+unique, raw, flags, fi.ModTime(), done); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return nil
}

// send parses one message and hands it to the storing side, unless an
// earlier run stored it.
func (im *importer) send(ctx context.Context, jobs chan<- importJob, mailbox, location string, raw []byte, flags []string, date time.Time, done int64) error {
	job := importJob{done: done, item: mailstore.ImportItem{Key: mailstore.ImportKey(mailbox, location, raw), Mailbox: mailbox, Flags: flags, Date: date}}
	seen, err := im.store.Imported(im.account, job.item.Key)
	if err != nil {
		return err
	}
	if !seen {
		if job.item.Message, err = mailstore.ReadMessage(bytes.NewReader(raw), 0); err != nil {
			return err
		}
	}
	select {
	case jobs <- job:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// headerDate is a message's Date: header, or fallback.
func headerDate(raw []byte, fallback time.Time) time.Time {
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		if d, err := msg.Header.Date(); err == nil {
			return d
		}
	}
	return fallback
}
