package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/mailstore"
)

// Drop folders driven through the built binary: mail in over SMTP, files
// checked on disk byte by byte.

type dropAccount struct {
	name, format, eol string
	keep              bool
}

func (a dropAccount) domain() string { return a.name + ".drop.test" }

func writeDropConfig(t *testing.T, dir string, accts []dropAccount) string {
	t.Helper()
	hash, err := auth.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = \"mx.drop.test\"\ndata_dir = %q\n[smtp]\nlisten = [\"127.0.0.1:0\"]\n[imap]\nlisten = []\nlisten_tls = []\n[pop3]\nlisten = []\nlisten_tls = []\n[http]\nlisten = \"\"\n",
		filepath.Join(dir, "data"))
	for _, a := range accts {
		fmt.Fprintf(&b, "\n[[account]]\nname = %q\npassword_hash = %q\naddresses = [\"@%s\"]\n[account.pickup]\ndir = %q\nformat = %q\nline_endings = %q\nkeep = %v\n",
			a.name, hash, a.domain(), filepath.Join(dir, "drop", a.name), a.format, a.eol, a.keep)
	}
	path := filepath.Join(dir, "maildock.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dropFiles lists the finished files of a drop folder in name order.
func dropFiles(t *testing.T, dir, format string) []string {
	t.Helper()
	if format == "maildir" {
		dir = filepath.Join(dir, "new")
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

// waitFiles polls until dir holds n files (bounded).
func waitFiles(t *testing.T, dir, format string, n int) []string {
	t.Helper()
	var files []string
	for i := 0; i < 600; i++ {
		if files = dropFiles(t, dir, format); len(files) >= n {
			return files
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %d files after waiting, want %d", dir, len(files), n)
	return nil
}

// convertEOL applies a drop folder's line-ending setting: crlf turns bare
// LF into CRLF, lf turns CRLF into LF; a lone CR stays.
func convertEOL(b []byte, eol string) []byte {
	if eol == "lf" {
		return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func TestDropFolderFormats(t *testing.T) {
	dir := t.TempDir()
	accts := []dropAccount{
		{"emlcrlf", "eml", "crlf", true},
		{"emllf", "eml", "lf", true},
		{"maildir", "maildir", "crlf", true},
		{"iis", "iis", "crlf", true},
		{"iislf", "iis", "lf", true},
		{"filesonly", "eml", "crlf", false},
	}
	cfg := writeDropConfig(t, dir, accts)
	p := startServe(t, dir, "--config", cfg)
	addr := p.addr("smtp")

	corpus, _ := filepath.Glob("../../testdata/corpus/*.eml")
	var bodies [][]byte
	for _, name := range []string{"dot-lines.eml", "binary-part.eml", "exchange-forwarded.eml"} {
		for _, f := range corpus {
			if filepath.Base(f) == name {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, overDATALines(raw))
			}
		}
	}
	if len(bodies) != 3 {
		t.Fatalf("corpus files missing: found %d of 3", len(bodies))
	}
	bodies = append(bodies, testMessage("drop-simple", "plain body\r\n.dot line\r\n8-bit: \xc3\xa9"))

	for _, a := range accts {
		for _, body := range bodies {
			if err := sendGoSMTP(addr, "sender@example.org", []string{"x@" + a.domain(), "y@" + a.domain()}, body); err != nil {
				t.Fatalf("%s: %v", a.name, err)
			}
		}
	}
	for _, a := range accts {
		t.Run(a.name, func(t *testing.T) {
			folder := filepath.Join(dir, "drop", a.name)
			files := waitFiles(t, folder, a.format, len(bodies))
			if len(files) != len(bodies) {
				t.Fatalf("%d files, want %d", len(files), len(bodies))
			}
			for i, f := range files {
				got, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if a.format == "iis" {
					env := convertEOL([]byte("x-sender: sender@example.org\r\nx-receiver: x@"+a.domain()+"\r\nx-receiver: y@"+a.domain()+"\r\n"), a.eol)
					if !bytes.HasPrefix(got, env) {
						t.Fatalf("%s: iis envelope lines missing: %.120q", filepath.Base(f), got)
					}
					got = got[len(env):]
				}
				if !bytes.HasPrefix(got, []byte("Received: from ")) {
					t.Fatalf("%s: does not start with the Received header: %.60q", filepath.Base(f), got)
				}
				// Files are in arrival order, so file i is message i.
				want := convertEOL(bodies[i], a.eol)
				if !bytes.HasSuffix(got, want) {
					t.Errorf("%s: content differs from message %d after %s conversion", filepath.Base(f), i, a.eol)
				}
				fi, _ := os.Stat(f)
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("%s: mode %v, want 0640", filepath.Base(f), fi.Mode().Perm())
				}
				if a.format == "maildir" && !strings.HasSuffix(f, fmt.Sprintf(",S=%d", fi.Size())) {
					t.Errorf("maildir name %s does not end in ,S=%d", filepath.Base(f), fi.Size())
				}
				if a.format != "maildir" && !strings.HasSuffix(f, ".eml") {
					t.Errorf("name %s does not end in .eml", filepath.Base(f))
				}
			}
		})
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s, err := mailstore.Open(mailstore.Options{Path: filepath.Join(dir, "data", "maildock.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		account string
		want    int
	}{{"filesonly", 0}, {"emlcrlf", len(bodies)}} {
		snap, err := s.Messages(tc.account, "INBOX")
		if err != nil || len(snap.Messages) != tc.want {
			t.Errorf("%s INBOX: %d messages (err %v), want %d", tc.account, len(snap.Messages), err, tc.want)
		}
		if n, _ := s.PickupBacklog(tc.account); n != 0 {
			t.Errorf("%s: drop backlog %d after the files were written", tc.account, n)
		}
	}
}

// overDATALines is what a DATA transfer carries of raw (bare LF sent as
// CRLF, a final CRLF added), so the test knows what the server received.
func overDATALines(raw []byte) []byte {
	out := convertEOL(raw, "crlf")
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// TestDropFolderKill9 kills the binary while files are being written, three
// times: afterwards every acknowledged message has exactly one complete file.
func TestDropFolderKill9(t *testing.T) {
	dir := t.TempDir()
	acct := dropAccount{"crash", "eml", "crlf", true}
	cfg := writeDropConfig(t, dir, []dropAccount{acct})
	folder := filepath.Join(dir, "drop", acct.name)
	sent := map[string][]byte{} // Message-ID -> body, for acknowledged messages
	var mu sync.Mutex
	for round := range 3 {
		p := startServe(t, dir, "--config", cfg)
		addr := p.addr("smtp")
		var wg sync.WaitGroup
		n := 0
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 80 {
					id := fmt.Sprintf("d%d-%d-%d", round, g, i)
					body := testMessage(id, strings.Repeat("drop file line\r\n", 50*(i%5+1)))
					if err := sendGoSMTP(addr, "s@example.org", []string{"a@" + acct.domain()}, body); err != nil {
						return
					}
					mu.Lock()
					sent["<"+id+"@e2e.test>"] = body
					n++
					if n == 60 {
						p.cmd.Process.Signal(syscall.SIGKILL)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	// A last start writes whatever the kills left queued. Messages stored
	// but killed before their 250 also get files, so wait (bounded) for
	// every acknowledged one rather than for a count.
	p := startServe(t, dir, "--config", cfg)
	var files []string
	seen := map[string]string{}
	for try := 0; try < 600; try++ {
		files = dropFiles(t, folder, "eml")
		seen = map[string]string{}
		missing := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: not a whole message: %v", filepath.Base(f), err)
			}
			id := msg.Header.Get("Message-Id")
			if prev, dup := seen[id]; dup {
				t.Fatalf("%s written twice: %s and %s", id, prev, filepath.Base(f))
			}
			seen[id] = filepath.Base(f)
			if want, ok := sent[id]; ok && !bytes.HasSuffix(raw, want) {
				t.Fatalf("%s (%s): file is not the complete message", filepath.Base(f), id)
			}
		}
		for id := range sent {
			if _, ok := seen[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(syscall.SIGTERM)
	for id := range sent {
		if _, ok := seen[id]; !ok {
			t.Errorf("%s got 250 but has no file", id)
		}
	}
	// The writer may have been stopped mid-batch; the next start sweeps
	// what it left and finishes the queue.
	p = startServe(t, dir, "--config", cfg)
	for i := 0; i < 600; i++ {
		if n := len(dropFiles(t, folder, "eml")); n >= len(files) && !strings.Contains(p.log.String(), "draining") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(syscall.SIGTERM)
	after := dropFiles(t, folder, "eml")
	if len(after) < len(files) {
		t.Errorf("files went from %d to %d after a restart", len(files), len(after))
	}
	ids := map[string]bool{}
	for _, f := range after {
		raw, _ := os.ReadFile(f)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("%s after restart: %v", filepath.Base(f), err)
			continue
		}
		if id := msg.Header.Get("Message-Id"); ids[id] {
			t.Errorf("%s has two files after the restart", id)
		} else {
			ids[id] = true
		}
	}
	t.Logf("%d acknowledged messages, %d files", len(sent), len(files))
}
