package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/configs"
)

// newFlags makes a FlagSet that reports errors and -h on stderr and makes
// run exit 2.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: maildock %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "maildock %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
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

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "--config FILE", stderr)
	path := fs.String("config", "", "config file to check (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if errors.Is(err, errUsage) {
		return err
	}
	if err != nil {
		// Every problem, one per line, FILE:LINE: message.
		fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
		return &exitError{code: 1, err: errors.New("")}
	}
	fmt.Fprintf(stdout, "%s: OK\n%s", *path, cfg.Summary())
	return nil
}

func cmdPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("passwd", "< password", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return fmt.Errorf("passwd: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return fmt.Errorf("passwd: %w", err)
		}
		if string(a) != string(b) {
			return errors.New("passwd: the passwords differ")
		}
		pw = string(a)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("passwd: read stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

func cmdVersion(args []string, stdout io.Writer) error {
	commit, modified := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(stdout, "maildock %s\ncommit %s%s\n%s %s/%s\n", version, commit, modified, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
