package configs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is a number of bytes. In TOML it is an integer (bytes) or a string
// of an integer with an optional unit: B, KB, MB, GB, TB (powers of 1000)
// or KiB, MiB, GiB, TiB (powers of 1024), case-insensitive, e.g. "50MiB",
// "10MB", "1024".
type Size int64

// Size units, for code that builds sizes.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

var sizeUnits = []struct {
	name string
	mult int64
}{
	// Binary units first: String prefers them.
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

const sizeHint = `want bytes with an optional unit: KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based), e.g. "50MiB"`

// ParseSize parses a size such as "50MiB", "10MB" or "1024".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("invalid size %q: must not be negative", s)
		}
		return 0, fmt.Errorf("invalid size %q: %s", s, sizeHint)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	unit := strings.TrimSpace(t[i:])
	if unit == "" {
		return Size(n), nil
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("invalid size %q: too large", s)
			}
			return Size(n * u.mult), nil
		}
	}
	return 0, fmt.Errorf("invalid size %q: unknown unit %q; %s", s, unit, sizeHint)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// MarshalText implements encoding.TextMarshaler; it is String.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// String returns the size with the largest unit that represents it
// exactly, binary units first: "50MiB", "10MB", "1000000001".
func (z Size) String() string {
	if z > 0 {
		for _, u := range sizeUnits {
			if int64(z)%u.mult == 0 && u.mult > 1 {
				return strconv.FormatInt(int64(z)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(z), 10)
}

// Duration is a time.Duration that also accepts days: every Go duration
// ("90m", "1h30m", "15s") plus a leading number of days, "30d" or "1d12h".
// In TOML it is a string.
type Duration time.Duration

const durationHint = `want e.g. "90s", "15m", "12h", "30d" or "1d12h"`

const day = 24 * time.Hour

// ParseDuration parses a Go duration with an optional leading number of
// days: "30d", "1d12h", "90m".
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	neg := false
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		neg, t = true, rest
	} else if rest, ok := strings.CutPrefix(t, "+"); ok {
		t = rest
	}
	var d time.Duration
	if days, rest, ok := strings.Cut(t, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || days[0] == '+' {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number; %s", s, durationHint)
		}
		if n > int64(math.MaxInt64/day) {
			return 0, fmt.Errorf("invalid duration %q: too long", s)
		}
		d = time.Duration(n) * day
		t = rest
		if t == "" {
			return sign(d, neg), nil
		}
		if strings.ContainsAny(t[:1], "+-") {
			return 0, fmt.Errorf("invalid duration %q: %s", s, durationHint)
		}
	}
	r, err := time.ParseDuration(t)
	if err != nil || r < 0 {
		return 0, fmt.Errorf("invalid duration %q: %s", s, durationHint)
	}
	if d > math.MaxInt64-r {
		return 0, fmt.Errorf("invalid duration %q: too long", s)
	}
	return sign(d+r, neg), nil
}

func sign(d time.Duration, neg bool) Duration {
	if neg {
		return Duration(-d)
	}
	return Duration(d)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler; it is String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d in the form ParseDuration reads, with days and without
// zero parts: "30d", "1d12h", "15m", "1m30s"; durations with fractions of
// a second are written as time.Duration writes them, "1.5s".
func (d Duration) String() string {
	td := time.Duration(d)
	if td == 0 {
		return "0s"
	}
	if td%time.Second != 0 || td == math.MinInt64 {
		return td.String()
	}
	var b strings.Builder
	if td < 0 {
		b.WriteByte('-')
		td = -td
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := td / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			td -= n * u.unit
		}
	}
	return b.String()
}
