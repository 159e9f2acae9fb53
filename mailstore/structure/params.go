package structure

import (
	"bytes"
	"io"
	"mime"
	"sort"
	"strconv"
	"strings"
)

// wordDecoder decodes RFC 2047 encoded-words in parameter values the way
// go-message does.
var wordDecoder = mime.WordDecoder{
	CharsetReader: func(cs string, r io.Reader) (io.Reader, error) { return charsetReader(cs, r) },
}

// decodeWords decodes the RFC 2047 encoded-words of s; on any failure
// (unknown charset, bad encoding) it returns s unchanged.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// parseParams parses a Content-Type or Content-Disposition value into its
// lowercased value and its parameters: keys lowercased, values RFC 2231 and
// RFC 2047 decoded (the boundary is left as it is). It never fails; params
// is nil if there are none.
//
// Well-formed values go through mime.ParseMediaType and RFC 2047 decoding,
// which is go-message's handling. That parser gives up on a whole value for
// one bad parameter, common in the wild (an unquoted boundary with "=" in
// it, a comment, a duplicate), and drops RFC 2231 values in charsets other
// than UTF-8 and US-ASCII; lenientParams covers those.
func parseParams(v string) (value string, params map[string]string) {
	lv, lp, extended := lenientParams(v)
	value, params, err := mime.ParseMediaType(v)
	if err != nil {
		return lv, lp
	}
	for k, pv := range params {
		if k != "boundary" {
			params[k] = decodeWords(pv)
		}
	}
	for _, k := range extended {
		params[k] = lp[k]
	}
	if len(params) == 0 {
		params = nil
	}
	return value, params
}

// lenientParams parses v as best it can: the value is the leading run of
// token characters and "/", parameters are split at ";" outside quotes, an
// unquoted value runs to the next ";", an unclosed quote to the end, the
// first of duplicate keys wins, keys that are not tokens are dropped, and
// RFC 2231 values are decoded in any charset charsetReader knows. extended
// lists the keys that had RFC 2231 syntax, sorted.
func lenientParams(v string) (value string, params map[string]string, extended []string) {
	v = strings.TrimLeft(v, " \t")
	i := 0
	for i < len(v) && (isTokenChar(v[i]) || v[i] == '/') {
		i++
	}
	value, v = strings.ToLower(v[:i]), v[i:]

	type piece struct {
		value   string
		encoded bool
	}
	var ext map[string]map[int]piece // base name -> section (-1 for "name*") -> piece
	for _, seg := range splitParams(v) {
		k, pv, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.Trim(k, " \t"))
		if !isToken(k) {
			continue
		}
		pv = paramValue(pv)
		base, section, isExt := strings.Cut(k, "*")
		if !isExt {
			if params == nil {
				params = make(map[string]string)
			}
			if _, dup := params[k]; !dup {
				params[k] = pv
			}
			continue
		}
		// RFC 2231: name*=, name*0=, name*0*=, name*1=, ...
		pc := piece{value: pv}
		n := -1
		if section != "" {
			num, enc := strings.CutSuffix(section, "*")
			var err error
			if n, err = strconv.Atoi(num); err != nil || n < 0 || (len(num) > 1 && num[0] == '0') {
				continue
			}
			pc.encoded = enc
		} else {
			pc.encoded = true
		}
		if base == "" {
			continue
		}
		if ext == nil {
			ext = make(map[string]map[int]piece)
		}
		if ext[base] == nil {
			ext[base] = make(map[int]piece)
		}
		if _, dup := ext[base][n]; !dup {
			ext[base][n] = pc
		}
	}

	for base, pieces := range ext {
		var raw []byte
		cs := ""
		if pc, ok := pieces[-1]; ok {
			cs, raw = decode2231(pc.value, true, raw)
		} else if _, ok := pieces[0]; ok {
			for n := 0; ; n++ {
				pc, ok := pieces[n]
				if !ok {
					break
				}
				if !pc.encoded {
					raw = append(raw, pc.value...)
					continue
				}
				var c string
				c, raw = decode2231(pc.value, n == 0, raw)
				if n == 0 {
					cs = c
				}
			}
		} else {
			continue
		}
		if params == nil {
			params = make(map[string]string)
		}
		params[base] = toUTF8(cs, raw)
		extended = append(extended, base)
	}
	for k, pv := range params {
		if k != "boundary" {
			params[k] = decodeWords(pv)
		}
	}
	sort.Strings(extended)
	return value, params, extended
}

// splitParams splits the parameter part of a header value at the ";" that
// are outside quoted strings.
func splitParams(v string) []string {
	var segs []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ';':
			segs = append(segs, v[start:i])
			start = i + 1
		}
	}
	return append(segs, v[start:])
}

// paramValue is the value of a parameter as written after "=": a quoted
// string unquoted (to the end if unclosed), else the trimmed text, without a
// trailing comment.
func paramValue(s string) string {
	s = strings.Trim(s, " \t")
	if !strings.HasPrefix(s, `"`) {
		if i := strings.Index(s, "("); i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = strings.TrimRight(s[:i], " \t")
		}
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decode2231 percent-decodes an RFC 2231 extended value, appending it to
// raw. If first, the value starts with charset'language' (when it has two
// quotes), and the charset is returned.
func decode2231(v string, first bool, raw []byte) (cs string, _ []byte) {
	if first {
		if c, rest, ok := strings.Cut(v, "'"); ok {
			if _, rest, ok := strings.Cut(rest, "'"); ok {
				cs, v = c, rest
			}
		}
	}
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			raw = append(raw, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
			continue
		}
		raw = append(raw, v[i])
	}
	return cs, raw
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// toUTF8 converts b from charset cs to UTF-8; with an unknown charset, or
// none, b is returned as it is.
func toUTF8(cs string, b []byte) string {
	switch strings.ToLower(cs) {
	case "", "utf-8", "us-ascii", "utf8":
		return string(b)
	}
	r, err := charsetReader(cs, bytes.NewReader(b))
	if err != nil {
		return string(b)
	}
	d, err := io.ReadAll(r)
	if err != nil {
		return string(b)
	}
	return string(d)
}
