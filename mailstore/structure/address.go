package structure

import "strings"

// parseAddressList parses an RFC 5322 address list as best it can: a
// group is its members between a GroupStart (named) and a GroupEnd, as
// IMAP's ENVELOPE shows groups; a display name is unquoted but its
// encoded-words are kept, a comment stands in for a missing display name,
// and what is not an address is kept whole as a Mailbox with no Host (in
// a group, a bare comment is dropped). It returns nil for an empty list.
func parseAddressList(s string) []Address {
	var out []Address
	for _, seg := range splitAddresses(s) {
		switch seg.kind {
		case GroupStart:
			out = append(out, Address{Mailbox: phrase(seg.text), Group: GroupStart})
		case GroupEnd:
			out = append(out, Address{Group: GroupEnd})
		default:
			a, ok := parseAddress(seg.text)
			if ok && seg.inGroup && a.Host == "" && a.Name == "" {
				if spec, _ := stripComments(seg.text); strings.Trim(spec, " \t\r\n") == "" {
					ok = false
				}
			}
			if ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// segment is one piece of an address list: an address (kind NotGroup),
// a group's name or a group's end.
type segment struct {
	text    string
	kind    GroupMark
	inGroup bool
}

// splitAddresses splits an address list at the commas outside quoted
// strings, comments, domain literals and angle brackets, and marks group
// starts ("name:") and ends (";", or the end of the list).
func splitAddresses(s string) []segment {
	var out []segment
	start, angle, comment := 0, 0, 0
	quoted, literal, group := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case comment > 0:
			switch c {
			case '\\':
				i++
			case '(':
				comment++
			case ')':
				comment--
			}
		case literal:
			if c == '\\' {
				i++
			} else if c == ']' {
				literal = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			comment = 1
		case c == '[':
			literal = true
		case c == '<':
			angle++
		case c == '>':
			if angle > 0 {
				angle--
			}
		case angle > 0:
		case c == ',':
			out = append(out, segment{text: s[start:i], inGroup: group})
			start = i + 1
		case c == ':' && !group:
			out = append(out, segment{text: s[start:i], kind: GroupStart})
			group, start = true, i+1
		case c == ';' && group:
			out = append(out, segment{text: s[start:i], inGroup: true}, segment{kind: GroupEnd})
			group, start = false, i+1
		}
	}
	out = append(out, segment{text: s[min(start, len(s)):], inGroup: group})
	if group {
		out = append(out, segment{kind: GroupEnd})
	}
	return out
}

// parseAddress parses one address; false if there is nothing there.
func parseAddress(s string) (Address, bool) {
	s = strings.Trim(s, " \t\r\n")
	if s == "" {
		return Address{}, false
	}
	if i := indexOutside(s, '<'); i >= 0 {
		// name-addr: [display-name] "<" addr-spec ">"
		rest := s[i+1:]
		if j := indexOutside(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		a := Address{Name: phrase(s[:i])}
		a.Mailbox, a.Host = addrSpec(rest, true)
		if a == (Address{}) {
			return a, false
		}
		return a, true
	}

	// addr-spec, maybe with a comment for a name: "jdoe@example.com (John Doe)"
	spec, comment := stripComments(s)
	spec = strings.Trim(spec, " \t")
	if spec == "" {
		return Address{Mailbox: s}, true
	}
	a := Address{Name: comment}
	if !strings.Contains(spec, "@") {
		// "undisclosed recipients", "root": keep it as it is.
		a.Mailbox = spec
		return a, true
	}
	if i := lastIndexOutside(spec, ' '); i >= 0 {
		// "John Doe jdoe@example.com": a name without angle brackets.
		if a.Name == "" {
			a.Name = phrase(spec[:i])
		}
		spec = spec[i+1:]
	}
	a.Mailbox, a.Host = addrSpec(spec, false)
	return a, true
}

// addrSpec splits local-part "@" domain at the last "@", dropping comments,
// a source route ("@a,@b:") if inAngle, and the quotes of a quoted local
// part.
func addrSpec(s string, inAngle bool) (mailbox, host string) {
	s, _ = stripComments(s)
	s = strings.Trim(s, " \t\r\n")
	if inAngle && strings.HasPrefix(s, "@") {
		if i := indexOutside(s, ':'); i >= 0 {
			s = s[i+1:]
		}
	}
	at := lastIndexOutside(s, '@')
	if at < 0 {
		return unquote(s), ""
	}
	return unquote(strings.Trim(s[:at], " \t")), strings.Trim(s[at+1:], " \t")
}

// scan calls f for each byte of s outside quoted strings, comments and domain
// literals, until f returns false.
func scan(s string, f func(i int) bool) {
	quoted, literal, comment := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted || literal || comment > 0:
			switch {
			case c == '\\':
				i++
			case quoted && c == '"':
				quoted = false
			case literal && c == ']':
				literal = false
			case comment > 0 && c == '(':
				comment++
			case comment > 0 && c == ')':
				comment--
			}
		case c == '"':
			quoted = true
		case c == '(':
			comment = 1
		default:
			if c == '[' {
				literal = true
			}
			if !f(i) {
				return
			}
		}
	}
}

// indexOutside is the index of the first c in s outside quoted strings,
// comments and domain literals, or -1.
func indexOutside(s string, c byte) int {
	at := -1
	scan(s, func(i int) bool {
		if s[i] == c {
			at = i
			return false
		}
		return true
	})
	return at
}

// lastIndexOutside is like indexOutside for the last c.
func lastIndexOutside(s string, c byte) int {
	at := -1
	scan(s, func(i int) bool {
		if s[i] == c {
			at = i
		}
		return true
	})
	return at
}

// stripComments removes the comments from s (outside quoted strings) and
// returns the first one's text, trimmed.
func stripComments(s string) (string, string) {
	if !strings.Contains(s, "(") {
		return s, ""
	}
	var b, first strings.Builder
	quoted, comment, n := false, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case comment > 0:
			switch c {
			case '\\':
				if i+1 < len(s) {
					i++
					c = s[i]
				}
			case '(':
				comment++
			case ')':
				comment--
				if comment == 0 {
					n++
					continue
				}
			}
			if n == 0 {
				first.WriteByte(c)
			}
		case quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
			b.WriteByte(c)
		case c == '(':
			comment = 1
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), strings.Trim(first.String(), " \t")
}

// phrase is a display name: quoted strings unquoted, comments dropped, runs
// of white space made one space. Encoded-words are kept.
func phrase(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
		case c == '(':
			depth := 1
			for i++; i < len(s) && depth > 0; i++ {
				switch s[i] {
				case '\\':
					i++
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			i--
			space = true
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if c != '"' {
				b.WriteByte(c)
				continue
			}
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
		}
	}
	return b.String()
}

// unquote removes the quotes (and quoting backslashes) of quoted strings in
// a local part.
func unquote(s string) string {
	if !strings.Contains(s, `"`) {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
