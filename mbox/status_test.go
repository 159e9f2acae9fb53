package mbox

import (
	"strings"
	"testing"
)

func TestTakeFlags(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		flags string
		rest  string
	}{
		{"none", "Subject: x\r\n\r\nStatus: RO\r\n", "", "Subject: x\r\n\r\nStatus: RO\r\n"},
		{"all", "Status: RO\nX-Status: AFTD\nX-Keywords: $Label1, Junk\n  more\nSubject: x\n\nbody\n",
			`\Seen \Answered \Flagged \Draft \Deleted $Label1 Junk more`, "Subject: x\n\nbody\n"},
		{"unread", "Subject: x\r\nstatus: O\r\n\r\nb", "", "Subject: x\r\n\r\nb"},
		{"no body", "X-Status: F\nSubject: x\n", `\Flagged`, "Subject: x\n"},
		{"bad keywords dropped", "X-Keywords: ok (bad) \"q\"\n\n", "ok", "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, rest := TakeFlags([]byte(tt.in))
			if got := strings.Join(flags, " "); got != tt.flags {
				t.Errorf("flags %q, want %q", got, tt.flags)
			}
			if string(rest) != tt.rest {
				t.Errorf("rest %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestFlagHeadersRoundTrip(t *testing.T) {
	flags := []string{`\Seen`, `\Flagged`, `\Answered`, `\Recent`, "$Forwarded", "bad word"}
	h := FlagHeaders(flags)
	if string(h) != "Status: RO\nX-Status: AF\nX-Keywords: $Forwarded\n" {
		t.Errorf("FlagHeaders: %q", h)
	}
	got, rest := TakeFlags(append(h, "Subject: x\n\nbody\n"...))
	if strings.Join(got, " ") != `\Seen \Answered \Flagged $Forwarded` || string(rest) != "Subject: x\n\nbody\n" {
		t.Errorf("read back %q, %q", got, rest)
	}
	if FlagHeaders(nil) != nil || FlagHeaders([]string{`\Recent`}) != nil {
		t.Error("FlagHeaders of no flags is not nil")
	}
}
