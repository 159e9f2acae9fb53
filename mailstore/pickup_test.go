package mailstore

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestPickupQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildock.db")
	s := openAt(t, path)
	ctx := context.Background()
	sub := s.Subscribe()
	defer sub.Close()

	kept := deliver(t, s, sampleMessage(1, 500), Target{Account: "app", Pickup: true, EnvFrom: "a@example.org", EnvTo: []string{"x@app.test", "y@app.test"}})
	only := deliver(t, s, sampleMessage(2, 700), Target{Account: "app", Pickup: true, PickupOnly: true, EnvFrom: "b@example.org", EnvTo: []string{"x@app.test"}})
	deliver(t, s, sampleMessage(3, 300), Target{Account: "other"})

	if only[0].UID != 0 || only[0].Mailbox != "" {
		t.Errorf("pickup-only delivery was filed: %+v", only[0])
	}
	if snap, _ := s.Messages("app", "INBOX"); len(snap.Messages) != 1 {
		t.Errorf("INBOX has %d messages, want 1 (the kept one)", len(snap.Messages))
	}
	changes, _ := sub.Changes()
	queued := 0
	for _, c := range changes {
		if c.Kind == PickupQueued && c.Account == "app" {
			queued++
		}
	}
	if queued != 2 {
		t.Errorf("%d PickupQueued changes, want 2", queued)
	}

	// The kept copy is expunged by an IMAP client before its file is written:
	// the queue's reference keeps the body.
	if _, err := s.Expunge(ctx, "app", "INBOX", []uint32{kept[0].UID}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)

	items, err := s.PendingPickups("app", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Seq >= items[1].Seq {
		t.Fatalf("pending = %+v", items)
	}
	if it := items[0]; it.From != "a@example.org" || !slices.Equal(it.To, []string{"x@app.test", "y@app.test"}) || it.Mailbox != "INBOX" || it.UID != kept[0].UID || it.Size != int64(len(sampleMessage(1, 500))) {
		t.Errorf("first item = %+v", it)
	}
	for i, it := range items {
		raw, err := s.ReadBlob(it.Blob)
		if err != nil || !bytes.Equal(raw, sampleMessage(i+1, 500+200*i)) {
			t.Errorf("item %d body: err %v", i, err)
		}
	}
	if n, _ := s.PickupBacklog("app"); n != 2 {
		t.Errorf("backlog = %d, want 2", n)
	}
	if err := s.DonePickups(ctx, "app", []uint64{items[0].Seq, items[1].Seq, 999}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PickupBacklog("app"); n != 0 {
		t.Errorf("backlog after done = %d", n)
	}
	for _, it := range items {
		if _, err := s.OpenBlob(it.Blob); !errors.Is(err, ErrNotFound) {
			t.Errorf("blob %d after its file is done and mailbox copy expunged: %v", it.Blob, err)
		}
	}
	// Done twice is harmless.
	if err := s.DonePickups(ctx, "app", []uint64{items[0].Seq}); err != nil {
		t.Error(err)
	}
}
