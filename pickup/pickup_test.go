package pickup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

type testMsg struct {
	name string
	raw  []byte
	env  env
}

// corpus returns the shared corpus of awkward messages (binary parts,
// LF-only, mixed line endings, dot lines, a 1 MiB header...), if present.
func corpus(t testing.TB) []testMsg {
	t.Helper()
	paths, _ := filepath.Glob("../testdata/corpus/*.eml")
	var out []testMsg
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testMsg{name: filepath.Base(p), raw: raw, env: defaultEnv})
	}
	if len(out) == 0 {
		t.Log("no corpus in ../testdata/corpus: testing with the synthetic messages only")
	}
	return out
}

// boundaryMessage puts line-ending traps exactly where the writer's 64 KiB
// reads (and the store's 64 KiB chunks) split the message: a CRLF cut in
// two, a lone CR at the end of a piece, a bare LF first in a piece, and a
// lone CR as the very last byte.
func boundaryMessage() []byte {
	const piece = 64 << 10
	b := []byte("From: a@example.org\r\nSubject: boundaries\r\n\r\n")
	pad := func(to int) {
		for len(b) < to {
			b = append(b, 'x')
			if len(b)%70 == 0 && len(b) < to {
				b = append(b, '\n')
			}
		}
		b = b[:to]
	}
	pad(piece - 1)
	b = append(b, '\r', '\n') // CRLF across the first boundary
	pad(2*piece - 1)
	b = append(b, '\r', 'y') // lone CR at the end of the second piece
	pad(3*piece - 1)
	b = append(b, 'z', '\n') // bare LF first in the fourth piece
	pad(3*piece + 100)
	b = append(b, "\r\r\n\n\r"...)
	return b
}

func syntheticMessages() []testMsg {
	return []testMsg{
		{name: "numbered", raw: numbered(1, 3000), env: env{From: "a@example.org", To: []string{"x@app.localhost", "y@app.localhost", "z@app.localhost"}}},
		{name: "boundaries", raw: boundaryMessage(), env: defaultEnv},
		{name: "bounce", raw: []byte("From: MAILER-DAEMON@example.org\nSubject: bounce\n\nbare LF body\n"), env: env{From: "", To: []string{"app@app.localhost"}}},
		{name: "empty", raw: nil, env: defaultEnv},
		{name: "lone CRs", raw: []byte("Subject: cr\r\n\r\na\rb\r\r\nc\n\r"), env: defaultEnv},
	}
}

var (
	emlName     = regexp.MustCompile(`^\d{8}T\d{6}Z-(\d{12})\.eml$`)
	maildirFile = regexp.MustCompile(`^(\d+)\.M(\d+)Q(\d+)\.([^/:,]+),S=(\d+)$`)
)

// TestFormats delivers every message through the store and checks the
// folder byte by byte, for each format and line ending.
func TestFormats(t *testing.T) {
	msgs := append(syntheticMessages(), corpus(t)...)
	cases := []Folder{
		{Format: FormatEML, LineEndings: LineEndingsCRLF},
		{Format: FormatEML, LineEndings: LineEndingsLF, FileMode: 0o600},
		{Format: FormatMaildir, LineEndings: LineEndingsCRLF, FileMode: 0o644},
		{Format: FormatMaildir, LineEndings: LineEndingsLF},
		{Format: FormatIIS, LineEndings: LineEndingsCRLF},
		{Format: FormatIIS, LineEndings: LineEndingsLF, FileMode: 0o660},
	}
	for _, f := range cases {
		t.Run(f.Format+"-"+f.LineEndings, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			f.Account = "app"
			// A relative dir is taken relative to the working directory;
			// here the test uses an absolute one that does not exist yet.
			f.Dir = filepath.Join(t.TempDir(), "drop", "app")
			want := f.FileMode
			if want == 0 {
				want = DefaultFileMode
			}
			for _, m := range msgs {
				deliver(t, s, "app", true, m.env, m.raw)
			}
			_, stop := runWriter(t, s, newLogRecorder(t), f)
			waitFor(t, 20*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
			stop()

			files := checkFolder(t, f, len(msgs))
			for i, m := range msgs {
				got, err := os.ReadFile(files[i])
				if err != nil {
					t.Fatal(err)
				}
				if exp := expectedFile(f, m.env, m.raw); !bytes.Equal(got, exp) {
					t.Errorf("%s: file %s differs from what was sent (%d bytes, want %d)\n%s", m.name, filepath.Base(files[i]), len(got), len(exp), firstDiff(got, exp))
				}
				fi, err := os.Stat(files[i])
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%s: mode %v, want %v", m.name, fi.Mode().Perm(), want)
				}
			}
			checkNoTemp(t, f)
		})
	}
}

