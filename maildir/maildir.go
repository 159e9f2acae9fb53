// Package maildir names and flags files in Maildir and Maildir++ folders
// the way Dovecot and Courier do, for export and import.
//
// A message's file is cur/<unique>:2,<info>; info is the flag letters in
// ASCII order: D draft, F flagged, P passed (forwarded), R replied, S seen,
// T trashed (deleted), and a-z for keywords, which Dovecot lists in the
// folder's dovecot-keywords file ("0 keyword" lines: 0 is a, 1 is b...).
// INBOX is the top folder; mailbox A/B is the folder .A.B.
package maildir

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// KeywordsFile is the name of Dovecot's keyword list in a folder.
const KeywordsFile = "dovecot-keywords"

// letters maps info letters to IMAP flags.
var letters = map[byte]string{
	'D': `\Draft`,
	'F': `\Flagged`,
	'P': "$Forwarded",
	'R': `\Answered`,
	'S': `\Seen`,
	'T': `\Deleted`,
}

// Info returns the info part (":2," and the letters) for flags; keywords
// get letters from kw, which it extends with keywords it has not seen,
// up to 26. Keywords beyond those are left out and returned as dropped.
func Info(flags []string, kw *Keywords) (info string, dropped []string) {
	var b []byte
	for _, f := range flags {
		found := false
		for c, name := range letters {
			if strings.EqualFold(f, name) {
				b = append(b, c)
				found = true
			}
		}
		if found || strings.HasPrefix(f, `\`) {
			continue
		}
		if c, ok := kw.letter(f); ok {
			b = append(b, c)
		} else {
			dropped = append(dropped, f)
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	b = slices.Compact(b)
	return ":2," + string(b), dropped
}

// ParseName splits a file name into its unique part and its flags.
func ParseName(name string, kw *Keywords) (unique string, flags []string) {
	unique, info, ok := strings.Cut(name, ":")
	if !ok {
		// Windows cannot have ':' in names: some tools use ';' or '!'.
		for _, sep := range []string{";2,", "!2,"} {
			if i := strings.LastIndex(name, sep); i >= 0 {
				unique, info, ok = name[:i], "2,"+name[i+len(sep):], true
				break
			}
		}
	}
	if !ok || !strings.HasPrefix(info, "2,") {
		return unique, nil
	}
	for _, c := range []byte(info[2:]) {
		if f, ok := letters[c]; ok {
			flags = append(flags, f)
		} else if c >= 'a' && c <= 'z' {
			if k := kw.name(c); k != "" {
				flags = append(flags, k)
			}
		}
	}
	return unique, flags
}

// Keywords is a folder's keyword list: keyword i has the letter 'a'+i.
type Keywords struct {
	list []string
}

func (k *Keywords) letter(name string) (byte, bool) {
	for i, n := range k.list {
		if strings.EqualFold(n, name) {
			return byte('a' + i), true
		}
	}
	if len(k.list) >= 26 {
		return 0, false
	}
	k.list = append(k.list, name)
	return byte('a' + len(k.list) - 1), true
}

func (k *Keywords) name(c byte) string {
	if k == nil || int(c-'a') >= len(k.list) {
		return ""
	}
	return k.list[c-'a']
}

// Len is the number of keywords.
func (k *Keywords) Len() int { return len(k.list) }

// ReadKeywords reads dir's dovecot-keywords file; a missing file is an
// empty list.
func ReadKeywords(dir string) (*Keywords, error) {
	k := &Keywords{}
	f, err := os.Open(filepath.Join(dir, KeywordsFile))
	if os.IsNotExist(err) {
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		num, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || i < 0 || i >= 26 {
			continue
		}
		for len(k.list) <= i {
			k.list = append(k.list, "")
		}
		k.list[i] = strings.TrimSpace(name)
	}
	return k, sc.Err()
}

// WriteKeywords writes dir's dovecot-keywords file (nothing if empty).
func WriteKeywords(dir string, k *Keywords) error {
	if k.Len() == 0 {
		return nil
	}
	var b strings.Builder
	for i, n := range k.list {
		fmt.Fprintf(&b, "%d %s\n", i, n)
	}
	return os.WriteFile(filepath.Join(dir, KeywordsFile), []byte(b.String()), 0o600)
}

// FolderName is the directory of a mailbox below the Maildir: "" for
// INBOX, ".A.B" for A/B (each level escaped with EscapeName).
func FolderName(mailbox string) string {
	if mailbox == "INBOX" {
		return ""
	}
	levels := strings.Split(mailbox, "/")
	for i, l := range levels {
		levels[i] = EscapeName(l)
	}
	return "." + strings.Join(levels, ".")
}

// FolderMailbox is the mailbox a Maildir++ folder holds: "" is INBOX,
// ".A.B" is A/B. ok is false for names that are not folders.
func FolderMailbox(dir string) (mailbox string, ok bool) {
	if dir == "" || dir == "." {
		return "INBOX", true
	}
	if !strings.HasPrefix(dir, ".") || dir == ".." {
		return "", false
	}
	levels := strings.Split(dir[1:], ".")
	for i, l := range levels {
		if l == "" {
			return "", false
		}
		levels[i] = UnescapeName(l)
	}
	return strings.Join(levels, "/"), true
}

// EscapeName makes one level of a mailbox name safe as a file name on
// Linux and Windows and free of the Maildir++ separator: '%', '.', '/',
// '\\', ':', '*', '?', '"', '<', '>', '|' and control characters become
// %XX.
func EscapeName(level string) string {
	var b strings.Builder
	for i := 0; i < len(level); i++ {
		c := level[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(`%./\:*?"<>|`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeName undoes EscapeName; a '%' not followed by two hex digits
// stays as it is.
func UnescapeName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
