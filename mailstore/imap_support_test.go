package mailstore

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestMessagesByUID(t *testing.T) {
	s := openTestStore(t)
	var uids []uint32
	for i := range 5 {
		d := deliver(t, s, sampleMessage(i, 100), Target{Account: "app"})
		uids = append(uids, d[0].UID)
	}
	if _, err := s.Expunge(context.Background(), "app", "INBOX", []uint32{uids[2]}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ask  []uint32
		want []uint32
	}{
		{"none", nil, nil},
		{"all, unsorted, with duplicates and a gone one", []uint32{uids[4], uids[0], uids[2], uids[0], uids[1], uids[3]}, []uint32{uids[0], uids[1], uids[3], uids[4]}},
		{"unknown", []uint32{999}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			infos, err := s.MessagesByUID("app", "inbox", tc.ask)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			for _, m := range infos {
				got = append(got, m.UID)
				if m.Blob == 0 || m.Size == 0 {
					t.Errorf("uid %d: incomplete info %+v", m.UID, m)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if infos, err := s.MessagesByUID("other", "INBOX", []uint32{1}); err != nil || len(infos) != 0 {
		t.Errorf("missing INBOX: %v, %v; want empty", infos, err)
	}
	if _, err := s.MessagesByUID("app", "Nope", []uint32{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing mailbox: %v, want ErrNotFound", err)
	}
	if _, err := s.MessagesByUID("app", "a/../b", []uint32{1}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad name: %v, want ErrInvalidName", err)
	}
}

func TestExpungeDeleted(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var uids []uint32
	for i := range 4 {
		d := deliver(t, s, sampleMessage(i, 100), Target{Account: "app"})
		uids = append(uids, d[0].UID)
	}
	if _, err := s.SetFlags(ctx, "app", "INBOX", []uint32{uids[0], uids[1], uids[3]}, FlagsAdd, []string{`\deleted`}); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe()
	defer sub.Close()
	// uids[3] has \Deleted but is not asked for; uids[2] is asked for but
	// not \Deleted.
	gone, err := s.ExpungeDeleted(ctx, "app", "INBOX", []uint32{uids[2], uids[1], uids[0], 77})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{uids[0], uids[1]}; !slices.Equal(gone, want) {
		t.Fatalf("expunged %v, want %v", gone, want)
	}
	snap, err := s.Messages("app", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var left []uint32
	for _, m := range snap.Messages {
		left = append(left, m.UID)
	}
	if want := []uint32{uids[2], uids[3]}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	changes, _ := sub.Changes()
	if len(changes) != 1 || changes[0].Kind != MessagesExpunged || !slices.Equal(changes[0].UIDs, gone) {
		t.Errorf("changes %+v, want one MessagesExpunged of %v", changes, gone)
	}
	// Nothing to do: no commit-visible change, no error.
	if gone, err := s.ExpungeDeleted(ctx, "app", "INBOX", []uint32{uids[2]}); err != nil || len(gone) != 0 {
		t.Errorf("second expunge: %v, %v", gone, err)
	}
	if gone, err := s.ExpungeDeleted(ctx, "app", "Nope", []uint32{1}); err != nil || len(gone) != 0 {
		t.Errorf("missing mailbox: %v, %v", gone, err)
	}
}
