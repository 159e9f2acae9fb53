package maildir

import (
	"strings"
	"testing"
)

func TestInfoRoundTrip(t *testing.T) {
	kw := &Keywords{}
	info, dropped := Info([]string{`\Seen`, `\Answered`, "$Forwarded", `\Recent`, "Work", `\seen`, "Home"}, kw)
	if info != ":2,PRSab" || dropped != nil {
		t.Errorf("Info: %q, dropped %q", info, dropped)
	}
	unique, flags := ParseName("1700000000.U1V2.maildock"+info, kw)
	if unique != "1700000000.U1V2.maildock" || strings.Join(flags, " ") != `$Forwarded \Answered \Seen Work Home` {
		t.Errorf("ParseName: %q %q", unique, flags)
	}
	for name, want := range map[string]string{
		"123.abc":             "",
		"123.abc:2,":          "",
		"123.abc:2,DFT":       `\Draft \Flagged \Deleted`,
		"123.abc;2,S":         `\Seen`,
		"123.abc:1,S":         "",
		"123.abc:2,Sz":        `\Seen`,
		"1.M2P3.host,S=9:2,S": `\Seen`,
	} {
		unique, flags := ParseName(name, &Keywords{})
		if got := strings.Join(flags, " "); got != want || strings.ContainsAny(unique, ":;") {
			t.Errorf("ParseName(%q) = %q %q, want flags %q", name, unique, got, want)
		}
	}
}

func TestKeywordsFile(t *testing.T) {
	dir := t.TempDir()
	kw := &Keywords{}
	for i := 0; i < 30; i++ {
		_, dropped := Info([]string{"k" + string(rune('A'+i))}, kw)
		if (i < 26) != (dropped == nil) {
			t.Errorf("keyword %d: dropped %q", i, dropped)
		}
	}
	if err := WriteKeywords(dir, kw); err != nil {
		t.Fatal(err)
	}
	back, err := ReadKeywords(dir)
	if err != nil || back.Len() != 26 || back.name('c') != "kC" {
		t.Errorf("read back %v, %v", back, err)
	}
	if k, err := ReadKeywords(t.TempDir()); err != nil || k.Len() != 0 {
		t.Errorf("missing file: %v %v", k, err)
	}
}

func TestFolderNames(t *testing.T) {
	tests := []struct{ mailbox, dir string }{
		{"INBOX", ""},
		{"Sent", ".Sent"},
		{"Archive/2024", ".Archive.2024"},
		{"v1.2/50% off", ".v1%2E2.50%25 off"},
		{`a:b\c*`, ".a%3Ab%5Cc%2A"},
		{"Entwürfe", ".Entwürfe"},
	}
	for _, tt := range tests {
		if got := FolderName(tt.mailbox); got != tt.dir {
			t.Errorf("FolderName(%q) = %q, want %q", tt.mailbox, got, tt.dir)
		}
		if got, ok := FolderMailbox(tt.dir); !ok || got != tt.mailbox {
			t.Errorf("FolderMailbox(%q) = %q %v, want %q", tt.dir, got, ok, tt.mailbox)
		}
	}
	for _, dir := range []string{"cur", "..", ".a..b", "."} {
		if mb, ok := FolderMailbox(dir); ok && dir != "." {
			t.Errorf("FolderMailbox(%q) = %q, want not a folder", dir, mb)
		}
	}
	if got := UnescapeName("100%"); got != "100%" {
		t.Errorf("UnescapeName(100%%) = %q", got)
	}
}
