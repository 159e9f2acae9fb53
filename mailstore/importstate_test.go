package mailstore

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Import stores messages with their flags and dates, makes mailboxes,
// and skips, then and later, what it stored before.
func TestImportOnce(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.FixedZone("", -7200))
	item := func(i int, mailbox string) ImportItem {
		raw := sampleMessage(i, 500)
		return ImportItem{Key: ImportKey(mailbox, "src.mbox@"+string(rune('0'+i)), raw), Message: readMsg(t, raw),
			Mailbox: mailbox, Flags: []string{"\\seen", "Work"}, Date: date}
	}
	items := []ImportItem{item(1, "INBOX"), item(2, "Archive/2020"), item(1, "INBOX")}
	n, err := s.Import(ctx, "a", items)
	if err != nil || n != 2 {
		t.Fatalf("Import: %d, %v; want 2 (one key twice)", n, err)
	}
	if ok, _ := s.Imported("a", items[1].Key); !ok {
		t.Error("Imported does not know an imported key")
	}
	if ok, _ := s.Imported("b", items[1].Key); ok {
		t.Error("keys are per account")
	}
	n, err = s.Import(ctx, "a", []ImportItem{item(2, "Archive/2020"), item(3, "Archive/2020")})
	if err != nil || n != 1 {
		t.Fatalf("second Import: %d, %v; want 1", n, err)
	}
	snap, err := s.Messages("a", "Archive/2020")
	if err != nil || len(snap.Messages) != 2 {
		t.Fatalf("Archive/2020: %v, %v", snap, err)
	}
	m := snap.Messages[0]
	raw, _ := s.ReadBlob(m.Blob)
	if !bytes.Equal(raw, sampleMessage(2, 500)) || !m.InternalDate.Equal(date) || len(m.Flags) != 2 || m.Flags[0] != FlagSeen {
		t.Errorf("imported message: %+v", m)
	}
	if sum, _ := s.Summary(); sum.Messages != 3 || sum.Mailboxes != 2 || sum.Accounts != 1 {
		t.Errorf("summary %+v", sum)
	}
	for _, err := range s.Check(ctx) {
		t.Error(err)
	}
	if _, err := s.Import(ctx, "a", []ImportItem{item(4, "bad/../name")}); err == nil {
		t.Error("import into an invalid mailbox name")
	}
}

func TestImportKey(t *testing.T) {
	a := ImportKey("INBOX", "x.mbox@0", []byte("m"))
	for _, k := range [][32]byte{ImportKey("Other", "x.mbox@0", []byte("m")), ImportKey("INBOX", "x.mbox@1", []byte("m")),
		ImportKey("INBOX", "x.mbox@0", []byte("n"))} {
		if k == a {
			t.Error("different messages share a key")
		}
	}
	if ImportKey("INBOX", "x.mbox@0", []byte("m")) != a {
		t.Error("the same message gets another key")
	}
}
