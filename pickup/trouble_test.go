package pickup

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkInOrder checks that dir holds exactly the messages want[0:n] (by
// X-Index), complete, and that their names sort in arrival order.
func checkInOrder(t *testing.T, dir string, want [][]byte) {
	t.Helper()
	names := listFiles(t, dir)
	if len(names) != len(want) {
		t.Fatalf("%d files, want %d: %v", len(names), len(want), names)
	}
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[i]) {
			t.Errorf("%s (file %d in name order) holds message %d (%d bytes), want message %d complete", name, i, indexOf(b), len(b), indexOf(want[i]))
		}
	}
}

// TestFullDisk: the folder is a tiny tmpfs. Delivery goes on while it is
// full, the failure is logged once, the backlog shows; once there is room
// again everything drains, in order and complete.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("the full-disk test mounts a small tmpfs as the drop folder, which needs root (running as uid %d)", os.Geteuid())
	}
	dir := filepath.Join(t.TempDir(), "drop")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0750", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("the full-disk test needs a small tmpfs as the drop folder, and mounting one failed (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	// Registered before the store and the writer, so it runs after them.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})

	s := openStore(t)
	var want [][]byte
	more := func(n int) {
		for range n {
			raw := numbered(len(want), 20000)
			deliver(t, s, "app", false, defaultEnv, raw)
			want = append(want, raw)
		}
	}
	more(30) // 600 KB for 256 KB
	log := newLogRecorder(t)
	runWriter(t, s, log, Folder{Account: "app", Dir: dir})

	waitFor(t, 10*time.Second, "the failure to be logged", func() bool { return log.count("ERROR", "cannot write", "account=app") > 0 })
	more(10)                           // delivery does not depend on the folder
	time.Sleep(300 * time.Millisecond) // several retries (RetryMax is 50ms)
	if n := log.count("ERROR", "cannot write", "account=app"); n != 1 {
		t.Errorf("failure logged %d times while failing, want once", n)
	}
	if !strings.Contains(strings.Join(log.all(), "\n"), "no space left") {
		t.Errorf("the logged error does not say why")
	}
	// Files and backlog add up (between two retries: during one, a file
	// may be in place a moment before the store commit counts it).
	var written, n int
	waitFor(t, 5*time.Second, "the files and the backlog to add up", func() bool {
		written, n = len(listFiles(t, dir)), backlog(t, s, "app")
		return n+written == len(want)
	})
	if n == 0 {
		t.Errorf("backlog 0 with %d files written on a full disk", written)
	}
	// What is there is the oldest messages, complete.
	checkInOrder(t, dir, want[:written])

	if out, err := exec.Command("mount", "-o", "remount,size=8m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount bigger: %v: %s", err, out)
	}
	waitFor(t, 20*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
	checkInOrder(t, dir, want)
	// Logged just after the batch's store commit, which ended the backlog.
	waitFor(t, 5*time.Second, "the recovery to be logged", func() bool { return log.count("INFO", "writable again", "account=app") > 0 })
	if n := log.count("INFO", "writable again", "account=app"); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

// TestUnwritableFolder: the folder's path is taken by a regular file (as
// root, permissions would not stop us). The other account's folder keeps
// working; the broken one's backlog drains in order once it is fixed.
func TestUnwritableFolder(t *testing.T) {
	s := openStore(t)
	base := t.TempDir()
	broken := filepath.Join(base, "broken")
	if err := os.WriteFile(broken, []byte("not a directory"), 0o640); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(base, "good")
	var want, wantGood [][]byte
	more := func(n int) {
		for range n {
			raw := numbered(len(want), 1000)
			deliver(t, s, "app", true, defaultEnv, raw)
			want = append(want, raw)
			raw = numbered(100+len(wantGood), 1000)
			deliver(t, s, "good", true, defaultEnv, raw)
			wantGood = append(wantGood, raw)
		}
	}
	more(5)
	log := newLogRecorder(t)
	w, _ := runWriter(t, s, log, Folder{Account: "app", Dir: broken}, Folder{Account: "good", Dir: good})

	waitFor(t, 10*time.Second, "the failure to be logged", func() bool { return log.count("ERROR", "cannot write", "account=app") > 0 })
	waitFor(t, 10*time.Second, "the good folder to drain", func() bool { return backlog(t, s, "good") == 0 })
	more(5)
	waitFor(t, 10*time.Second, "the good folder to drain again", func() bool { return backlog(t, s, "good") == 0 })
	checkInOrder(t, good, wantGood)
	if b := w.Backlog(); b["app"] != 10 || b["good"] != 0 {
		t.Errorf("Backlog() = %v, want app:10 good:0", b)
	}
	if n := log.count("ERROR", "account=app"); n != 1 {
		t.Errorf("failure logged %d times, want once", n)
	}

	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
	checkInOrder(t, broken, want)
	waitFor(t, 5*time.Second, "the recovery to be logged", func() bool { return log.count("INFO", "writable again", "account=app") > 0 })
	if n := log.count("INFO", "writable again, draining 10", "account=app"); n != 1 {
		t.Errorf("recovery logged %d times, want once with the backlog", n)
	}
	if fi, err := os.Stat(broken); err != nil || fi.Mode().Perm() != dirMode {
		t.Errorf("made folder: %v, %v; want mode %v", fi.Mode(), err, os.FileMode(dirMode))
	}
}

// TestConsumer: an app deletes each file as soon as it sees it, while mail
// arrives and the writer is restarted: every message is seen exactly once
// and complete.
func TestConsumer(t *testing.T) {
	s := openStore(t)
	f := Folder{Account: "app", Dir: filepath.Join(t.TempDir(), "drop")}
	const n = 150
	var (
		mu       sync.Mutex
		seen     = map[string]int{}
		problems []string
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			des, _ := os.ReadDir(f.Dir)
			for _, de := range des {
				if !strings.HasSuffix(de.Name(), ".eml") {
					continue
				}
				p := filepath.Join(f.Dir, de.Name())
				b, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				i := indexOf(b)
				mu.Lock()
				seen[de.Name()]++
				if seen[de.Name()] > 1 || !bytes.Equal(b, numbered(i, 300+i)) {
					problems = append(problems, fmt.Sprintf("%s: seen %d times, message %d, %d bytes", de.Name(), seen[de.Name()], i, len(b)))
				}
				mu.Unlock()
				os.Remove(p)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	log := newLogRecorder(t)
	_, stopW := runWriter(t, s, log, f)
	for i := range n {
		deliver(t, s, "app", false, defaultEnv, numbered(i, 300+i))
		if i == n/3 || i == 2*n/3 {
			// A graceful restart in the middle of the flow.
			stopW()
			_, stopW = runWriter(t, s, log, f)
		}
	}
	waitFor(t, 20*time.Second, "every file to be consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	// The app may take a file before the store commit that ends its item.
	waitFor(t, 5*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}
