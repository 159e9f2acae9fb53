package mbox

import (
	"bytes"
	"sort"
	"strings"
)

// IMAP system flags, as package mailstore spells them.
const (
	flagSeen     = `\Seen`
	flagAnswered = `\Answered`
	flagFlagged  = `\Flagged`
	flagDeleted  = `\Deleted`
	flagDraft    = `\Draft`
)

// statusHeaders are the headers mail clients (mutt, Thunderbird, Dovecot,
// Pine) keep a message's flags in inside mbox files.
var statusHeaders = []string{"status", "x-status", "x-keywords"}

// TakeFlags reads the flags a message's Status (R: seen), X-Status (A:
// answered, F: flagged, T: draft, D: deleted) and X-Keywords headers hold,
// and returns the message without those header lines: they are mbox
// bookkeeping, not part of the message. Only the header section is looked
// at; a message without these headers is returned as it is.
func TakeFlags(raw []byte) (flags []string, rest []byte) {
	end := headerEnd(raw)
	var out []byte // nil until a status header is found
	found := false
	for _, f := range fields(raw[:end]) {
		name, value, ok := strings.Cut(string(f), ":")
		if ok && isStatusHeader(name) {
			found = true
			flags = append(flags, headerFlags(strings.ToLower(strings.TrimSpace(name)), value)...)
			continue
		}
		out = append(out, f...)
	}
	if !found {
		return nil, raw
	}
	return dedup(flags), append(out, raw[end:]...)
}

// fields splits a header section into its fields, each with its
// continuation lines and line endings.
func fields(h []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(h); {
		next := len(h)
		if j := bytes.IndexByte(h[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		if i > start && h[i] != ' ' && h[i] != '\t' {
			out = append(out, h[start:i])
			start = i
		}
		i = next
	}
	if start < len(h) {
		out = append(out, h[start:])
	}
	return out
}

func isStatusHeader(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, h := range statusHeaders {
		if name == h {
			return true
		}
	}
	return false
}

// headerEnd is the offset of the empty line that ends the header section
// (len(raw) if there is none).
func headerEnd(raw []byte) int {
	for i := 0; i < len(raw); {
		if raw[i] == '\n' || (raw[i] == '\r' && i+1 < len(raw) && raw[i+1] == '\n') {
			return i
		}
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return len(raw)
		}
		i += j + 1
	}
	return len(raw)
}

func headerFlags(name, value string) []string {
	var flags []string
	switch name {
	case "status":
		if strings.Contains(value, "R") {
			flags = append(flags, flagSeen)
		}
	case "x-status":
		for _, c := range value {
			switch c {
			case 'A':
				flags = append(flags, flagAnswered)
			case 'F':
				flags = append(flags, flagFlagged)
			case 'T':
				flags = append(flags, flagDraft)
			case 'D':
				flags = append(flags, flagDeleted)
			}
		}
	case "x-keywords":
		flags = append(flags, keywords(value)...)
	}
	return flags
}

// keywords splits an X-Keywords value: keywords separated by spaces or
// commas. Anything that is not a valid IMAP atom is dropped.
func keywords(v string) []string {
	var out []string
	for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\r' || r == '\n' }) {
		if validKeyword(k) {
			out = append(out, k)
		}
	}
	return out
}

// validKeyword: an IMAP flag-keyword is an atom (RFC 3501 section 9).
func validKeyword(k string) bool {
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) {
			return false
		}
	}
	return k != ""
}

func dedup(flags []string) []string {
	seen := map[string]bool{}
	out := flags[:0]
	for _, f := range flags {
		if k := strings.ToLower(f); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// FlagHeaders returns the Status, X-Status and X-Keywords header lines
// (LF line endings) that hold flags, for the top of a message in an mbox
// file; nil when there is nothing to say. TakeFlags reads them back.
func FlagHeaders(flags []string) []byte {
	var status, xstatus string
	var kws []string
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			status = "RO"
		case `\answered`:
			xstatus += "A"
		case `\flagged`:
			xstatus += "F"
		case `\draft`:
			xstatus += "T"
		case `\deleted`:
			xstatus += "D"
		case `\recent`:
		default:
			if validKeyword(f) && !strings.HasPrefix(f, `\`) {
				kws = append(kws, f)
			}
		}
	}
	var b bytes.Buffer
	if status != "" {
		b.WriteString("Status: " + status + "\n")
	}
	if xstatus != "" {
		x := []byte(xstatus)
		sort.Slice(x, func(i, j int) bool { return x[i] < x[j] })
		b.WriteString("X-Status: " + string(x) + "\n")
	}
	if len(kws) > 0 {
		b.WriteString("X-Keywords: " + strings.Join(kws, " ") + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	return b.Bytes()
}
