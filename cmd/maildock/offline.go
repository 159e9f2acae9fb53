package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/maildock/maildock/configs"
	"github.com/maildock/maildock/mailstore"
)

// The commands that work on the store file directly (export, import,
// verify, compact, and backup when no server runs) share these helpers.

// errStoreInUse is what they say when the server holds the store.
var errStoreInUse = errors.New("the store is in use: stop maildock first (systemctl stop maildock)")

// offlineLockTimeout is how long they wait for the store's lock.
const offlineLockTimeout = time.Second

// storeFile is where a config keeps its store.
func storeFile(cfg *configs.Config) string { return filepath.Join(cfg.DataDir, "maildock.db") }

// inUse turns ErrLocked into errStoreInUse.
func inUse(err error) error {
	if errors.Is(err, mailstore.ErrLocked) {
		return errStoreInUse
	}
	return err
}

// openReadOnly opens a store file that must exist, for reading.
func openReadOnly(path string) (*mailstore.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store at %s: %w", path, err)
	}
	s, err := mailstore.OpenReadOnly(path, offlineLockTimeout)
	return s, inUse(err)
}

// parseWithArgs parses flags that may stand before and after n
// positional arguments, which it returns.
func parseWithArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(names) {
		if len(pos) < len(names) {
			fmt.Fprintf(fs.Output(), "maildock %s: %s is required\n", fs.Name(), names[len(pos)])
		} else {
			fmt.Fprintf(fs.Output(), "maildock %s: unexpected argument %q\n", fs.Name(), pos[len(names)])
		}
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// loadConfig loads the --config a command requires.
func loadConfig(fs *flag.FlagSet, path string) (*configs.Config, error) {
	if path == "" {
		fmt.Fprintf(fs.Output(), "maildock %s: --config FILE is required\n", fs.Name())
		fs.Usage()
		return nil, errUsage
	}
	return configs.Load(path)
}

// syncFile fsyncs a file that is already written and closed.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory, so that a rename in it survives a power
// loss.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// checkStore runs the store's checks and prints each problem; it returns
// the summary, or an error saying how many problems there were. A file
// damaged badly enough to make bbolt panic is a problem, not a crash.
func checkStore(ctx context.Context, s *mailstore.Store, w io.Writer, name string) (sum mailstore.Summary, err error) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(w, "%s: damaged: %v\n", name, v)
			err = fmt.Errorf("%s: the file is damaged", name)
		}
	}()
	problems := s.Check(ctx)
	for _, p := range problems {
		fmt.Fprintf(w, "%s: %v\n", name, p)
	}
	if len(problems) > 0 {
		return sum, fmt.Errorf("%s: %d problems found", name, len(problems))
	}
	return s.Summary()
}

func printSummary(w io.Writer, name string, sum mailstore.Summary) {
	fmt.Fprintf(w, "%s: OK: %d accounts, %d mailboxes, %d messages, %s\n", name, sum.Accounts, sum.Mailboxes, sum.Messages, human(sum.Bytes))
}
