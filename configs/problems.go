package configs

import (
	"fmt"
	"sort"
	"strings"
)

// A Problem is one thing wrong with a config file.
type Problem struct {
	File string // the file name given to Load or Parse
	Line int    // 1-based; 0 when the line is not known
	Msg  string
}

// String returns "FILE:LINE: message", or "FILE: message" when the line is
// not known.
func (p Problem) String() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	case p.File != "":
		return p.File + ": " + p.Msg
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	default:
		return p.Msg
	}
}

// Problems is every problem found in a config file. It is the error that
// Load and Parse return; use errors.As to get at the individual problems.
type Problems []Problem

// Error returns one problem per line, in the order of the file (problems
// without a line last).
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sorted returns ps ordered by line, problems without a line last, with
// exact duplicates removed.
func (ps Problems) sorted() Problems {
	out := make(Problems, len(ps))
	copy(out, ps)
	sort.SliceStable(out, func(i, j int) bool {
		li, lj := out[i].Line, out[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	dedup := out[:0]
	seen := make(map[Problem]bool, len(out))
	for _, p := range out {
		if !seen[p] {
			seen[p] = true
			dedup = append(dedup, p)
		}
	}
	return dedup
}
