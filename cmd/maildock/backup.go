package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/maildock/maildock/internal/fsync"
)

// serveBackup streams a consistent copy of the store (GET /backup on the
// http listener). The copy holds all mail, so it is only given to clients
// on this machine, whatever address the listener has.
func (d *daemon) serveBackup(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.Error(w, "backup is only served to loopback clients", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	n, err := d.store.Backup(w)
	if err != nil {
		d.log.Error("backup failed", "err", err, "bytes", n, "remote", r.RemoteAddr)
		// Break the connection: the client must see a copy cut short,
		// never a complete-looking one.
		panic(http.ErrAbortHandler)
	}
	d.log.Info("backup sent", "bytes", n, "remote", r.RemoteAddr)
}

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "--config FILE DEST", stderr)
	path := fs.String("config", "", "the server's config file (required)")
	pos, err := parseWithArgs(fs, args, "DEST")
	if err != nil {
		return err
	}
	cfg, err := loadConfig(fs, *path)
	if err != nil {
		return err
	}
	dest := pos[0]
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory: name the file to write", dest)
	}
	tmp := dest + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename, there is nothing left to remove
	how, n, err := copyStore(cfg.HTTP.Listen, storeFile(cfg), f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	ctx := context.Background()
	sum, err := checkFile(ctx, tmp, stdout)
	if err != nil {
		return fmt.Errorf("backup: the copy is broken: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := fsync.Dir(filepath.Dir(dest)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s (%s, %s)\n", storeFile(cfg), dest, human(n), how)
	printSummary(stdout, dest, sum)
	return nil
}

// copyStore writes a copy of the store to w: from the running server over
// its http listener, or, when no server answers there, from the file
// (which fails with errStoreInUse if a server does hold it).
func copyStore(listen, file string, w io.Writer) (how string, n int64, err error) {
	if listen != "" {
		n, err := fetchBackup("http://"+dialable(listen)+"/backup", w)
		if err == nil {
			return "online, from the running server", n, nil
		}
		// Only when the connection itself failed (refused: no server)
		// has nothing been written yet; then try the file.
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			return "", n, err
		}
	}
	s, err := openReadOnly(file)
	if errors.Is(err, errStoreInUse) {
		if listen == "" {
			return "", 0, errors.New("the store is in use and [http] listen is off: an online backup needs the http listener")
		}
		return "", 0, fmt.Errorf("the store is in use but no server answers on %s", listen)
	}
	if err != nil {
		return "", 0, err
	}
	defer s.Close()
	n, err = s.Backup(w)
	return "offline, from the file", n, err
}

func fetchBackup(url string, w io.Writer) (int64, error) {
	// No overall timeout: a large store takes as long as it takes. The
	// dial and the response header are bounded.
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: time.Minute,
	}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("%s: copy cut short after %d bytes: %w", url, n, err)
	}
	return n, nil
}