// checkFolder checks the folder's layout and names and returns the paths
// of its n files in arrival (queue) order.
func checkFolder(t *testing.T, f Folder, n int) []string {
	t.Helper()
	var paths []string
	if f.Format == FormatMaildir {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if fi, err := os.Stat(filepath.Join(f.Dir, sub)); err != nil || !fi.IsDir() {
				t.Fatalf("maildir %s/: %v", sub, err)
			}
		}
		if cur := listFiles(t, filepath.Join(f.Dir, "cur")); len(cur) != 0 {
			t.Errorf("cur/ has %v", cur)
		}
		if top := listFiles(t, f.Dir); len(top) != 0 {
			t.Errorf("files at the top of the maildir: %v", top)
		}
		bySeq := map[uint64]string{}
		for _, name := range listFiles(t, filepath.Join(f.Dir, "new")) {
			m := maildirFile.FindStringSubmatch(name)
			if m == nil {
				t.Errorf("new/%s: not a maildir name time.M<usec>Q<seq>.host,S=<size>", name)
				continue
			}
			p := filepath.Join(f.Dir, "new", name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if size, _ := strconv.ParseInt(m[5], 10, 64); size != fi.Size() {
				t.Errorf("%s: S=%d, file has %d bytes", name, size, fi.Size())
			}
			seq, _ := strconv.ParseUint(m[3], 10, 64)
			bySeq[seq] = p
		}
		for seq := uint64(1); seq <= uint64(n); seq++ {
			if p, ok := bySeq[seq]; ok {
				paths = append(paths, p)
			}
		}
	} else {
		names := listFiles(t, f.Dir)
		for i, name := range names {
			m := emlName.FindStringSubmatch(name)
			if m == nil {
				t.Errorf("%s: not a name like 20261123T224803Z-000000000042.eml", name)
				continue
			}
			// Sorted by name is arrival order: the i-th name has seq i+1.
			if seq, _ := strconv.Atoi(m[1]); seq != i+1 {
				t.Errorf("name %d in lexical order is %s, want seq %d", i, name, i+1)
			}
			paths = append(paths, filepath.Join(f.Dir, name))
		}
	}
	if len(paths) != n {
		t.Fatalf("%d files, want %d", len(paths), n)
	}
	return paths
}

func firstDiff(got, want []byte) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("first difference at byte %d: got %q, want %q", i, got[lo:min(len(got), i+20)], want[lo:min(len(want), i+20)])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (got %d, want %d bytes)", len(got), len(want))
}

// TestKeep: keep=false files the message nowhere and releases the body
// once the file is durable; keep=true leaves it in INBOX.
func TestKeep(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("keep=", keep), func(t *testing.T) {
			s := openStore(t)
			dir := filepath.Join(t.TempDir(), "drop")
			raw := numbered(7, 500)
			d := deliver(t, s, "app", keep, defaultEnv, raw)
			runWriter(t, s, newLogRecorder(t), Folder{Account: "app", Dir: dir})
			waitFor(t, 10*time.Second, "the file", func() bool { return backlog(t, s, "app") == 0 })
			if names := listFiles(t, dir); len(names) != 1 {
				t.Fatalf("files %v", names)
			}
			snap, err := s.Messages("app", "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			_, blobErr := s.OpenBlob(d.Blob)
			if keep {
				if len(snap.Messages) != 1 || snap.Messages[0].UID != d.UID {
					t.Errorf("INBOX = %+v, want the kept message", snap.Messages)
				}
				if blobErr != nil {
					t.Errorf("kept body: %v", blobErr)
				}
			} else {
				if len(snap.Messages) != 0 {
					t.Errorf("INBOX = %+v, want nothing", snap.Messages)
				}
				if !errors.Is(blobErr, mailstore.ErrNotFound) {
					t.Errorf("body after its file is written: %v, want ErrNotFound", blobErr)
				}
			}
		})
	}
}

// TestPromptAndOrdered: a running writer wakes on the store's notification
// (files appear with no backlog left behind) and writes in arrival order
// while messages keep coming.
func TestPromptAndOrdered(t *testing.T) {
	s := openStore(t)
	f := Folder{Account: "app", Dir: filepath.Join(t.TempDir(), "drop")}
	runWriter(t, s, newLogRecorder(t), f)
	const n = 60
	for i := range n {
		deliver(t, s, "app", false, defaultEnv, numbered(i, 200+i*50))
		if i%20 == 0 {
			// One message alone must not wait for company.
			waitFor(t, 10*time.Second, "a lone message's file", func() bool { return len(listFiles(t, f.Dir)) == i+1 })
		}
	}
	waitFor(t, 20*time.Second, "all files", func() bool { return backlog(t, s, "app") == 0 })
	names := listFiles(t, f.Dir)
	if len(names) != n {
		t.Fatalf("%d files, want %d", len(names), n)
	}
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join(f.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if indexOf(b) != i || !bytes.Equal(b, numbered(i, 200+i*50)) {
			t.Errorf("%s: holds message %d, want %d complete", name, indexOf(b), i)
		}
	}
}

