package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/maildock/maildock/internal/fsync"
	"github.com/maildock/maildock/mailstore"
)

// cmdCompact rewrites the store without its free pages. It never leaves
// the data directory without a complete maildock.db: the copy is made,
// fsynced and checked beside the store, the old file stays as
// maildock.db.old (a hard link), and the copy is renamed over the store.
func cmdCompact(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compact", "--config FILE", stderr)
	path := fs.String("config", "", "the config whose store to compact (server stopped; required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	file := storeFile(cfg)
	// Holding the store open (a shared lock) keeps a server from starting
	// on it until the copy is in place.
	src, err := openReadOnly(file)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := context.Background()
	before, err := checkFile(ctx, file, stdout)
	if err != nil {
		return fmt.Errorf("%w: not compacting a store with problems; restore a backup (docs/OPERATIONS.md)", err)
	}
	tmp, old := file+".compact", file+".old"
	os.Remove(tmp) // a leftover of an interrupted compact
	if err := mailstore.CompactFile(file, tmp, offlineLockTimeout); err != nil {
		os.Remove(tmp)
		return inUse(err)
	}
	if err := checkCopy(ctx, tmp, before, stdout); err != nil {
		os.Remove(tmp)
		return err
	}
	sizeBefore, sizeAfter := fileSize(file), fileSize(tmp)
	os.Remove(old)
	if err := os.Link(file, old); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keeping the old store as %s: %w", old, err)
	}
	if runtime.GOOS == "windows" {
		src.Close() // Windows cannot rename over an open file
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("putting the compacted store in place: %w", err)
	}
	if err := fsync.Dir(filepath.Dir(file)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "compacted %s: %s -> %s; the old file is %s (delete it once maildock runs fine)\n",
		file, human(sizeBefore), human(sizeAfter), old)
	return nil
}

// checkCopy fsyncs a copy of a store, checks it and compares its summary
// with the original's.
func checkCopy(ctx context.Context, path string, want mailstore.Summary, w io.Writer) error {
	if err := syncFile(path); err != nil {
		return err
	}
	got, err := checkFile(ctx, path, w)
	if err != nil {
		return fmt.Errorf("the copy is broken: %w", err)
	}
	if got != want {
		return fmt.Errorf("the copy holds %+v, the store %+v", got, want)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
