package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/maildock/maildock/mailstore"
)

// These tests drive the offline and ops commands (export, import, backup,
// verify, compact) of the built binary against stores a real server
// filled over SMTP.

// runMaildock runs the binary and returns its output and exit code.
func runMaildock(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.String(), "goroutine ") {
		t.Errorf("maildock %s printed a Go trace:\n%s", args[0], e.String())
	}
	return o.String(), e.String(), code
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runMaildock(t, args...)
	if code != 0 {
		t.Fatalf("maildock %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// pinHTTP writes a copy of a writeConfig config whose [http] listen is
// the address the running server got, so that commands can find it.
func pinHTTP(t *testing.T, cfg, addr string) string {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pinned := strings.TrimSuffix(cfg, ".toml") + "-pinned.toml"
	if err := os.WriteFile(pinned, []byte(strings.Replace(string(b), `listen = "127.0.0.1:0"`, `listen = "`+addr+`"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return pinned
}

// storedMsg is one message as a store holds it.
type storedMsg struct {
	raw   []byte
	flags []string
	date  time.Time
}

// readStore returns an account's mailboxes and their messages in UID
// order, from a store file no server holds.
func readStore(t *testing.T, path, account string) map[string][]storedMsg {
	t.Helper()
	s, err := mailstore.OpenReadOnly(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, err := range s.Check(context.Background()) {
		t.Errorf("%s: %v", path, err)
	}
	mbs, err := s.Mailboxes(account)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]storedMsg{}
	for _, mb := range mbs {
		snap, err := s.Messages(account, mb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range snap.Messages {
			raw, err := s.ReadBlob(m.Blob)
			if err != nil {
				t.Fatal(err)
			}
			out[mb.Name] = append(out[mb.Name], storedMsg{raw, m.Flags, m.InternalDate})
		}
		if len(snap.Messages) == 0 {
			out[mb.Name] = nil
		}
	}
	return out
}

func compareStores(t *testing.T, how string, got, want map[string][]storedMsg) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: mailboxes %q, want %q", how, keysOf(got), keysOf(want))
	}
	for name, msgs := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: mailbox %s missing", how, name)
			continue
		}
		if len(g) != len(msgs) {
			t.Errorf("%s: %s has %d messages, want %d", how, name, len(g), len(msgs))
			continue
		}
		for i, m := range msgs {
			if !bytes.Equal(g[i].raw, m.raw) {
				t.Errorf("%s: %s message %d differs:\ngot  %q\nwant %q", how, name, i+1, g[i].raw, m.raw)
			}
			if !slices.Equal(g[i].flags, m.flags) {
				t.Errorf("%s: %s message %d: flags %q, want %q", how, name, i+1, g[i].flags, m.flags)
			}
			if !g[i].date.Equal(m.date) {
				t.Errorf("%s: %s message %d: date %v, want %v", how, name, i+1, g[i].date, m.date)
			}
		}
	}
}

func keysOf(m map[string][]storedMsg) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Mail that came in over SMTP goes out as mbox and as Maildir and back
// into other stores byte for byte, with its flags, dates and mailboxes.
func TestExportImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	p := startServe(t, dir, "--config", cfg)
	msgs := [][]byte{
		testMessage("plain", "Hello."),
		testMessage("from-lines", "From here on, quoting:\r\n>From there\r\n>>From further\r\nFrom\r\n\r\nFrom the end"),
		testMessage("8bit", "Grüße aus Köln, 5 € \xe2\x9c\x93"),
		testMessage("big", strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 3000)),
		testMessage("empty-lines", "\r\n\r\n\r\n"),
	}
	for _, m := range msgs {
		if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"inbox@app1.e2e.test"}, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Flags and mailboxes, as IMAP clients would have set them.
	db := filepath.Join(dir, "data", "maildock.db")
	s, err := mailstore.Open(mailstore.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, mb := range []string{"Archive/2024", "v1.2: half off", "Empty"} {
		if err := s.CreateMailbox(ctx, "app1", mb); err != nil {
			t.Fatal(err)
		}
	}
	steps := []error{
		func() error {
			_, err := s.SetFlags(ctx, "app1", "INBOX", []uint32{1, 2}, mailstore.FlagsAdd, []string{mailstore.FlagSeen})
			return err
		}(),
		func() error {
			_, err := s.SetFlags(ctx, "app1", "INBOX", []uint32{2}, mailstore.FlagsAdd, []string{mailstore.FlagAnswered, mailstore.FlagFlagged, "Work"})
			return err
		}(),
		func() error {
			_, err := s.Copy(ctx, "app1", "INBOX", []uint32{2, 3}, "Archive/2024", false)
			return err
		}(),
		func() error { _, err := s.Copy(ctx, "app1", "INBOX", []uint32{5}, "v1.2: half off", false); return err }(),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	want := readStore(t, db, "app1")
	if len(want["INBOX"]) != len(msgs) || len(want["Archive/2024"]) != 2 {
		t.Fatalf("setup: %d mailboxes", len(want))
	}

	mboxDir, mdDir := filepath.Join(dir, "out-mbox"), filepath.Join(dir, "out-maildir")
	out := mustRun(t, "export", "--config", cfg, "--account", "app1", "--format", "mbox", mboxDir)
	if !strings.Contains(out, "4 mailboxes, 8 messages") {
		t.Errorf("export mbox: %s", out)
	}
	mustRun(t, "export", "--config", cfg, "--account", "app1", "--format", "maildir", mdDir)
	inbox, err := os.ReadFile(filepath.Join(mboxDir, "INBOX.mbox"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"\n\n>From here on, quoting:\n>>From there\n>>>From further\nFrom\n\n>From the end\n", "Status: RO\nX-Status: AF\nX-Keywords: Work\n"} {
		if !bytes.Contains(inbox, []byte(s)) {
			t.Errorf("INBOX.mbox lacks %q", s)
		}
	}
	if bytes.Contains(inbox, []byte("\r\n")) {
		t.Error("INBOX.mbox has CRLF line endings")
	}
	for _, f := range []string{"Archive/2024.mbox", "v1%2E2%3A half off.mbox", "Empty.mbox"} {
		if _, err := os.Stat(filepath.Join(mboxDir, f)); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"cur", ".Archive.2024/cur", ".Archive.2024/maildirfolder", ".v1%2E2%3A half off/cur", ".Empty/new", "dovecot-keywords"} {
		if _, err := os.Stat(filepath.Join(mdDir, f)); err != nil {
			t.Error(err)
		}
	}
	cur, _ := filepath.Glob(filepath.Join(mdDir, "cur", "*:2,FRSa"))
	if len(cur) != 1 {
		t.Errorf("INBOX/cur has %d files flagged FRSa (seen, answered, flagged, keyword a), want 1", len(cur))
	}

	// mbox into app2 of the same store (CRLF comes back: SMTP mail is CRLF
	// throughout), Maildir into a fresh store.
	mustRun(t, "import", "--config", cfg, "--account", "app2", mboxDir)
	dir2 := t.TempDir()
	cfg2 := writeConfig(t, dir2, "")
	out = mustRun(t, "import", "--config", cfg2, "--account", "app1", mdDir)
	if !strings.Contains(out, "8 messages stored, 0 already there, from 4 mailboxes") {
		t.Errorf("import maildir: %s", out)
	}
	compareStores(t, "mbox", readStore(t, db, "app2"), want)
	compareStores(t, "maildir", readStore(t, filepath.Join(dir2, "data", "maildock.db"), "app1"), want)

	// The same again stores nothing.
	out = mustRun(t, "import", "--config", cfg, "--account", "app2", mboxDir)
	if !strings.Contains(out, "0 messages stored, 8 already there") {
		t.Errorf("import again: %s", out)
	}
	compareStores(t, "mbox twice", readStore(t, db, "app2"), want)
}

// A hand-made mbox of the kind mail clients leave: mboxrd quoting, flags
// in Status/X-Status/X-Keywords, 8-bit text.
func TestImportRealWorldMbox(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	src := filepath.Join("..", "..", "mbox", "testdata", "thunderbird.mbox")
	out := mustRun(t, "import", "--config", cfg, "--account", "app1", "--mailbox", "Alerts", src)
	if !strings.Contains(out, "3 messages stored") {
		t.Errorf("import: %s", out)
	}
	got := readStore(t, filepath.Join(dir, "data", "maildock.db"), "app1")
	msgs := got["Alerts"]
	if len(msgs) != 3 || len(got["INBOX"]) != 0 {
		t.Fatalf("stored %d messages in Alerts, %d in INBOX", len(msgs), len(got["INBOX"]))
	}
	tests := []struct {
		flags  []string
		date   time.Time
		has    []string
		hasNot []string
	}{
		{[]string{`\Answered`, `\Seen`, "$label1", "NonJunk"}, time.Date(2024, 3, 1, 9, 15, 2, 0, time.UTC),
			[]string{"\r\n\r\nDisk usage", "\r\nFrom the runbook:", "\r\n>From the old runbook", "\r\nFrom here on, ask the DBA.\r\n"},
			[]string{"Status:", "X-Keywords", ">From the runbook", "\r\n\r\n\r\n"}},
		{nil, time.Date(2024, 3, 1, 10, 2, 44, 0, time.UTC),
			[]string{"Résolu: l'espace disque est revenu à 62 %.\r\n", "\r\n>From: a quoted header line", "\r\n>>From three levels deep\r\n"},
			[]string{">>>From"}},
		{nil, time.Date(2024, 3, 4, 7, 30, 0, 0, time.UTC), []string{"From: ERP", "\r\n>From;0\r\n--b1--\r\n"}, []string{"Status:"}},
	}
	for i, tt := range tests {
		m := msgs[i]
		if !slices.Equal(m.flags, tt.flags) || !m.date.Equal(tt.date) {
			t.Errorf("message %d: flags %q date %v, want %q %v", i+1, m.flags, m.date, tt.flags, tt.date)
		}
		if bytes.Contains(bytes.ReplaceAll(m.raw, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("message %d has bare LF line endings", i+1)
		}
		for _, s := range tt.has {
			if !bytes.Contains(m.raw, []byte(s)) {
				t.Errorf("message %d lacks %q:\n%s", i+1, s, m.raw)
			}
		}
		for _, s := range tt.hasNot {
			if bytes.Contains(m.raw, []byte(s)) {
				t.Errorf("message %d has %q:\n%s", i+1, s, m.raw)
			}
		}
	}
}

// An import killed with SIGKILL part way stores, when run again, exactly
// what is missing.
func TestImportResumesAfterKill(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	const n = 2000
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "From sender@example.org Mon Jan  1 00:%02d:%02d 2024\n", i/60%60, i%60)
		fmt.Fprintf(&b, "From: sender@example.org\nSubject: bulk %d\nMessage-ID: <bulk-%d@e2e.test>\n\n", i, i)
		for j := 0; j < 20; j++ {
			fmt.Fprintf(&b, "line %d of message %d, a bit of padding to make it realistic\n", j, i)
		}
		if i%7 == 0 {
			b.WriteString(">From a quoted line\n")
		}
		b.WriteString("\n")
	}
	src := filepath.Join(dir, "bulk.mbox")
	if err := os.WriteFile(src, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(binary, "import", "--config", cfg, "--account", "app1", src)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	progressRE := regexp.MustCompile(`(\d+) messages stored`)
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		if m := progressRE.FindStringSubmatch(sc.Text()); m != nil {
			if k, _ := strconv.Atoi(m[1]); k > 0 && k < n {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
	}
	cmd.Wait()
	if !killed {
		t.Log("the import ended before it could be killed; checking the rerun only")
	}

	out := mustRun(t, "import", "--config", cfg, "--account", "app1", src)
	m := regexp.MustCompile(`(\d+) messages stored, (\d+) already there`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rerun: %s", out)
	}
	stored, already := atoiT(t, m[1]), atoiT(t, m[2])
	if stored+already != n || (killed && already == 0) {
		t.Errorf("rerun: %d stored, %d already there, want %d in all", stored, already, n)
	}
	got := storedMessages(t, filepath.Join(dir, "data"), "app1") // fails on a message stored twice
	if len(got) != n {
		t.Errorf("%d messages stored, want %d", len(got), n)
	}
	for i := 0; i < n; i += 97 {
		raw := got[fmt.Sprintf("<bulk-%d@e2e.test>", i)]
		if !bytes.Contains(raw, []byte(fmt.Sprintf("line 19 of message %d, a bit", i))) {
			t.Errorf("message %d: %q", i, raw)
		}
	}
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A backup taken while mail arrives is a store that verifies and holds
// the messages in the order they came, up to some point; with the server
// stopped, backup copies the file.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	p := startServe(t, dir, "--config", cfg)
	pinned := pinHTTP(t, cfg, p.addr("http"))
	const n = 300
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			body := fmt.Sprintf("load %d\r\n%s", i, strings.Repeat("x", 2000))
			if err := sendGoSMTP(p.addr("smtp"), "s@example.org", []string{"inbox@app1.e2e.test"}, testMessage(fmt.Sprintf("load-%03d", i), body)); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- nil
	}()
	for deadline := time.Now().Add(60 * time.Second); sent.Load() < 20; {
		if time.Now().After(deadline) {
			t.Fatal("mail did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	copy1 := filepath.Join(dir, "backups", "online.db")
	os.MkdirAll(filepath.Dir(copy1), 0o750)
	out := mustRun(t, "backup", "--config", pinned, copy1)
	if !strings.Contains(out, "online, from the running server") || !strings.Contains(out, "online.db: OK") {
		t.Errorf("backup: %s", out)
	}
	if _, err := os.Stat(copy1 + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("backup left %s.tmp: %v", copy1, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "verify", "--db", copy1); !strings.Contains(out, "OK: 1 accounts") {
		t.Errorf("verify --db: %s", out)
	}
	// A prefix: load-000, load-001, ... in UID order, nothing missing.
	msgs := readStore(t, copy1, "app1")["INBOX"]
	if len(msgs) < 20 || len(msgs) > n {
		t.Fatalf("the copy holds %d messages", len(msgs))
	}
	for i, m := range msgs {
		if id := fmt.Sprintf("<load-%03d@e2e.test>", i); !bytes.Contains(m.raw, []byte(id)) {
			t.Fatalf("the copy's message %d is not %s", i+1, id)
		}
	}
	t.Logf("the online copy holds %d of %d messages", len(msgs), n)

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	copy2 := filepath.Join(dir, "backups", "offline.db")
	out = mustRun(t, "backup", "--config", pinned, copy2)
	if !strings.Contains(out, "offline, from the file") {
		t.Errorf("backup without a server: %s", out)
	}
	if got := len(readStore(t, copy2, "app1")["INBOX"]); got != n {
		t.Errorf("the offline copy holds %d messages, want %d", got, n)
	}
	// A restore is a copy back into data_dir.
	restored := t.TempDir()
	cfg3 := writeConfig(t, restored, "")
	os.MkdirAll(filepath.Join(restored, "data"), 0o750)
	b, _ := os.ReadFile(copy2)
	os.WriteFile(filepath.Join(restored, "data", "maildock.db"), b, 0o600)
	p3 := startServe(t, restored, "--config", cfg3)
	p3.stop(syscall.SIGTERM)
	if got := storedMessages(t, filepath.Join(restored, "data"), "app1"); len(got) != n {
		t.Errorf("restored store holds %d messages", len(got))
	}
}

// The commands that need the store to themselves say so while the server
// runs; verify finds a damaged copy; compact shrinks a store after many
// deletions and keeps every message left.
func TestOfflineCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	db := filepath.Join(dir, "data", "maildock.db")
	s, err := mailstore.Open(mailstore.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for i := 0; i < 300; i++ {
		m, err := mailstore.ReadMessage(bytes.NewReader(testMessage(fmt.Sprintf("c%d", i), strings.Repeat("y", 20000))), 0)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Deliver(context.Background(), m, []mailstore.Target{{Account: "app1"}})
		if err != nil {
			t.Fatal(err)
		}
		if i >= 10 {
			uids = append(uids, d[0].UID)
		}
	}
	if _, err := s.Expunge(context.Background(), "app1", "INBOX", uids); err != nil {
		t.Fatal(err)
	}
	s.Close()

	p := startServe(t, dir, "--config", cfg)
	for _, args := range [][]string{
		{"export", "--config", cfg, "--account", "app1", "--format", "mbox", filepath.Join(dir, "x")},
		{"import", "--config", cfg, "--account", "app1", "../../mbox/testdata/thunderbird.mbox"},
		{"compact", "--config", cfg},
		{"verify", "--config", cfg},
	} {
		_, errOut, code := runMaildock(t, args...)
		if code != 1 || !strings.Contains(errOut, "the store is in use: stop maildock first (systemctl stop maildock)") {
			t.Errorf("%s while the server runs: exit %d, %s", args[0], code, errOut)
		}
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	before := fileSize(db)
	out := mustRun(t, "compact", "--config", cfg)
	after := fileSize(db)
	if !strings.Contains(out, "compacted") || after >= before/2 {
		t.Errorf("compact: %d -> %d bytes: %s", before, after, out)
	}
	if fileSize(db+".old") != before {
		t.Errorf("the old store is not kept as maildock.db.old")
	}
	if out := mustRun(t, "verify", "--config", cfg); !strings.Contains(out, "OK: 1 accounts, 1 mailboxes, 10 messages") {
		t.Errorf("verify after compact: %s", out)
	}
	if got := storedMessages(t, filepath.Join(dir, "data"), "app1"); len(got) != 10 {
		t.Errorf("%d messages after compact, want 10", len(got))
	}

	// Damage a copy: a page of the tree overwritten. Which page holds
	// what depends on the layout, so try pages until verify notices (most
	// do; a free page does not count).
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for pg := 2; pg*4096 < len(b) && !found; pg++ {
		bad := slices.Clone(b)
		copy(bad[pg*4096:(pg+1)*4096], bytes.Repeat([]byte{0xff}, 4096))
		path := filepath.Join(dir, "bad.db")
		os.WriteFile(path, bad, 0o600)
		out, errOut, code := runMaildock(t, "verify", "--db", path)
		switch code {
		case 0:
		case 1:
			found = true
			if !strings.Contains(out, "bad.db: ") || !strings.Contains(errOut, "bad.db") {
				t.Errorf("verify of a damaged copy: %s\n%s", out, errOut)
			}
		default:
			t.Fatalf("verify of a damaged copy: exit %d\n%s\n%s", code, out, errOut)
		}
	}
	if !found {
		t.Error("verify found no damaged page")
	}

	// Usage errors exit 2.
	for _, args := range [][]string{
		{"export", "--config", cfg, "--account", "app1", filepath.Join(dir, "y")},
		{"import", "--config", cfg, "--account", "app1"},
		{"backup", "--config", cfg},
		{"verify", "--bogus"},
		{"compact", "--config", cfg, "extra"},
	} {
		if _, errOut, code := runMaildock(t, args...); code != 2 || !strings.Contains(errOut, "usage: maildock "+args[0]) {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
}
