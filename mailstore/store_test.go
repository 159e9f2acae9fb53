package mailstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTestStore opens a store in a temporary directory and checks its
// invariants when the test ends.
func openTestStore(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "maildock.db"))
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if s.closed {
			return
		}
		for _, err := range s.Check(context.Background()) {
			t.Errorf("store check: %v", err)
		}
		s.Close()
	})
	return s
}

func readMsg(t testing.TB, raw []byte) *Message {
	t.Helper()
	m, err := ReadMessage(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	return m
}

func deliver(t testing.TB, s *Store, raw []byte, targets ...Target) []Delivered {
	t.Helper()
	d, err := s.Deliver(context.Background(), readMsg(t, raw), targets)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return d
}

func sampleMessage(i int, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@example.org\r\nTo: app@app.localhost\r\nSubject: test %d\r\nMessage-ID: <%d@test>\r\n\r\n", i, i)
	for b.Len() < size {
		fmt.Fprintf(&b, "line %d of message %d, padding padding padding padding\r\n", b.Len(), i)
	}
	return b.Bytes()
}

func TestDeliverReadBackAcrossChunkBoundaries(t *testing.T) {
	s := openTestStore(t)
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			raw := bytes.Repeat([]byte("x\r\n.y\n"), size/6+1)[:size]
			d := deliver(t, s, raw, Target{Account: "app"})
			got, err := s.ReadBlob(d[0].Blob)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("read back %d bytes, differs from the %d delivered", len(got), len(raw))
			}
			info, err := s.Message("app", "INBOX", d[0].UID)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != int64(size) {
				t.Errorf("Size = %d, want %d", info.Size, size)
			}
			if want := int64(size) + int64(bytes.Count(raw, []byte("\n"))-bytes.Count(raw, []byte("\r\n"))); info.CRLFSize != want {
				t.Errorf("CRLFSize = %d, want %d", info.CRLFSize, want)
			}
			// Partial reads at every chunk edge.
			r, err := s.OpenBlob(d[0].Blob)
			if err != nil {
				t.Fatal(err)
			}
			for _, off := range []int{0, ChunkSize - 1, ChunkSize, 2*ChunkSize + 5} {
				if off >= size {
					continue
				}
				buf := make([]byte, 10)
				n, err := r.ReadAt(buf, int64(off))
				if err != nil && err != io.EOF {
					t.Fatalf("ReadAt(%d): %v", off, err)
				}
				if !bytes.Equal(buf[:n], raw[off:min(off+10, size)]) {
					t.Errorf("ReadAt(%d) = %q, want %q", off, buf[:n], raw[off:min(off+10, size)])
				}
			}
		})
	}
}

func TestRestartKeepsMessagesAndUIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildock.db")
	s := openAt(t, path)
	var raws [][]byte
	var first []Delivered
	for i := range 5 {
		raw := sampleMessage(i, 1000*(i+1))
		raws = append(raws, raw)
		first = append(first, deliver(t, s, raw, Target{Account: "app"})...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path)
	snap, err := s.Messages("app", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Messages) != 5 {
		t.Fatalf("%d messages after restart, want 5", len(snap.Messages))
	}
	for i, m := range snap.Messages {
		if m.UID != uint32(i+1) || snap.UIDValidity != first[i].UIDValidity {
			t.Errorf("message %d: uid %d validity %d, want %d %d", i, m.UID, snap.UIDValidity, i+1, first[i].UIDValidity)
		}
		got, err := s.ReadBlob(m.Blob)
		if err != nil || !bytes.Equal(got, raws[i]) {
			t.Errorf("message %d not byte-exact after restart (err %v)", i, err)
		}
	}
	// UIDs are never reused, even after the highest is expunged.
	if _, err := s.Expunge(context.Background(), "app", "INBOX", []uint32{5}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	d := deliver(t, s, raws[0], Target{Account: "app"})
	if d[0].UID != 6 {
		t.Errorf("uid after expunging 5 and restarting = %d, want 6", d[0].UID)
	}
}

func TestDeliverSeveralTargetsSharesOneBody(t *testing.T) {
	s := openTestStore(t)
	raw := sampleMessage(1, 500)
	d := deliver(t, s, raw,
		Target{Account: "a"}, Target{Account: "b"}, Target{Account: "a", Mailbox: "inbox"}, Target{Account: "b", Mailbox: "INBOX"})
	if len(d) != 2 {
		t.Fatalf("delivered to %d mailboxes, want 2 (one per account): %+v", len(d), d)
	}
	if d[0].Blob != d[1].Blob {
		t.Errorf("blobs %d and %d: want one shared body", d[0].Blob, d[1].Blob)
	}
	if _, err := s.Expunge(context.Background(), "a", "INBOX", []uint32{d[0].UID}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadBlob(d[1].Blob)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("b's copy after a expunged: err %v", err)
	}
	if _, err := s.Expunge(context.Background(), "b", "INBOX", []uint32{d[1].UID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBlob(d[1].Blob); !errors.Is(err, ErrNotFound) {
		t.Errorf("blob after last reference expunged: err %v, want ErrNotFound", err)
	}
}

func TestGroupCommitUnderConcurrency(t *testing.T) {
	s := openTestStore(t)
	const senders, each = 16, 8
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m, err := ReadMessage(bytes.NewReader(sampleMessage(g*each+i, 4096)), 0)
				if err == nil {
					_, err = s.Deliver(context.Background(), m, []Target{{Account: "app"}})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	snap, err := s.Messages("app", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Messages) != senders*each {
		t.Fatalf("%d messages stored, want %d", len(snap.Messages), senders*each)
	}
	commits, writes := s.CommitStats()
	t.Logf("%d writes in %d commits", writes, commits)
	if writes < senders*each || commits > writes {
		t.Errorf("stats: %d writes in %d commits", writes, commits)
	}
}

// One member of a group fails (it targets a mailbox that does not exist):
// it gets its error, and every other member is stored exactly once.
func TestGroupCommitMemberFailure(t *testing.T) {
	s := openTestStore(t)
	const n = 60
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := Target{Account: "app"}
			if i%5 == 0 {
				target.Mailbox = "Missing"
			}
			m, err := ReadMessage(bytes.NewReader(sampleMessage(i, 2048)), 0)
			if err == nil {
				_, err = s.Deliver(context.Background(), m, []Target{target})
			}
			results[i] = err
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range results {
		if i%5 == 0 {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("delivery %d to a missing mailbox: err %v, want ErrNotFound", i, err)
			}
			continue
		}
		want++
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	snap, err := s.Messages("app", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for _, m := range snap.Messages {
		raw, err := s.ReadBlob(m.Blob)
		if err != nil {
			t.Fatal(err)
		}
		subj := strings.SplitN(string(raw), "\r\n", 4)[2]
		subjects[subj]++
	}
	if len(snap.Messages) != want || len(subjects) != want {
		t.Errorf("%d messages, %d distinct; want %d of each", len(snap.Messages), len(subjects), want)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildock.db")
	openAt(t, path)
	start := time.Now()
	_, err := Open(Options{Path: path, LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: err %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another maildock") {
		t.Errorf("error %q does not say what to do", err)
	}
	t.Logf("second open failed after %v", time.Since(start).Round(time.Millisecond))
}

func TestFlagsExpungeCopyMove(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	for i := range 4 {
		deliver(t, s, sampleMessage(i, 300), Target{Account: "app"})
	}
	got, err := s.SetFlags(ctx, "app", "INBOX", []uint32{1, 2, 99}, FlagsAdd, []string{`\seen`, "$Label1", `\SEEN`})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got[0].Flags, []string{FlagSeen, "$Label1"}) {
		t.Fatalf("SetFlags add = %+v", got)
	}
	got, _ = s.SetFlags(ctx, "app", "INBOX", []uint32{1}, FlagsRemove, []string{"$label1"})
	if !slices.Equal(got[0].Flags, []string{FlagSeen}) {
		t.Errorf("after remove: %v", got[0].Flags)
	}
	got, _ = s.SetFlags(ctx, "app", "INBOX", []uint32{2}, FlagsReplace, []string{`\Deleted`})
	if !slices.Equal(got[0].Flags, []string{FlagDeleted}) {
		t.Errorf("after replace: %v", got[0].Flags)
	}
	st, err := s.Status("app", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 4 || st.Unseen != 3 || st.Deleted != 1 || st.UIDNext != 5 {
		t.Errorf("status = %+v", st)
	}

	if err := s.CreateMailbox(ctx, "app", "Archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(ctx, "app", "archive/../x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("create with ..: %v", err)
	}
	if err := s.CreateMailbox(ctx, "app", "Archive"); !errors.Is(err, ErrMailboxExists) {
		t.Errorf("second create: %v", err)
	}
	cr, err := s.Copy(ctx, "app", "INBOX", []uint32{3, 1, 77}, "Archive", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cr.SrcUIDs, []uint32{1, 3}) || !slices.Equal(cr.DstUIDs, []uint32{1, 2}) {
		t.Errorf("copy = %+v", cr)
	}
	mr, err := s.Copy(ctx, "app", "INBOX", []uint32{4}, "Archive", true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mr.DstUIDs, []uint32{3}) {
		t.Errorf("move = %+v", mr)
	}
	gone, err := s.Expunge(ctx, "app", "INBOX", []uint32{1, 2})
	if err != nil || !slices.Equal(gone, []uint32{1, 2}) {
		t.Fatalf("expunge = %v, %v", gone, err)
	}
	inbox, _ := s.Messages("app", "INBOX")
	archive, _ := s.Messages("app", "Archive")
	if len(inbox.Messages) != 1 || inbox.Messages[0].UID != 3 || len(archive.Messages) != 3 {
		t.Errorf("inbox %+v archive %+v", inbox.Messages, archive.Messages)
	}
	// The copy of the expunged UID 1 still reads.
	if b, err := s.ReadBlob(archive.Messages[0].Blob); err != nil || !bytes.Equal(b, sampleMessage(0, 300)) {
		t.Errorf("copy of expunged message: %v", err)
	}

	if err := s.RenameMailbox(ctx, "app", "Archive", "Old/Archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, "app", "INBOX", "Saved"); err != nil {
		t.Fatal(err)
	}
	boxes, err := s.Mailboxes("app")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Name)
	}
	if !slices.Equal(names, []string{"INBOX", "Old/Archive", "Saved"}) {
		t.Errorf("mailboxes = %v", names)
	}
	if inbox, _ := s.Messages("app", "INBOX"); len(inbox.Messages) != 0 {
		t.Errorf("INBOX after rename has %d messages", len(inbox.Messages))
	}
	if err := s.DeleteMailbox(ctx, "app", "Old/Archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, "app", "INBOX"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("delete INBOX: %v", err)
	}
	if _, err := s.Messages("app", "Old/Archive"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted mailbox: %v", err)
	}
}

func TestUIDValidityChangesWhenRecreated(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if err := s.CreateMailbox(ctx, "app", "X"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Messages("app", "X")
	s.DeleteMailbox(ctx, "app", "X")
	s.CreateMailbox(ctx, "app", "X")
	b, _ := s.Messages("app", "X")
	if b.UIDValidity <= a.UIDValidity {
		t.Errorf("UIDVALIDITY %d after recreate, was %d: must grow", b.UIDValidity, a.UIDValidity)
	}
}

func TestNotifications(t *testing.T) {
	s := openTestStore(t)
	sub := s.Subscribe()
	defer sub.Close()
	d := deliver(t, s, sampleMessage(1, 100), Target{Account: "app"})
	select {
	case <-sub.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after delivery")
	}
	changes, resync := sub.Changes()
	if resync || len(changes) != 1 || changes[0].Kind != MessagesAdded || changes[0].UIDs[0] != d[0].UID {
		t.Fatalf("changes = %+v resync %v", changes, resync)
	}
	s.SetFlags(context.Background(), "app", "INBOX", []uint32{d[0].UID}, FlagsAdd, []string{FlagSeen})
	s.Expunge(context.Background(), "app", "INBOX", []uint32{d[0].UID})
	changes, _ = sub.Changes()
	if len(changes) != 2 || changes[0].Kind != FlagsChanged || changes[1].Kind != MessagesExpunged {
		t.Fatalf("changes = %+v", changes)
	}
	// A subscriber that never pulls is told to resync, never handed a gap.
	slow := s.Subscribe()
	defer slow.Close()
	var batch []Change
	for i := range logSize + 10 {
		batch = append(batch, Change{Kind: FlagsChanged, Account: "x", UIDs: []uint32{uint32(i)}})
	}
	s.notify.publish(batch)
	if c, resync := slow.Changes(); !resync || c != nil {
		t.Errorf("slow subscriber: %d changes, resync %v; want resync", len(c), resync)
	}
	if c, resync := slow.Changes(); resync || c != nil {
		t.Errorf("after resync: %d changes, resync %v", len(c), resync)
	}
}

// A body open in a reader survives the expunge of its last reference:
// the reader reads it to the end (an IMAP FETCH or POP3 RETR racing
// another session's EXPUNGE completes), and the body is deleted at the
// last Close, or at the next Open if the process died first.
func TestReadingExpungedBody(t *testing.T) {
	for _, size := range []int{ChunkSize / 2, 3 * ChunkSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := openTestStore(t)
			raw := sampleMessage(1, size)
			d := deliver(t, s, raw, Target{Account: "app"})
			r, err := s.OpenBlob(d[0].Blob)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Expunge(context.Background(), "app", "INBOX", []uint32{d[0].UID}); err != nil {
				t.Fatal(err)
			}
			rest, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(append(buf, rest...), raw) {
				t.Fatalf("reading on after the expunge: %d bytes, %v", 100+len(rest), err)
			}
			if errs := s.Check(context.Background()); len(errs) > 0 {
				t.Errorf("check with the body kept for its reader: %v", errs)
			}
			r.Close()
			// The deletion is a commit of its own, after Close.
			for i := 0; ; i++ {
				r, err := s.OpenBlob(d[0].Blob)
				if errors.Is(err, ErrNotFound) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				r.Close()
				if i == 1000 {
					t.Fatal("body still there after its last reader closed")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if errs := s.Check(context.Background()); len(errs) > 0 {
				t.Errorf("check: %v", errs)
			}
		})
	}
}

func TestExpungedBodyOpenAtCrashIsSwept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	d := deliver(t, s, sampleMessage(1, 3*ChunkSize), Target{Account: "app"})
	if _, err := s.OpenBlob(d[0].Blob); err != nil { // never closed: the process "dies"
		t.Fatal(err)
	}
	if _, err := s.Expunge(context.Background(), "app", "INBOX", []uint32{d[0].UID}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.OpenBlob(d[0].Blob); !errors.Is(err, ErrNotFound) {
		t.Errorf("body without references after a restart: %v, want ErrNotFound", err)
	}
	if errs := s.Check(context.Background()); len(errs) > 0 {
		t.Errorf("check: %v", errs)
	}
}

func TestReadMessageLimit(t *testing.T) {
	if _, err := ReadMessage(bytes.NewReader(make([]byte, 1001)), 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadMessage(bytes.NewReader(make([]byte, 1000)), 1000); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestCorpusStoredByteExact(t *testing.T) {
	files, _ := filepath.Glob("../testdata/corpus/*.eml")
	if len(files) == 0 {
		t.Fatal("no corpus in ../testdata/corpus")
	}
	s := openTestStore(t)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := deliver(t, s, raw, Target{Account: "app"})
		got, err := s.ReadBlob(d[0].Blob)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: not stored byte-exact (err %v)", filepath.Base(f), err)
		}
		st, err := s.Structure(d[0].Blob)
		if err != nil || st.Root == nil || st.Root.End != int64(len(raw)) {
			t.Errorf("%s: structure %+v, err %v", filepath.Base(f), st, err)
		}
	}
}

func TestPing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maildock.db")
	s := openAt(t, path)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on a healthy store: %v", err)
	}
	s.Close()
	if err := s.Ping(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping on a closed store: %v, want ErrClosed", err)
	}
}

// Check on a writable store finds a broken invariant, and writes nothing
// (its transaction is rolled back, not committed).
func TestCheckFindsAndWritesNothing(t *testing.T) {
	s := openTestStore(t)
	d := deliver(t, s, sampleMessage(1, 100), Target{Account: "app"})
	txid := func() (id int) {
		s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
		return id
	}
	if errs := s.Check(context.Background()); len(errs) > 0 {
		t.Fatalf("check of a sound store: %v", errs)
	}
	before := txid()
	if errs := s.Check(context.Background()); len(errs) > 0 || txid() != before {
		t.Fatalf("check: %v; transaction id %d -> %d, want unchanged", errs, before, txid())
	}
	// Claim a second reference the messages do not hold.
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		rec, err := decodeBlobRecord(b.Get(u64(d[0].Blob)))
		if err != nil {
			return err
		}
		rec.Refs++
		return b.Put(u64(d[0].Blob), rec.encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := s.Check(context.Background())
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "references") {
		t.Errorf("check of a wrong reference count: %v", errs)
	}
	// Put it right so the cleanup's check passes.
	s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		rec, _ := decodeBlobRecord(b.Get(u64(d[0].Blob)))
		rec.Refs--
		return b.Put(u64(d[0].Blob), rec.encode())
	})
}
