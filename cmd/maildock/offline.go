package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// checkEnv marks the child process checkFile runs the check in.
const checkEnv = "MAILDOCK_CHECK_CHILD"

// checkFile runs the store's checks on a file and prints each problem to
// w; it returns the summary, or an error saying how many problems there
// were. bbolt meets a badly damaged page with a panic in a goroutine of
// its own, which no recover can catch, so the check runs in a child
// process (this binary, `verify --db`): a crash there is one more problem
// found, not a Go trace for the user.
func checkFile(ctx context.Context, path string, w io.Writer) (mailstore.Summary, error) {
	var sum mailstore.Summary
	exe, err := os.Executable()
	if err != nil {
		return sum, err
	}
	cmd := exec.CommandContext(ctx, exe, "verify", "--db", path)
	cmd.Env = append(os.Environ(), checkEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 0 && code != 1 {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.Index(msg, "panic: "); i >= 0 {
			msg, _, _ = strings.Cut(msg[i+len("panic: "):], "\n")
			fmt.Fprintf(w, "%s: damaged: %s\n", path, msg)
			return sum, fmt.Errorf("%s: the file is damaged", path)
		}
		return sum, fmt.Errorf("checking %s: %v: %s", path, err, msg)
	}
	problems := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if n, _ := fmt.Sscanf(line, "summary %d %d %d %d", &sum.Accounts, &sum.Mailboxes, &sum.Messages, &sum.Bytes); n == 4 {
			continue
		}
		if line != "" {
			fmt.Fprintln(w, line)
			problems++
		}
	}
	if code == 1 {
		if msg := strings.TrimSpace(stderr.String()); problems == 0 && msg != "" {
			return sum, errors.New(strings.TrimPrefix(msg, "maildock: "))
		}
		return sum, fmt.Errorf("%s: %d problems found", path, problems)
	}
	return sum, nil
}

// checkHere is checkFile's child: it checks in this process and prints
// each problem, then a summary line for the parent.
func checkHere(ctx context.Context, path string, w io.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(w, "%s: damaged: %v\n", path, v)
			err = fmt.Errorf("%s: the file is damaged", path)
		}
	}()
	s, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer s.Close()
	problems := s.Check(ctx)
	for _, p := range problems {
		fmt.Fprintf(w, "%s: %v\n", path, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problems found", path, len(problems))
	}
	sum, err := s.Summary()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "summary %d %d %d %d\n", sum.Accounts, sum.Mailboxes, sum.Messages, sum.Bytes)
	return nil
}

func printSummary(w io.Writer, name string, sum mailstore.Summary) {
	fmt.Fprintf(w, "%s: OK: %d accounts, %d mailboxes, %d messages, %s\n", name, sum.Accounts, sum.Mailboxes, sum.Messages, human(sum.Bytes))
}