// TestCrashWindow: files that a killed writer had renamed into place but
// not yet marked done are not written twice, whether they are still there
// or the app already took them; temporary leftovers are swept; a damaged
// or stale journal changes nothing.
func TestCrashWindow(t *testing.T) {
	for _, format := range []string{FormatEML, FormatMaildir} {
		t.Run(format, func(t *testing.T) {
			s := openStore(t)
			f, _ := normalize(Folder{Account: "app", Dir: filepath.Join(t.TempDir(), "drop"), Format: format})
			lay := layoutOf(f)
			for _, d := range lay.dirs {
				if err := os.MkdirAll(d, 0o750); err != nil {
					t.Fatal(err)
				}
			}
			const n = 6
			for i := range n {
				deliver(t, s, "app", true, defaultEnv, numbered(i, 300))
			}
			items, err := s.PendingPickups("app", n)
			if err != nil || len(items) != n {
				t.Fatalf("pending %d, %v", len(items), err)
			}
			host := maildirHost(mustHostname(t))
			name := func(i int) string {
				b := baseName(f, items[i], host)
				if format == FormatMaildir {
					return maildirName(b, int64(len(numbered(i, 300))))
				}
				return b
			}
			write := func(path string, b []byte) {
				t.Helper()
				if err := os.WriteFile(path, b, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			// Item 0: renamed into place by the dead writer, and no
			// journal names it: the writer finds it by its stable name.
			// Its content is marked so that a rewrite would show.
			write(filepath.Join(lay.final, name(0)), append(numbered(0, 300), "(already there)"...))
			// Items 1 and 2: in the journal. 1 was renamed and consumed by
			// the app (neither file exists); 2 was not renamed yet (its
			// complete temporary file is there).
			tmp := func(i int) string { return baseName(f, items[i], host) + tmpSuffix }
			write(filepath.Join(lay.tmp, tmp(2)), numbered(2, 300))
			entries := []journalEntry{
				{Seq: items[1].Seq, Date: itemDate(items[1]), Tmp: tmp(1), Final: name(1)},
				{Seq: items[2].Seq, Date: itemDate(items[2]), Tmp: tmp(2), Final: name(2)},
				// Stale: an item of an older store with a reused seq.
				{Seq: items[3].Seq, Date: itemDate(items[3]) + 1, Tmp: tmp(3), Final: "stale"},
			}
			if err := writeJournal(filepath.Join(lay.tmp, journalName), entries); err != nil {
				t.Fatal(err)
			}
			// A leftover of an interrupted write, and a file that is not
			// ours in the temporary directory.
			write(filepath.Join(lay.tmp, tmp(4)), []byte("half a mess"))
			write(filepath.Join(lay.tmp, "not-ours"), []byte("x"))

			_, stop := runWriter(t, s, newLogRecorder(t), f)
			waitFor(t, 10*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
			stop()

			var got []string
			if format == FormatMaildir {
				got = listFiles(t, lay.final)
			} else {
				got = listFiles(t, f.Dir)
			}
			var want []string
			for i := range n {
				if i != 1 {
					want = append(want, name(i))
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("files\n%v\nwant\n%v", got, want)
			}
			for _, name := range got {
				b, _ := os.ReadFile(filepath.Join(lay.final, name))
				i := indexOf(b)
				wantB := numbered(i, 300)
				if i == 0 {
					wantB = append(wantB, "(already there)"...)
				}
				if !bytes.Equal(b, wantB) {
					t.Errorf("%s: content is not message %d as expected", name, i)
				}
			}
			if _, err := os.Stat(filepath.Join(lay.tmp, "not-ours")); err != nil {
				t.Errorf("the sweep removed a file that is not the writer's: %v", err)
			}
			os.Remove(filepath.Join(lay.tmp, "not-ours"))
			checkNoTemp(t, f)
		})
	}
}

func mustHostname(t testing.TB) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDamagedJournal: a torn journal (its batch never renamed anything) is
// ignored and the items are written once.
func TestDamagedJournal(t *testing.T) {
	s := openStore(t)
	f, _ := normalize(Folder{Account: "app", Dir: filepath.Join(t.TempDir(), "drop")})
	lay := layoutOf(f)
	if err := os.MkdirAll(lay.tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, "app", true, defaultEnv, numbered(0, 100))
	items, _ := s.PendingPickups("app", 1)
	j := encodeJournal([]journalEntry{{Seq: items[0].Seq, Date: itemDate(items[0]), Tmp: "a" + tmpSuffix, Final: "a.eml"}})
	if err := os.WriteFile(filepath.Join(lay.tmp, journalName), j[:len(j)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	log := newLogRecorder(t)
	runWriter(t, s, log, f)
	waitFor(t, 10*time.Second, "the backlog to drain", func() bool { return backlog(t, s, "app") == 0 })
	if names := listFiles(t, f.Dir); len(names) != 1 || !emlName.MatchString(names[0]) {
		t.Errorf("files %v", names)
	}
	if log.count("damaged journal") != 1 {
		t.Errorf("damaged journal not reported")
	}
}

// TestUnconfiguredAndReload: an account without a folder keeps its queue
// (logged once, visible in Backlog) until SetFolders gives it one; a
// changed folder takes effect for the files after the change.
func TestUnconfiguredAndReload(t *testing.T) {
	s := openStore(t)
	base := t.TempDir()
	app := Folder{Account: "app", Dir: filepath.Join(base, "app")}
	log := newLogRecorder(t)
	w, _ := runWriter(t, s, log, app)

	for i := range 3 {
		deliver(t, s, "other", true, defaultEnv, numbered(i, 100))
	}
	deliver(t, s, "app", true, defaultEnv, numbered(10, 100))
	waitFor(t, 10*time.Second, "app's file", func() bool { return backlog(t, s, "app") == 0 })
	waitFor(t, 10*time.Second, "the warning", func() bool { return log.count("none configured", "account=other") > 0 })
	if n := log.count("none configured", "account=other"); n != 1 {
		t.Errorf("warned %d times about account other, want once", n)
	}
	if b := w.Backlog(); b["other"] != 3 || b["app"] != 0 {
		t.Errorf("Backlog() = %v, want other:3 app:0", b)
	}

	if err := w.SetFolders([]Folder{{Account: "app", Dir: filepath.Join(base, "app")}, {Account: "x", Dir: filepath.Join(base, "app")}}); err == nil {
		t.Errorf("SetFolders accepted two accounts sharing a folder")
	}
	other := Folder{Account: "other", Dir: filepath.Join(base, "other"), Format: FormatIIS}
	app2 := Folder{Account: "app", Dir: filepath.Join(base, "app2"), Format: FormatMaildir}
	if err := w.SetFolders([]Folder{app2, other}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "other's backlog to drain", func() bool { return backlog(t, s, "other") == 0 })
	if names := listFiles(t, other.Dir); len(names) != 3 {
		t.Errorf("other: %v", names)
	}
	deliver(t, s, "app", true, defaultEnv, numbered(11, 100))
	waitFor(t, 10*time.Second, "app's second file", func() bool { return backlog(t, s, "app") == 0 })
	if names := listFiles(t, filepath.Join(base, "app2", "new")); len(names) != 1 {
		t.Errorf("app2/new: %v", names)
	}
	if names := listFiles(t, app.Dir); len(names) != 1 {
		t.Errorf("app: %v", names)
	}
}

func TestNewValidates(t *testing.T) {
	s := openStore(t)
	for _, tc := range []struct {
		name string
		fs   []Folder
		want string
	}{
		{"no account", []Folder{{Dir: "/x"}}, "without an account"},
		{"no dir", []Folder{{Account: "a"}}, "empty drop folder dir"},
		{"format", []Folder{{Account: "a", Dir: "/x", Format: "mbox"}}, `format "mbox"`},
		{"line endings", []Folder{{Account: "a", Dir: "/x", LineEndings: "cr"}}, `line_endings "cr"`},
		{"mode", []Folder{{Account: "a", Dir: "/x", FileMode: os.ModeSetuid | 0o644}}, "file mode"},
		{"two folders", []Folder{{Account: "a", Dir: "/x"}, {Account: "a", Dir: "/y"}}, "two drop folders"},
		{"shared dir", []Folder{{Account: "a", Dir: "/x"}, {Account: "b", Dir: "/x/"}}, "share the drop folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Store: s, Folders: tc.fs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
	w, err := New(Options{Store: s, Folders: []Folder{{Account: "a", Dir: "rel/../drop"}}})
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if got := w.folders["a"].Dir; got != filepath.Join(wd, "drop") {
		t.Errorf("relative dir became %s, want %s", got, filepath.Join(wd, "drop"))
	}
}

func TestRunTwice(t *testing.T) {
	s := openStore(t)
	w, _ := runWriter(t, s, newLogRecorder(t))
	waitFor(t, 5*time.Second, "Run to start", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.runCtx != nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := w.Run(ctx); err == nil {
		t.Errorf("a second Run at the same time returned nil")
	}
}
