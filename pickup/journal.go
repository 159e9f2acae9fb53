package pickup

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maildock/maildock/internal/fsync"
)

// journalEntry is one rename a batch is about to make: the temporary file
// Tmp (in layout.tmp) becomes Final (in layout.final) for queue item Seq.
// Date (the item's internal date, UnixNano) tells the item from one of an
// older store that reused the sequence number.
type journalEntry struct {
	Seq   uint64
	Date  int64
	Tmp   string
	Final string
}

const journalHeader = "maildock-journal 1\n"

// encodeJournal writes the entries as text lines, the last one a CRC-32 of
// everything before it, so that a torn write is recognised as such:
//
//	maildock-journal 1
//	42 1795474083000000000 20261123T224803Z-000000000042.eml.maildock.tmp 20261123T224803Z-000000000042.eml
//	end 1a2b3c4d
func encodeJournal(es []journalEntry) []byte {
	var b bytes.Buffer
	b.WriteString(journalHeader)
	for _, e := range es {
		fmt.Fprintf(&b, "%d %d %s %s\n", e.Seq, e.Date, e.Tmp, e.Final)
	}
	fmt.Fprintf(&b, "end %08x\n", crc32.ChecksumIEEE(b.Bytes()))
	return b.Bytes()
}

var errBadJournal = errors.New("journal damaged or incomplete")

func decodeJournal(b []byte) ([]journalEntry, error) {
	if len(b) == 0 {
		return nil, nil
	}
	i := bytes.LastIndex(b, []byte("end "))
	if !bytes.HasPrefix(b, []byte(journalHeader)) || i < len(journalHeader) || b[i-1] != '\n' {
		return nil, errBadJournal
	}
	trailer := string(b[i+4:])
	if len(trailer) != 9 || trailer[8] != '\n' {
		return nil, errBadJournal
	}
	sum, err := strconv.ParseUint(trailer[:8], 16, 32)
	if err != nil || uint32(sum) != crc32.ChecksumIEEE(b[:i]) {
		return nil, errBadJournal
	}
	var es []journalEntry
	for _, line := range strings.Split(strings.TrimSuffix(string(b[len(journalHeader):i]), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, " ")
		if len(f) != 4 {
			return nil, errBadJournal
		}
		seq, err1 := strconv.ParseUint(f[0], 10, 64)
		date, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || !plainName(f[2]) || !plainName(f[3]) || !strings.HasSuffix(f[2], tmpSuffix) {
			return nil, errBadJournal
		}
		es = append(es, journalEntry{Seq: seq, Date: date, Tmp: f[2], Final: f[3]})
	}
	return es, nil
}

// plainName reports whether a name read back from the journal is a plain
// file name, so that a damaged or tampered journal can never make the
// writer rename anything outside its folder.
func plainName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\\\x00 \r\n") && filepath.Base(n) == n
}

// readJournal returns the entries of the journal at path; none if it does
// not exist or is empty. A damaged journal is errBadJournal: its batch
// never started renaming (renames begin only once it is synced), so the
// caller may ignore it.
func readJournal(path string) ([]journalEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeJournal(b)
}

// writeJournal replaces the journal with es and syncs it. If the file is
// new, its directory is synced too, so the entry that names it is durable
// before any rename it announces.
func writeJournal(path string, es []journalEntry) error {
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(encodeJournal(es)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if statErr != nil {
		return fsync.Dir(filepath.Dir(path))
	}
	return nil
}

// clearJournal empties the journal once its batch is confirmed in the
// store. It is not synced: if the old content comes back after a crash,
// its items are no longer queued, and recovery skips entries of items that
// are not.
func clearJournal(path string) error {
	err := os.Truncate(path, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// exists reports whether path names anything (Lstat: a symlink counts as
// there, dangling or not).
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}
