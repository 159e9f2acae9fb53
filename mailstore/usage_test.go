package mailstore

import (
	"context"
	"testing"
	"time"
)

// Usage counts every mailbox of an account and follows deliveries,
// copies, expunges, mailbox deletes and an INBOX rename (which moves the
// messages without changing the total).
func TestUsage(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	want := func(step string, bytes int64, msgs int) {
		t.Helper()
		u, err := s.Usage("a")
		if err != nil {
			t.Fatal(err)
		}
		if u.Bytes != bytes || u.Messages != msgs {
			t.Errorf("%s: usage %+v, want %d bytes in %d messages", step, u, bytes, msgs)
		}
	}
	want("unknown account", 0, 0)
	m1, m2 := sampleMessage(1, 1000), sampleMessage(2, 5000)
	deliver(t, s, m1, Target{Account: "a"})
	deliver(t, s, m2, Target{Account: "a"}, Target{Account: "b"})
	n1, n2 := int64(len(m1)), int64(len(m2))
	want("two delivered", n1+n2, 2)
	want("again, from memory", n1+n2, 2)
	if err := s.CreateMailbox(ctx, "a", "Archive"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Copy(ctx, "a", "INBOX", []uint32{2}, "Archive", false); err != nil {
		t.Fatal(err)
	}
	want("a copy counts", n1+2*n2, 3)
	if _, err := s.Expunge(ctx, "a", "INBOX", []uint32{1}); err != nil {
		t.Fatal(err)
	}
	want("expunged", 2*n2, 2)
	if err := s.RenameMailbox(ctx, "a", "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	want("INBOX renamed", 2*n2, 2)
	if err := s.DeleteMailbox(ctx, "a", "Archive"); err != nil {
		t.Fatal(err)
	}
	want("Archive deleted", n2, 1)
	if u, _ := s.Usage("b"); u.Bytes != n2 || u.Messages != 1 {
		t.Errorf("other account: %+v", u)
	}
}

// ExpungeOlder removes only messages older than the cutoff, at most
// limit per call, across mailboxes, and subscribers hear of it.
func TestExpungeOlder(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if err := s.CreateMailbox(ctx, "a", "Sent"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 5 {
		deliver(t, s, sampleMessage(i, 100), Target{Account: "a", Date: now.Add(-time.Duration(40+i) * 24 * time.Hour)})
	}
	deliver(t, s, sampleMessage(9, 100), Target{Account: "a", Mailbox: "Sent", Date: now.Add(-50 * 24 * time.Hour)})
	deliver(t, s, sampleMessage(10, 100), Target{Account: "a", Date: now.Add(-time.Hour)})
	deliver(t, s, sampleMessage(11, 100), Target{Account: "b", Date: now.Add(-100 * 24 * time.Hour)})
	sub := s.Subscribe()
	defer sub.Close()

	cutoff := now.Add(-30 * 24 * time.Hour)
	total := 0
	for range 10 {
		n, err := s.ExpungeOlder(ctx, "a", cutoff, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n > 4 {
			t.Fatalf("batch of %d, limit 4", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 6 {
		t.Errorf("expunged %d, want 6", total)
	}
	if u, _ := s.Usage("a"); u.Messages != 1 {
		t.Errorf("left in a: %d messages, want the recent one", u.Messages)
	}
	if u, _ := s.Usage("b"); u.Messages != 1 {
		t.Errorf("another account's message went too")
	}
	<-sub.C()
	changes, _ := sub.Changes()
	expunged := 0
	for _, ch := range changes {
		if ch.Kind == MessagesExpunged {
			expunged += len(ch.UIDs)
		}
	}
	if expunged == 0 {
		t.Error("no MessagesExpunged change for subscribers")
	}
}
