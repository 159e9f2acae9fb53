// Command maildock is a mail drop for legacy applications: it receives mail
// over SMTP (from Exchange Online or any MTA), keeps it durably, and lets
// apps fetch it with IMAP or POP3 or read it from a folder.
//
// main only wires: config -> each package's Options -> servers.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Set by the Makefile with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: maildock <command> [flags]

commands:
  serve   [--config FILE]   run the server (no --config: loopback-only development default)
  check   --config FILE     validate a config file and print a summary
  passwd                    read a password from stdin, print a hash for password_hash
  exo-setup --config FILE --smarthost HOST
                            print the Exchange Online PowerShell that sends mail here
  status  --config FILE [--json]
                            ask the running server: per account messages, size, quota,
                            last delivery, drop-folder backlog, how its clients log in
  backup  --config FILE DEST
                            copy the store to DEST while the server runs (over [http];
                            without a server, from the file), then check the copy
  verify  --config FILE | --db PATH
                            check the store (server stopped) or a backup copy
  compact --config FILE     rewrite the store without free space (server stopped)
  export  --config FILE --account A --format mbox|maildir DEST
                            write an account's mail out (server stopped)
  import  --config FILE --account A [--mailbox M] SRC
                            read an mbox file, a folder of them or a Maildir into an
                            account (server stopped); run it again to resume
  version                   print version, commit and Go version

Run 'maildock <command> -h' for a command's flags.
`

// errUsage makes main print the usage and exit 2.
var errUsage = errors.New("usage")

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A bug must not show users a Go trace: one line, and the trace
		// only when asked for.
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "maildock: internal error: %v\n", v)
			if os.Getenv("MAILDOCK_DEBUG") != "" {
				stderr.Write(debug.Stack())
			}
			code = 1
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = cmdServe(rest, stderr)
	case "check":
		err = cmdCheck(rest, stdout, stderr)
	case "passwd":
		err = cmdPasswd(rest, stdin, stdout, stderr)
	case "exo-setup":
		err = cmdExoSetup(rest, stdout, stderr)
	case "status":
		err = cmdStatus(rest, stdout, stderr)
	case "backup":
		err = cmdBackup(rest, stdout, stderr)
	case "verify":
		err = cmdVerify(rest, stdout, stderr)
	case "compact":
		err = cmdCompact(rest, stdout, stderr)
	case "export":
		err = cmdExport(rest, stdout, stderr)
	case "import":
		err = cmdImport(rest, stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "maildock: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ee):
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "maildock: %v\n", ee.err)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "maildock: %v\n", err)
		return 1
	}
}
