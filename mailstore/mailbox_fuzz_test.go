package mailstore

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCanonicalMailbox checks the rules every IMAP command's mailbox name
// goes through: a name that passes has no control characters, wildcards,
// empty or dot levels, fits MaxMailboxName, and is already canonical; any
// case of INBOX is INBOX.
func FuzzCanonicalMailbox(f *testing.F) {
	for _, s := range []string{"", "INBOX", "inbox", "Inbox/Sub", "a/b/c", "../x", "a//b", "a/./b", "a/..",
		"*", "a%", "Entwürfe", "\x00", "a\tb", "\xff\xfe", strings.Repeat("x", MaxMailboxName+1), "/", "a/", "INBOX/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := CanonicalMailbox(name)
		if err != nil {
			if got != "" {
				t.Fatalf("%q: error %v with a name %q", name, err, got)
			}
			return
		}
		if strings.EqualFold(name, "INBOX") && got != "INBOX" {
			t.Fatalf("%q gives %q, want INBOX", name, got)
		}
		if got == "INBOX" {
			return
		}
		if len(got) > MaxMailboxName || !utf8.ValidString(got) {
			t.Fatalf("%q accepted as %q: too long or not UTF-8", name, got)
		}
		if strings.ContainsAny(got, "*%\x7f") || strings.IndexFunc(got, func(r rune) bool { return r < 0x20 }) >= 0 {
			t.Fatalf("%q accepted as %q with a wildcard or control character", name, got)
		}
		for _, level := range strings.Split(got, Separator) {
			if level == "" || level == "." || level == ".." {
				t.Fatalf("%q accepted as %q with level %q", name, got, level)
			}
		}
		if !strings.EqualFold(got, name) {
			t.Fatalf("%q became %q: only the case of INBOX may change", name, got)
		}
		if again, err := CanonicalMailbox(got); err != nil || again != got {
			t.Fatalf("%q -> %q -> %q, %v: not idempotent", name, got, again, err)
		}
	})
}
