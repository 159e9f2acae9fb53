package mailstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A backup taken while messages arrive is a store of its own that
// passes Check and holds a prefix of what was delivered.
func TestBackupWhileDelivering(t *testing.T) {
	s := openTestStore(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 200; i++ {
			m, err := ReadMessage(bytes.NewReader(sampleMessage(i, 3000)), 0)
			if err == nil {
				_, err = s.Deliver(context.Background(), m, []Target{{Account: "a"}})
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		if sum, _ := s.Summary(); sum.Messages >= 20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Backup(f)
	if err != nil || f.Close() != nil {
		t.Fatalf("Backup: %v", err)
	}
	wg.Wait()
	if fi, _ := os.Stat(path); fi.Size() != n {
		t.Errorf("Backup says %d bytes, the file has %d", n, fi.Size())
	}
	c, err := OpenReadOnly(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, err := range c.Check(context.Background()) {
		t.Errorf("copy: %v", err)
	}
	snap, err := c.Messages("a", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Messages) < 20 || len(snap.Messages) > 200 {
		t.Fatalf("copy holds %d messages", len(snap.Messages))
	}
	for i, m := range snap.Messages {
		// A prefix: UIDs 1..n with the bodies delivered in that order.
		raw, err := c.ReadBlob(m.Blob)
		if err != nil || m.UID != uint32(i+1) || !bytes.Equal(raw, sampleMessage(i+1, 3000)) {
			t.Fatalf("copy's message %d: uid %d, %v", i+1, m.UID, err)
		}
	}
	if err := c.CreateMailbox(context.Background(), "a", "X"); err == nil {
		t.Error("a read-only store took a write")
	}
}

func TestOpenReadOnlyRefuses(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "maildock.db"))
	if _, err := OpenReadOnly(s.Path(), 200*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("open while another has it open for writing: %v, want ErrLocked", err)
	}
	if _, err := OpenReadOnly(filepath.Join(dir, "none.db"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte("junk"), 4096), 0o600)
	if _, err := OpenReadOnly(junk, 0); err == nil {
		t.Error("a file of junk opened")
	}
}

// Compacting after many deletions shrinks the file and keeps every
// message that is left.
func TestCompactFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "maildock.db")
	s := openAt(t, src)
	ctx := context.Background()
	var uids []uint32
	for i := 1; i <= 150; i++ {
		d := deliver(t, s, sampleMessage(i, 20000), Target{Account: "a"})
		if i > 10 {
			uids = append(uids, d[0].UID)
		}
	}
	if _, err := s.Expunge(ctx, "a", "INBOX", uids); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Summary()
	if err := CompactFile(src, filepath.Join(dir, "x.db"), 200*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("compact of an open store: %v, want ErrLocked", err)
	}
	s.Close()
	dst := filepath.Join(dir, "compact.db")
	if err := CompactFile(src, dst, 0); err != nil {
		t.Fatal(err)
	}
	if err := CompactFile(src, dst, 0); err == nil {
		t.Error("compact over an existing file")
	}
	a, _ := os.Stat(src)
	b, _ := os.Stat(dst)
	if b.Size() >= a.Size()/2 {
		t.Errorf("compacted %d bytes to %d", a.Size(), b.Size())
	}
	c := openAt(t, dst)
	for _, err := range c.Check(ctx) {
		t.Error(err)
	}
	after, _ := c.Summary()
	if after != before || after.Messages != 10 {
		t.Errorf("summary before %+v, after %+v", before, after)
	}
}
