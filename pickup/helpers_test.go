package pickup

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// openStore opens a real store in a temporary directory; at the end of the
// test it checks the store's invariants (reference counts included) and
// closes it.
func openStore(t testing.TB) *mailstore.Store {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "maildock.db"))
}

func openStoreAt(t testing.TB, path string) *mailstore.Store {
	t.Helper()
	s, err := mailstore.Open(mailstore.Options{Path: path})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		for _, err := range s.Check(context.Background()) {
			t.Errorf("store check: %v", err)
		}
		s.Close()
	})
	return s
}

type env struct {
	From string
	To   []string
}

var defaultEnv = env{From: "sender@example.org", To: []string{"app@app.localhost"}}

// deliver stores raw for account and queues it for the drop folder, as the
// SMTP server does.
func deliver(t testing.TB, s *mailstore.Store, account string, keep bool, e env, raw []byte) mailstore.Delivered {
	t.Helper()
	m, err := mailstore.ReadMessage(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	d, err := s.Deliver(context.Background(), m, []mailstore.Target{{
		Account: account, Pickup: true, PickupOnly: !keep, EnvFrom: e.From, EnvTo: e.To,
	}})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return d[0]
}

// numbered is a message that says which it is (X-Index), padded to about
// size bytes, CRLF throughout.
func numbered(i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from test by maildock\r\nFrom: sender@example.org\r\nTo: app@app.localhost\r\nSubject: message %d\r\nMessage-ID: <%d@pickup.test>\r\nX-Index: %d\r\n\r\n", i, i, i)
	for b.Len() < size {
		fmt.Fprintf(&b, "line at %d of message %d: the quick brown fox jumps over the lazy dog\r\n", b.Len(), i)
	}
	b.WriteString(".\r\n..leading dot\r\nend\r\n")
	return b.Bytes()
}

// indexOf reads X-Index back from a file's content; -1 if absent.
func indexOf(b []byte) int {
	i := bytes.Index(b, []byte("\nX-Index: "))
	if i < 0 {
		return -1
	}
	var n int
	if _, err := fmt.Sscanf(string(b[i+len("\nX-Index: "):]), "%d", &n); err != nil {
		return -1
	}
	return n
}

// convert is the reference line-ending conversion, written the obvious,
// non-streaming way.
func convert(raw []byte, lineEndings string) []byte {
	var out []byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case lineEndings == LineEndingsLF && c == '\r' && i+1 < len(raw) && raw[i+1] == '\n':
			// CRLF -> LF: drop the CR
		case lineEndings != LineEndingsLF && c == '\n' && (i == 0 || raw[i-1] != '\r'):
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// expectedFile is what the drop folder must hold for a message.
func expectedFile(f Folder, e env, raw []byte) []byte {
	eol := "\r\n"
	if f.LineEndings == LineEndingsLF {
		eol = "\n"
	}
	var b []byte
	if f.Format == FormatIIS {
		b = append(b, "x-sender: "+e.From+eol...)
		for _, to := range e.To {
			b = append(b, "x-receiver: "+to+eol...)
		}
	}
	return append(b, convert(raw, f.LineEndings)...)
}

// runWriter starts a Writer; stop stops it (and is called at the end of
// the test anyway, before the store closes: cleanups run last-registered
// first).
func runWriter(t testing.TB, s *mailstore.Store, log *logRecorder, fs ...Folder) (w *Writer, stop func()) {
	t.Helper()
	w, err := New(Options{Store: s, Folders: fs, Logger: slog.New(log), RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	stop = startRun(t, w)
	t.Cleanup(stop)
	return w, stop
}

// startRun runs w.Run in a goroutine; the returned func cancels it and
// checks that it returned nil.
func startRun(t testing.TB, w *Writer) func() {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func backlog(t testing.TB, s *mailstore.Store, account string) int {
	t.Helper()
	n, err := s.PickupBacklog(account)
	if err != nil {
		t.Fatalf("PickupBacklog: %v", err)
	}
	return n
}

// listFiles returns the names of the regular files in dir, sorted, and
// fails on anything else that is not the writer's hidden directory.
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var names []string
	for _, de := range des {
		if de.IsDir() && (de.Name() == hiddenDir || de.Name() == "tmp" || de.Name() == "new" || de.Name() == "cur") {
			continue
		}
		if !de.Type().IsRegular() {
			t.Errorf("%s: unexpected %v %s", dir, de.Type(), de.Name())
			continue
		}
		names = append(names, de.Name())
	}
	slices.Sort(names)
	return names
}

// checkNoTemp checks that the temporary directory holds nothing but an
// empty journal. The writer must be stopped: it empties the journal just
// after the store commit that makes the backlog 0.
func checkNoTemp(t testing.TB, f Folder) {
	t.Helper()
	lay := layoutOf(f)
	des, err := os.ReadDir(lay.tmp)
	if err != nil {
		t.Fatalf("read %s: %v", lay.tmp, err)
	}
	for _, de := range des {
		if de.Name() == journalName {
			if fi, err := os.Stat(filepath.Join(lay.tmp, journalName)); err != nil || fi.Size() != 0 {
				t.Errorf("journal left non-empty: %v %v", fi.Size(), err)
			}
			continue
		}
		t.Errorf("left in %s: %s", lay.tmp, de.Name())
	}
}

// logRecorder is a slog.Handler that keeps every record, with the
// attributes of With, for tests to count.
type logRecorder struct {
	mu    *sync.Mutex
	recs  *[]string
	attrs []slog.Attr
}

func newLogRecorder(t testing.TB) *logRecorder {
	l := &logRecorder{mu: new(sync.Mutex), recs: new([]string)}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range l.all() {
				t.Log("log:", r)
			}
		}
	})
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	*l.recs = append(*l.recs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(slices.Clone(l.attrs), as...)
	return &c
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

func (l *logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*l.recs)
}

// count returns how many records contain every one of the substrings.
func (l *logRecorder) count(subs ...string) int {
	n := 0
	for _, r := range l.all() {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(r, s)
		}
		if ok {
			n++
		}
	}
	return n
}
