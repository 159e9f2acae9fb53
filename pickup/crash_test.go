package pickup

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// The crash tests run the writer in a child process (this test binary,
// re-executed) and kill it with SIGKILL while it writes.
const (
	envChild      = "PICKUP_TEST_CHILD"
	envStore      = "PICKUP_TEST_STORE"
	envDir        = "PICKUP_TEST_DIR"
	envFormat     = "PICKUP_TEST_FORMAT"
	envUntilEmpty = "PICKUP_TEST_UNTIL_EMPTY"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild runs a Writer on the store and folder the parent names, slowed
// down at every step of a batch so that a kill lands anywhere in it. With
// envUntilEmpty it exits once the queue is empty; otherwise it runs until
// killed.
func crashChild() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := mailstore.Open(mailstore.Options{Path: os.Getenv(envStore), LockTimeout: 10 * time.Second})
	if err != nil {
		log.Error("child: open store", "err", err)
		return 2
	}
	defer s.Close()
	// Small batches of varying size: more batch boundaries to kill at.
	batchSize = 1 + rand.IntN(32)
	testHook = func(point string) {
		d := time.Duration(rand.IntN(1500)) * time.Microsecond
		if point == "synced" || point == "confirm" {
			// The window between the renames and the store commit,
			// where the app may already take the files.
			d *= 3
		}
		time.Sleep(d)
	}
	w, err := New(Options{Store: s, Logger: log, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Folders: []Folder{{Account: "app", Dir: os.Getenv(envDir), Format: os.Getenv(envFormat)}}})
	if err != nil {
		log.Error("child: New", "err", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if os.Getenv(envUntilEmpty) != "" {
		go func() {
			for ctx.Err() == nil {
				if n, err := s.PickupBacklog("app"); err == nil && n == 0 {
					cancel()
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	if err := w.Run(ctx); err != nil {
		log.Error("child: Run", "err", err)
		return 2
	}
	return 0
}

type crashCase struct {
	name     string
	format   string
	consumer string // "": files stay; "delete": eml app deleting files; "cur": maildir reader moving new/ to cur/
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes repeatedly; skipped with -short")
	}
	for _, c := range []crashCase{
		{name: "eml", format: FormatEML},
		{name: "eml-consumer", format: FormatEML, consumer: "delete"},
		{name: "maildir-consumer", format: FormatMaildir, consumer: "cur"},
	} {
		t.Run(c.name, func(t *testing.T) { testCrash(t, c) })
	}
}

func testCrash(t *testing.T, c crashCase) {
	base := t.TempDir()
	storePath := filepath.Join(base, "maildock.db")
	f, _ := normalize(Folder{Account: "app", Dir: filepath.Join(base, "drop"), Format: c.format})
	lay := layoutOf(f)

	var (
		mu       sync.Mutex
		expected = map[int][]byte{}
	)
	next := 0
	// deliverMore delivers n messages with the writer stopped (the child
	// holds the store's lock while it runs).
	deliverMore := func(n int) {
		s, err := mailstore.Open(mailstore.Options{Path: storePath, LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range n {
			raw := numbered(next, 500+(next*7919)%30000)
			deliver(t, s, "app", next%2 == 0, defaultEnv, raw)
			mu.Lock()
			expected[next] = raw
			mu.Unlock()
			next++
		}
	}
	deliverMore(250)

	var (
		seen     = map[int]int{} // consumer: index -> times seen
		problems []string
		stopC    = make(chan struct{})
		consumed sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// check reads one visible file: it must be complete.
	check := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			if !os.IsNotExist(err) {
				fail("read %s: %v", path, err)
			}
			return -1
		}
		i := indexOf(b)
		mu.Lock()
		want, ok := expected[i]
		mu.Unlock()
		if !ok || !bytes.Equal(b, want) {
			fail("%s: partial or wrong content (%d bytes, index %d)", filepath.Base(path), len(b), i)
			return -1
		}
		return i
	}
	if c.consumer != "" {
		consumed.Add(1)
		go func() {
			defer consumed.Done()
			for {
				select {
				case <-stopC:
					return
				default:
				}
				des, _ := os.ReadDir(lay.final)
				for _, de := range des {
					name := de.Name()
					if !de.Type().IsRegular() || (c.format == FormatEML && !strings.HasSuffix(name, ".eml")) {
						continue
					}
					p := filepath.Join(lay.final, name)
					i := check(p)
					if i < 0 {
						continue
					}
					mu.Lock()
					seen[i]++
					if seen[i] > 1 {
						problems = append(problems, fmt.Sprintf("message %d seen %d times (%s)", i, seen[i], name))
					}
					mu.Unlock()
					if c.consumer == "cur" {
						// A Maildir reader: new/ to cur/ with flags.
						if err := os.Rename(p, filepath.Join(f.Dir, "cur", name+":2,S")); err != nil {
							fail("move to cur: %v", err)
						}
					} else if err := os.Remove(p); err != nil {
						fail("delete: %v", err)
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	defer func() {
		select {
		case <-stopC:
		default:
			close(stopC)
		}
		consumed.Wait()
	}()

	// scan checks every file in the folder (no consumer): complete, and
	// at most one per message.
	scan := func() map[int]int {
		count := map[int]int{}
		des, err := os.ReadDir(lay.final)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, de := range des {
			if !de.Type().IsRegular() {
				continue
			}
			if i := check(filepath.Join(lay.final, de.Name())); i >= 0 {
				count[i]++
				if count[i] > 1 {
					fail("message %d has %d files", i, count[i])
				}
			}
		}
		return count
	}

	var childLog bytes.Buffer
	child := func(untilEmpty bool) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"=1", envStore+"="+storePath, envDir+"="+f.Dir, envFormat+"="+c.format)
		if untilEmpty {
			cmd.Env = append(cmd.Env, envUntilEmpty+"=1")
		}
		cmd.Stderr = &childLog
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	// progress counts the files written so far (visible or consumed).
	progress := func() int {
		if c.consumer == "" {
			des, _ := os.ReadDir(lay.final)
			return len(des)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	const rounds = 5
	for r := range rounds {
		before := progress()
		cmd := child(false)
		// Kill once the child is writing, at a random point after its
		// first file: in a temporary file, between renames, before or
		// after the store commit.
		for deadline := time.Now().Add(10 * time.Second); progress() == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		if c.consumer == "" {
			t.Logf("round %d: %d files after the kill", r, len(scan()))
		} else {
			mu.Lock()
			t.Logf("round %d: %d files consumed so far", r, len(seen))
			mu.Unlock()
		}
		deliverMore(10) // mail keeps arriving between crashes
	}

	// Last run to the end.
	cmd := child(true)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("last child: %v\n%s", err, childLog.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("last child did not drain the queue in time\n%s", childLog.String())
	}

	total := next
	if c.consumer != "" {
		waitFor(t, 10*time.Second, "the consumer to see every file", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == total
		})
		close(stopC)
		consumed.Wait()
	} else {
		count := scan()
		for i := range total {
			if count[i] != 1 {
				fail("message %d has %d files, want 1", i, count[i])
			}
		}
	}
	mu.Lock()
	for i := range total {
		if c.consumer != "" && seen[i] != 1 {
			problems = append(problems, fmt.Sprintf("message %d seen %d times, want 1", i, seen[i]))
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	mu.Unlock()
	if t.Failed() {
		t.Logf("child log:\n%s", childLog.String())
	}
	checkNoTemp(t, f)

	s := openStoreAt(t, storePath)
	if n := backlog(t, s, "app"); n != 0 {
		t.Errorf("backlog %d after the last run", n)
	}
}
