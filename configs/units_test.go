package configs

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Size
		wantErr string // substring; "" means no error
	}{
		{"binary MiB", "50MiB", 50 << 20, ""},
		{"decimal MB", "10MB", 10_000_000, ""},
		{"binary GiB", "1GiB", 1 << 30, ""},
		{"bare bytes", "512", 512, ""},
		{"unit B", "512B", 512, ""},
		{"KB", "3KB", 3000, ""},
		{"KiB", "3KiB", 3072, ""},
		{"GB", "2GB", 2_000_000_000, ""},
		{"TiB", "1TiB", 1 << 40, ""},
		{"lower case unit", "50mib", 50 << 20, ""},
		{"space before unit", "50 MiB", 50 << 20, ""},
		{"surrounding space", " 7 ", 7, ""},
		{"zero", "0", 0, ""},
		{"empty", "", 0, "invalid size"},
		{"unit only", "MiB", 0, "invalid size"},
		{"negative", "-5MiB", 0, "negative"},
		{"fraction", "1.5GiB", 0, "unknown unit"},
		{"unknown unit", "50 megs", 0, `unknown unit "megs"`},
		{"bare M", "50M", 0, "unknown unit"},
		{"overflow number", "99999999999999999999", 0, "too large"},
		{"overflow unit", "9000000TiB", 0, "too large"},
		{"hex", "0x10", 0, "unknown unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSize(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0"},
		{50 << 20, "50MiB"},
		{10_000_000, "10MB"},
		{1 << 30, "1GiB"},
		{1536, "1536"}, // 1.5KiB, 1.536KB: no whole unit
		{1000, "1KB"},
		{1001, "1001"},
		{-5, "-5"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if tt.in < 0 {
			continue
		}
		back, err := ParseSize(tt.in.String())
		if err != nil || back != tt.in {
			t.Errorf("ParseSize(%q) = %d, %v; want %d back", tt.in.String(), back, err, tt.in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"days", "30d", 30 * 24 * time.Hour, false},
		{"days and hours", "1d12h", 36 * time.Hour, false},
		{"minutes", "90m", 90 * time.Minute, false},
		{"go compound", "1h30m15s", time.Hour + 30*time.Minute + 15*time.Second, false},
		{"days and more", "2d3h4m5s", 51*time.Hour + 4*time.Minute + 5*time.Second, false},
		{"sub-second", "1.5s", 1500 * time.Millisecond, false},
		{"zero", "0", 0, false},
		{"zero days", "0d", 0, false},
		{"negative", "-1h", -time.Hour, false},
		{"negative days", "-1d", -24 * time.Hour, false},
		{"space", " 15m ", 15 * time.Minute, false},
		{"empty", "", 0, true},
		{"no unit", "15", 0, true},
		{"d alone", "d", 0, true},
		{"fraction of days", "1.5d", 0, true},
		{"days twice", "1d1d", 0, true},
		{"days after hours", "12h1d", 0, true},
		{"sign inside", "1d-12h", 0, true},
		{"double sign", "--1h", 0, true},
		{"unknown unit", "3w", 0, true},
		{"too many days", "200000d", 0, true},
		{"overflow sum", "106751d23h47m17s", 0, true},
		{"word", "forever", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v; want an error", tt.in, got.D())
				}
				if !strings.Contains(err.Error(), "invalid duration") {
					t.Errorf("error %q does not say what is wrong", err)
				}
				return
			}
			if err != nil || got.D() != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got.D(), err, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{30 * 24 * time.Hour, "30d"},
		{36 * time.Hour, "1d12h"},
		{15 * time.Minute, "15m"},
		{90 * time.Second, "1m30s"},
		{24*time.Hour + time.Second, "1d1s"},
		{-2 * time.Hour, "-2h"},
		{1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		got := Duration(tt.in).String()
		if got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseDuration(got)
		if err != nil || back.D() != tt.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v back", got, back.D(), err, tt.in)
		}
	}
}

// TestUnitsInTOML checks how sizes arrive from the file: strings and
// integers. Durations as bare numbers are covered in TestProblems.
func TestUnitsInTOML(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantSize  Size
		wantError string
	}{
		{"size string", `max_message_size = "10MB"`, 10_000_000, ""},
		{"size integer", `max_message_size = 1024`, 1024, ""},
		{"size bad", `max_message_size = "lots"`, 0, `3: smtp.max_message_size: invalid size "lots"`},
		{"size float", `max_message_size = 1.5`, 0, "3: smtp.max_message_size: want a size"},
		{"size negative integer", `max_message_size = -1`, 0, "3: smtp.max_message_size must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The size is on line 3.
			doc := "\n[smtp]\n" + tt.line + "\n" + oneAccount
			c, err := Parse([]byte(doc), "t.toml")
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), "t.toml:"+tt.wantError) {
					t.Fatalf("got error %v, want one containing %q", err, "t.toml:"+tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.SMTP.MaxMessageSize != tt.wantSize {
				t.Errorf("got size %d, want %d", c.SMTP.MaxMessageSize, tt.wantSize)
			}
		})
	}
}
