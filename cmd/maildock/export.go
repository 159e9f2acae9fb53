package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/maildock/maildock/configs"
	"github.com/maildock/maildock/maildir"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/mbox"
)

func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "--config FILE --account A --format mbox|maildir DEST", stderr)
	path := fs.String("config", "", "the config whose store to read (server stopped; required)")
	account := fs.String("account", "", "the account to export (required)")
	format := fs.String("format", "", "mbox: DEST/<mailbox>.mbox files; maildir: a Maildir++ in DEST (required)")
	pos, err := parseWithArgs(fs, args, "DEST")
	if err != nil {
		return err
	}
	if *account == "" || (*format != "mbox" && *format != "maildir") {
		fmt.Fprintln(stderr, "maildock export: --account A and --format mbox|maildir are required")
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	dest := pos[0]
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s exists and is not empty: export writes into a new or empty directory", dest)
	}
	s, err := openReadOnly(storeFile(cfg))
	if err != nil {
		return err
	}
	defer s.Close()
	mbs, err := s.Mailboxes(*account)
	if err != nil {
		return err
	}
	if !hasAccount(cfg, *account) && len(mbs) == 1 && mbs[0].UIDValidity == 0 {
		return fmt.Errorf("account %q is neither in %s nor in the store", *account, *path)
	}
	if err := os.MkdirAll(dest, 0o750); err != nil {
		return err
	}
	var msgs int
	var size int64
	for _, mb := range mbs {
		snap, err := s.Messages(*account, mb.Name)
		if err != nil {
			return err
		}
		if *format == "mbox" {
			err = exportMbox(s, snap, filepath.Join(dest, mboxFileName(mb.Name)))
		} else {
			err = exportMaildir(s, snap, filepath.Join(dest, maildir.FolderName(mb.Name)), mb.Name != "INBOX", stderr)
		}
		if err != nil {
			return fmt.Errorf("export of %s: %w", mb.Name, err)
		}
		msgs += len(snap.Messages)
		for _, m := range snap.Messages {
			size += m.Size
		}
	}
	fmt.Fprintf(stdout, "exported %s: %d mailboxes, %d messages (%s) to %s (%s)\n", *account, len(mbs), msgs, human(size), dest, *format)
	return nil
}

func hasAccount(cfg *configs.Config, name string) bool {
	for _, a := range cfg.Accounts {
		if a.Name == name {
			return true
		}
	}
	return false
}

// mboxFileName is a mailbox's file below DEST: A/B is A/B.mbox, each
// level escaped so that any name is a safe file name.
func mboxFileName(mailbox string) string {
	levels := strings.Split(mailbox, "/")
	for i, l := range levels {
		levels[i] = maildir.EscapeName(l)
	}
	return filepath.Join(levels...) + ".mbox"
}

// exportMbox writes a mailbox as an mboxrd file: written beside, then
// renamed into place.
func exportMbox(s *mailstore.Store, snap *mailstore.Snapshot, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path + ".tmp")
	w := mbox.NewWriter(f)
	for _, m := range snap.Messages {
		raw, err := s.ReadBlob(m.Blob)
		if err != nil {
			f.Close()
			return err
		}
		if h := mbox.FlagHeaders(m.Flags); h != nil {
			raw = append(h, raw...)
		}
		if err := w.WriteMessage(envelopeSender(raw), m.InternalDate, raw); err != nil {
			f.Close()
			return err
		}
	}
	err = w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// envelopeSender is the address for an mbox From line: Return-Path, else
// From, else "" (the writer puts MAILER-DAEMON).
func envelopeSender(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	if rp := strings.Trim(strings.TrimSpace(msg.Header.Get("Return-Path")), "<>"); rp != "" {
		return rp
	}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		return a.Address
	}
	return ""
}

// exportMaildir writes a mailbox as a Maildir folder: each message is
// written into tmp/, renamed into cur/ with its flags in the name, and
// given its internal date as modification time (which is what Dovecot
// reads as the internal date).
func exportMaildir(s *mailstore.Store, snap *mailstore.Snapshot, dir string, sub bool, stderr io.Writer) error {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return err
		}
	}
	if sub {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return err
		}
	}
	kw := &maildir.Keywords{}
	for _, m := range snap.Messages {
		raw, err := s.ReadBlob(m.Blob)
		if err != nil {
			return err
		}
		info, dropped := maildir.Info(m.Flags, kw)
		if len(dropped) > 0 {
			fmt.Fprintf(stderr, "maildock export: %s UID %d: more than 26 keywords in the folder, left out: %s\n", dir, m.UID, strings.Join(dropped, " "))
		}
		if runtime.GOOS == "windows" {
			info = ";" + info[1:] // ':' cannot be in a file name there
		}
		unique := fmt.Sprintf("%d.U%dV%d.maildock", m.InternalDate.Unix(), m.UID, snap.UIDValidity)
		tmp := filepath.Join(dir, "tmp", unique)
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			return err
		}
		final := filepath.Join(dir, "cur", unique+info)
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
		if err := os.Chtimes(final, m.InternalDate, m.InternalDate); err != nil {
			return err
		}
	}
	if err := maildir.WriteKeywords(dir, kw); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
