package structure

import (
	"net/mail"
	"strings"
	"time"
)

// parseDate parses a Date field: RFC 5322 first, then a few forms seen in the
// wild. It returns the zero time if nothing fits.
func parseDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(s)
	if name, _ := t.Zone(); err != nil || name != "" {
		// net/mail gives zone names such as EDT (RFC 5322 section
		// 4.3) an offset of zero.
		if lt, lerr := lenientDate(s); lerr == nil {
			t, err = lt, nil
		}
	}
	if err != nil {
		return time.Time{}
	}
	return normTime(t)
}

// normTime is t in a fixed zone of its offset, with no other location data:
// what time.Parse returns depends on the machine's local zone, and encoded
// structures must decode to what Parse returned.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{} // also what the encoding gives back
	}
	_, off := t.Zone()
	return time.Unix(t.Unix(), int64(t.Nanosecond())).In(time.FixedZone("", off))
}

var dateLayouts = []string{
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04 -0700",
	"2 Jan 2006 15:04:05 -07:00",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
	"Jan 2 2006 15:04:05 -0700",
	"Jan 2 15:04:05 2006",
	"Jan 2 15:04:05 -0700 2006",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2-Jan-2006 15:04:05 -0700",
}

// zones are the obsolete zone names of RFC 5322 section 4.3, and a few more.
var zones = map[string]string{
	"UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"CET": "+0100", "CEST": "+0200", "BST": "+0100",
}

var weekdays = map[string]bool{
	"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true,
}

// lenientDate parses a date after dropping comments, commas, the day of the
// week and a zone name after a numeric zone, and shortening month names.
func lenientDate(s string) (time.Time, error) {
	s, _ = stripComments(s)
	s = strings.ReplaceAll(s, ",", " ")
	f := strings.Fields(s)
	if len(f) > 0 && len(f[0]) >= 3 && weekdays[strings.ToLower(f[0][:3])] {
		f = f[1:]
	}
	for i, w := range f {
		if len(w) > 3 && isMonth(w[:3]) && isAlpha(w) {
			f[i] = w[:3]
		}
	}
	if n := len(f); n > 0 {
		if z, ok := zones[strings.ToUpper(f[n-1])]; ok {
			if n > 1 && (strings.HasPrefix(f[n-2], "+") || strings.HasPrefix(f[n-2], "-")) {
				f = f[:n-1] // "+0100 CET"
			} else {
				f[n-1] = z
			}
		}
	}
	s = strings.Join(f, " ")
	var err error
	for _, layout := range dateLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

func isMonth(s string) bool {
	_, err := time.Parse("Jan", s)
	return err == nil
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
