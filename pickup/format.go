package pickup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maildock/maildock/mailstore"
)

// Formats and line endings (Folder.Format, Folder.LineEndings).
const (
	FormatEML     = "eml"
	FormatMaildir = "maildir"
	FormatIIS     = "iis"

	LineEndingsCRLF = "crlf"
	LineEndingsLF   = "lf"
)

// DefaultFileMode is the permission of written files when Folder.FileMode
// is 0.
const DefaultFileMode os.FileMode = 0o640

// dirMode is the permission of the directories the writer makes.
const dirMode = 0o750

const (
	// hiddenDir holds the temporary files and the journal of an eml or iis
	// folder. Its name starts with a dot and it is a directory, so apps
	// that read *.eml never see what is in it; being inside the folder, it
	// is on the same filesystem, which rename needs.
	hiddenDir = ".maildock"
	// tmpSuffix ends every temporary file name (never ".eml"); the sweep
	// at start removes exactly the files ending in it.
	tmpSuffix = ".maildock.tmp"
	// journalName is the write-ahead journal of the renames in flight.
	journalName = ".maildock-journal"
)

// normalize checks a Folder and fills in its defaults. Dir is made absolute
// and clean, so a later change of working directory cannot move it.
func normalize(f Folder) (Folder, error) {
	if f.Account == "" {
		return f, errors.New("pickup: folder without an account")
	}
	if strings.TrimSpace(f.Dir) == "" {
		return f, fmt.Errorf("pickup: account %s: empty drop folder dir", f.Account)
	}
	abs, err := filepath.Abs(f.Dir)
	if err != nil {
		return f, fmt.Errorf("pickup: account %s: dir %q: %w", f.Account, f.Dir, err)
	}
	f.Dir = filepath.Clean(abs)
	switch strings.ToLower(f.Format) {
	case "", FormatEML:
		f.Format = FormatEML
	case FormatMaildir, FormatIIS:
		f.Format = strings.ToLower(f.Format)
	default:
		return f, fmt.Errorf("pickup: account %s: format %q: want eml, maildir or iis", f.Account, f.Format)
	}
	switch strings.ToLower(f.LineEndings) {
	case "", LineEndingsCRLF:
		f.LineEndings = LineEndingsCRLF
	case LineEndingsLF:
		f.LineEndings = LineEndingsLF
	default:
		return f, fmt.Errorf("pickup: account %s: line_endings %q: want crlf or lf", f.Account, f.LineEndings)
	}
	if f.FileMode == 0 {
		f.FileMode = DefaultFileMode
	}
	if f.FileMode&^os.ModePerm != 0 {
		return f, fmt.Errorf("pickup: account %s: file mode %v: only permission bits (0 to 0777) are allowed", f.Account, f.FileMode)
	}
	return f, nil
}

func normalizeAll(fs []Folder) (map[string]Folder, error) {
	out := make(map[string]Folder, len(fs))
	dirs := make(map[string]string, len(fs))
	var errs []error
	for _, f := range fs {
		n, err := normalize(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := out[n.Account]; dup {
			errs = append(errs, fmt.Errorf("pickup: account %s has two drop folders", n.Account))
			continue
		}
		// Names are unique per account's queue: two accounts writing
		// into one folder could produce the same name.
		if other, dup := dirs[n.Dir]; dup {
			errs = append(errs, fmt.Errorf("pickup: accounts %s and %s share the drop folder %s; each needs its own", other, n.Account, n.Dir))
			continue
		}
		out[n.Account] = n
		dirs[n.Dir] = n.Account
	}
	return out, errors.Join(errs...)
}

// layout is where one folder's files go.
type layout struct {
	final string // directory of the finished files
	tmp   string // directory of the temporary files and the journal
	dirs  []string
}

func layoutOf(f Folder) layout {
	if f.Format == FormatMaildir {
		// Maildir: deliver into tmp/, move into new/; readers move
		// messages on into cur/ (https://cr.yp.to/proto/maildir.html).
		return layout{
			final: filepath.Join(f.Dir, "new"),
			tmp:   filepath.Join(f.Dir, "tmp"),
			dirs:  []string{f.Dir, filepath.Join(f.Dir, "tmp"), filepath.Join(f.Dir, "new"), filepath.Join(f.Dir, "cur")},
		}
	}
	h := filepath.Join(f.Dir, hiddenDir)
	return layout{final: f.Dir, tmp: h, dirs: []string{f.Dir, h}}
}

// baseName is the stable name of an item's file, derived only from what the
// queue recorded, so a retry after a crash computes the same name:
//
//   - eml and iis: 20261123T224803Z-000000000042.eml, the internal date in
//     UTC and the account's queue sequence number, zero-padded so that
//     lexical order is arrival order.
//   - maildir: 1795474083.M0Q42.host, the Maildir unique name
//     time.M<usec>Q<seq>.host; the final name adds ",S=<size>" (see
//     maildirName).
func baseName(f Folder, it mailstore.PickupItem, host string) string {
	if f.Format == FormatMaildir {
		d := it.Date
		return strconv.FormatInt(d.Unix(), 10) + ".M" + strconv.Itoa(d.Nanosecond()/1000) +
			"Q" + strconv.FormatUint(it.Seq, 10) + "." + host
	}
	return it.Date.UTC().Format("20060102T150405Z") + "-" + fmt.Sprintf("%012d", it.Seq) + ".eml"
}

// maildirName is the final name in new/: the base name and the Dovecot
// size extension ",S=<bytes of the file>", which lets readers skip a stat.
func maildirName(base string, size int64) string {
	return base + ",S=" + strconv.FormatInt(size, 10)
}

// maildirHost is the host part of Maildir names: the spec asks for "/" and
// ":" to be written as \057 and \072; anything else outside a conservative
// set becomes "_" so the name is safe on every filesystem.
func maildirHost(h string) string {
	if h == "" {
		h = "localhost"
	}
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == '/':
			b.WriteString(`\057`)
		case r == ':':
			b.WriteString(`\072`)
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// writeIISEnvelope writes the lines the Windows SMTP service put before the
// message in its Drop directory: one x-sender line with the SMTP reverse
// path, one x-receiver line per recipient (see the package doc). The empty
// reverse path of a bounce gives "x-sender: " with nothing after it. CR and
// LF are removed from the addresses so that they cannot add lines.
func writeIISEnvelope(w *bufio.Writer, it mailstore.PickupItem, eol string) {
	w.WriteString("x-sender: ")
	w.WriteString(oneLine(it.From))
	w.WriteString(eol)
	for _, to := range it.To {
		w.WriteString("x-receiver: ")
		w.WriteString(oneLine(to))
		w.WriteString(eol)
	}
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// itemDate is what a journal entry records to tell a queue item from one
// of an older store that reused its sequence number.
func itemDate(it mailstore.PickupItem) int64 { return it.Date.UnixNano() }
