package configs

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// docIndex knows where each key of a document is. Paths name keys the way
// validation does: "smtp.listen", "smtp.listen[1]" (an array element),
// "account[2].pickup.dir" (the third [[account]]).
type docIndex struct {
	tooDeep  int // line of a value nested deeper than maxNesting
	keys     map[string]keyPos
	exprs    []exprSpan // top-level key/value expressions, in order
	newlines []int      // offsets of '\n', for offset -> line
}

type keyPos struct {
	line   int
	offset int           // of the key, or of the element in an array
	kind   unstable.Kind // of the value; Table or ArrayTable for headers
}

// exprSpan is a top-level key/value expression: the bytes [start, end)
// and its path.
type exprSpan struct {
	start, end int
	path       string
}

// indexDocument walks data with go-toml's parser and records the line of
// every key, table header and array element. It fails with the syntax
// error, as a Problem with its line, if data is not TOML.
func indexDocument(data []byte) (*docIndex, *Problem) {
	ix := &docIndex{keys: map[string]keyPos{}}
	for i, c := range data {
		if c == '\n' {
			ix.newlines = append(ix.newlines, i)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	arrays := map[string]int{} // resolved path of an array table -> elements so far
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			resolved := ""
			line, offset := 0, -1
			it := e.Key()
			for it.Next() {
				k := it.Node()
				if offset < 0 {
					offset = int(k.Raw.Offset)
					line = ix.line(offset)
				}
				resolved = joinPath(resolved, string(k.Data))
				if it.IsLast() && e.Kind == unstable.ArrayTable {
					arrays[resolved]++
					resolved += "[" + strconv.Itoa(arrays[resolved]-1) + "]"
				} else if n, ok := arrays[resolved]; ok {
					resolved += "[" + strconv.Itoa(n-1) + "]"
				}
			}
			prefix = resolved
			if _, dup := ix.keys[resolved]; !dup { // a table defined twice is an error go-toml reports
				ix.keys[resolved] = keyPos{line: line, offset: offset, kind: e.Kind}
			}
		case unstable.KeyValue:
			path := ix.keyValue(prefix, e, 0)
			ix.exprs = append(ix.exprs, exprSpan{
				start: int(e.Raw.Offset),
				end:   int(e.Raw.Offset + e.Raw.Length),
				path:  path,
			})
		}
	}
	if err := p.Error(); err != nil {
		prob := &Problem{Msg: "not valid TOML: " + err.Error()}
		var perr *unstable.ParserError
		if errors.As(err, &perr) {
			// The highlight is a subslice of data: its offset follows
			// from the capacities.
			if off := cap(data) - cap(perr.Highlight); off >= 0 && off <= len(data) {
				prob.Line = ix.line(off)
			}
		}
		return nil, prob
	}
	if ix.tooDeep > 0 {
		return nil, &Problem{Line: ix.tooDeep, Msg: fmt.Sprintf("values nested more than %d deep: a maildock config has no such values", maxNesting)}
	}
	return ix, nil
}

// keyValue records a key/value expression under prefix (and, for arrays
// and inline tables, its elements) and returns its path.
func (ix *docIndex) keyValue(prefix string, e *unstable.Node, depth int) string {
	path := prefix
	offset := -1
	it := e.Key()
	for it.Next() {
		k := it.Node()
		if offset < 0 {
			offset = int(k.Raw.Offset)
		}
		path = joinPath(path, string(k.Data))
	}
	ix.value(path, offset, e.Value(), depth)
	return path
}

// maxNesting bounds the depth of arrays and inline tables. The deepest a
// config needs is 3 (account = [{ addresses = ["..."] }]); the bound
// keeps absurd input from costing time quadratic in its depth.
const maxNesting = 8

func (ix *docIndex) value(path string, offset int, v *unstable.Node, depth int) {
	ix.keys[path] = keyPos{line: ix.line(offset), offset: offset, kind: v.Kind}
	if v.Kind == unstable.Array || v.Kind == unstable.InlineTable {
		if depth++; depth > maxNesting {
			if ix.tooDeep == 0 {
				ix.tooDeep = ix.line(offset)
			}
			return
		}
	}
	switch v.Kind {
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			co := startOf(c)
			if co < 0 {
				co = offset
			}
			ix.value(path+"["+strconv.Itoa(i)+"]", co, c, depth)
			i++
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				ix.keyValue(path, c, depth)
			}
		}
	}
}

// startOf returns the offset where a value starts, or -1 for an empty
// array: go-toml gives arrays no range, so theirs is their first element's.
func startOf(v *unstable.Node) int {
	for v.Kind == unstable.Array {
		it := v.Children()
		found := false
		for it.Next() {
			if c := it.Node(); c.Kind != unstable.Comment {
				v, found = c, true
				break
			}
		}
		if !found {
			return -1
		}
	}
	return int(v.Raw.Offset)
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// line returns the 1-based line of a byte offset.
func (ix *docIndex) line(offset int) int {
	return sort.SearchInts(ix.newlines, offset) + 1
}

// lineOf returns the line of path or, when the file does not have that
// key, of the closest enclosing key or table that it has: a missing
// "account[1].password_hash" is reported at its [[account]] header.
// 0 means unknown.
func (ix *docIndex) lineOf(path string) int {
	if ix == nil {
		return 0
	}
	for path != "" {
		if p, ok := ix.keys[path]; ok {
			return p.line
		}
		path = parentPath(path)
	}
	return 0
}

// has reports whether the file sets path.
func (ix *docIndex) has(path string) bool {
	if ix == nil {
		return false
	}
	_, ok := ix.keys[path]
	return ok
}

// kind returns the TOML kind of path's value, Invalid when absent.
func (ix *docIndex) kind(path string) unstable.Kind {
	if ix == nil {
		return unstable.Invalid
	}
	return ix.keys[path].kind
}

// exprAt returns the top-level key/value expression that contains the
// given line and column, if any.
func (ix *docIndex) exprAt(line, column int) (exprSpan, bool) {
	off := column - 1
	if line > 1 {
		if line-2 >= len(ix.newlines) {
			return exprSpan{}, false
		}
		off += ix.newlines[line-2] + 1
	}
	return ix.exprAtOffset(off)
}

// exprAtOffset returns the top-level key/value expression that contains
// the byte at off, if any.
func (ix *docIndex) exprAtOffset(off int) (exprSpan, bool) {
	// The expressions are in document order: find the last that starts
	// at or before off.
	i := sort.Search(len(ix.exprs), func(i int) bool { return ix.exprs[i].start > off }) - 1
	if i >= 0 && off < ix.exprs[i].end {
		return ix.exprs[i], true
	}
	return exprSpan{}, false
}

// parentPath strips the last part of a path: "a.b[1]" -> "a.b" -> "a".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
