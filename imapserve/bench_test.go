package imapserve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// Benchmarks for make bench (not tests): run with
//
//	go test -run '^$' -bench IMAP -benchtime 1x ./imapserve/

// benchFill delivers n messages of about size bytes to the test user's
// INBOX, 32 at a time so that they share commits; every third is \Seen.
func benchFill(b *testing.B, e *imapEnv, n, size int) {
	b.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var buf bytes.Buffer
				fmt.Fprintf(&buf, "From: sender%d@example.org\r\nTo: app@app.localhost\r\nSubject: message %d\r\nMessage-ID: <%d@bench>\r\n\r\n", i, i, i)
				for buf.Len() < size {
					buf.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
				}
				m, err := mailstore.ReadMessage(&buf, 0)
				if err != nil {
					panic(err)
				}
				var flags []string
				if i%3 == 0 {
					flags = []string{mailstore.FlagSeen}
				}
				if _, err := e.store.Deliver(context.Background(), m, []mailstore.Target{{Account: imapUser, Flags: flags}}); err != nil {
					panic(err)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// benchConn is a lean client: it reads responses and drops literals.
type benchConn struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func benchDial(b *testing.B, addr string, bufSize int) *benchConn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	bc := &benchConn{c: c, r: bufio.NewReaderSize(c, bufSize)}
	if _, err := bc.r.ReadString('\n'); err != nil {
		b.Fatal(err)
	}
	return bc
}

// run sends a command and reads to its tagged reply; it returns the
// number of untagged responses and of literal bytes.
func (bc *benchConn) run(b *testing.B, cmd string) (responses int, literalBytes int64) {
	bc.tag++
	tag := "B" + strconv.Itoa(bc.tag)
	fmt.Fprintf(bc.c, "%s %s\r\n", tag, cmd)
	for {
		l, err := bc.r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				b.Fatalf("%s: %s", cmd, l)
			}
			return responses, literalBytes
		}
		if strings.HasPrefix(l, "* ") {
			responses++
		}
		if m := literalRE.FindStringSubmatch(strings.TrimRight(l, "\r\n")); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			if _, err := io.CopyN(io.Discard, bc.r, n); err != nil {
				b.Fatal(err)
			}
			literalBytes += n
		}
	}
}

// SELECT and UID FETCH 1:* (BODY.PEEK[]) over 10,000 messages of 4 KiB.
func BenchmarkIMAPFetchAll10k(b *testing.B) {
	e := newIMAPEnv(b)
	benchFill(b, e, 10000, 4096)
	bc := benchDial(b, e.plain, 64<<10)
	bc.run(b, `LOGIN app "s3cret pass"`)
	b.ResetTimer()
	var msgs, bytes int64
	start := time.Now()
	for range b.N {
		bc.run(b, "SELECT INBOX")
		n, size := bc.run(b, "UID FETCH 1:* (BODY.PEEK[])")
		msgs += int64(n)
		bytes += size
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(msgs)/secs, "msgs/s")
	b.ReportMetric(float64(bytes)/secs/(1<<20), "MB/s")
}

// SELECT and UID SEARCH UNSEEN on a mailbox of 100,000 messages.
func BenchmarkIMAPMailbox100k(b *testing.B) {
	e := newIMAPEnv(b)
	benchFill(b, e, 100000, 512)
	bc := benchDial(b, e.plain, 64<<10)
	bc.run(b, `LOGIN app "s3cret pass"`)
	b.Run("SELECT", func(b *testing.B) {
		for range b.N {
			bc.run(b, "SELECT INBOX")
		}
	})
	b.Run("UID SEARCH UNSEEN", func(b *testing.B) {
		bc.run(b, "SELECT INBOX")
		b.ResetTimer()
		for range b.N {
			bc.run(b, "UID SEARCH UNSEEN")
		}
	})
}

// Memory of 1,000 sessions in IDLE on a 1,000-message INBOX (the clients
// are sockets with 16-byte buffers in the same process; their share is
// small).
func BenchmarkIMAPIdleSessions1k(b *testing.B) {
	e := newIMAPEnv(b, func(o *Options) { o.MaxConnsPerIP, o.MaxConnsPerAccount = 2000, 2000 })
	benchFill(b, e, 1000, 2048)
	exists := 1000
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		conns := make([]*benchConn, 1000)
		for i := range conns {
			bc := benchDial(b, e.plain, 16)
			bc.run(b, `LOGIN app "s3cret pass"`)
			bc.run(b, "SELECT INBOX")
			fmt.Fprintf(bc.c, "I IDLE\r\n")
			if l, err := bc.r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+") {
				b.Fatalf("IDLE: %q %v", l, err)
			}
			conns[i] = bc
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/1000/1024, "KiB-heap/session")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/1000/1024, "KiB-stack/session")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/1000, "goroutines/session")
		// And a delivery reaches all of them.
		e.deliver(imapUser, "INBOX", testMessage(1, "to all"))
		exists++
		for _, bc := range conns {
			bc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if l, err := bc.r.ReadString('\n'); err != nil || l != fmt.Sprintf("* %d EXISTS\r\n", exists) {
				b.Fatalf("after the delivery: %q %v", l, err)
			}
		}
		for _, bc := range conns {
			bc.c.Close()
		}
	}
}
