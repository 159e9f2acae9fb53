package mailstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Write amplification: bytes the process hands to write(2) per byte of
// message stored, read from /proc/self/io (wchar). Run with
//
//	go test -run '^$' -bench WriteAmp -benchtime 200x ./mailstore/
//
// docs/STORE.md records the figures.

func wchar(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		tb.Skip("needs /proc/self/io (Linux)")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	tb.Skip("no wchar in /proc/self/io")
	return 0
}

func BenchmarkWriteAmpDeliver(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := openTestStore(b)
			msgs := make([]*Message, b.N)
			for i := range msgs {
				msgs[i] = readMsg(b, sampleMessage(i, size))
			}
			before := wchar(b)
			b.ResetTimer()
			var stored int64
			for i := 0; i < b.N; i++ {
				if _, err := s.Deliver(context.Background(), msgs[i], []Target{{Account: "app"}}); err != nil {
					b.Fatal(err)
				}
				stored += msgs[i].Size()
			}
			b.StopTimer()
			written := wchar(b) - before
			b.ReportMetric(float64(written)/float64(stored), "written/stored")
			b.ReportMetric(float64(written)/float64(b.N), "B-written/msg")
		})
	}
}

// The same with 32 concurrent senders: group commit shares each commit's
// fixed cost (meta page, bucket roots, branch pages) among its members.
func BenchmarkWriteAmpDeliver32(b *testing.B) {
	const size = 4 << 10
	s := openTestStore(b)
	msgs := make([]*Message, b.N)
	for i := range msgs {
		msgs[i] = readMsg(b, sampleMessage(i, size))
	}
	before := wchar(b)
	c0, w0 := s.CommitStats()
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan *Message)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range next {
				if _, err := s.Deliver(context.Background(), m, []Target{{Account: "app"}}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, m := range msgs {
		next <- m
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	written := wchar(b) - before
	c1, w1 := s.CommitStats()
	b.ReportMetric(float64(written)/float64(int64(b.N)*int64(msgs[0].Size())), "written/stored")
	b.ReportMetric(float64(written)/float64(b.N), "B-written/msg")
	b.ReportMetric(float64(w1-w0)/float64(c1-c0), "msgs/commit")
}

// Flag changes in a mailbox of 1,000 messages of 256 KiB: our layout
// rewrites the small message record; the layout we rejected (body inline in
// one value per message) rewrites the whole message each time.
func BenchmarkWriteAmpFlagChange(b *testing.B) {
	const n, size = 1000, 256 << 10
	b.Run("chunked", func(b *testing.B) {
		s := openTestStore(b)
		for i := range n {
			deliver(b, s, sampleMessage(i, size), Target{Account: "app"})
		}
		before := wchar(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			op := FlagsAdd
			if i%2 == 1 {
				op = FlagsRemove
			}
			if _, err := s.SetFlags(context.Background(), "app", "INBOX", []uint32{uint32(i%n + 1)}, op, []string{FlagSeen}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(wchar(b)-before)/float64(b.N), "B-written/op")
	})
	b.Run("inline-rejected", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "inline.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		body := sampleMessage(0, size)
		err = db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("msgs"))
			if err != nil {
				return err
			}
			for i := range n {
				if err := bk.Put(u32(uint32(i+1)), append([]byte{0}, body...)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		before := wchar(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			err := db.Update(func(tx *bolt.Tx) error {
				bk := tx.Bucket([]byte("msgs"))
				v := bytes.Clone(bk.Get(u32(uint32(i%n + 1))))
				v[0] ^= 1 // the "flags"
				return bk.Put(u32(uint32(i%n+1)), v)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(wchar(b)-before)/float64(b.N), "B-written/op")
	})
}
