// Package fsync makes changes to a directory durable.
package fsync

import (
	"fmt"
	"os"
	"runtime"
)

// Dir fsyncs a directory, so that the names created, renamed or removed in
// it survive a power loss: fsync of a file does not cover its directory
// entry (mox's moxio/syncdir.go does the same). Windows cannot open a
// directory for syncing and needs no such step.
func Dir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
