package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The systemd unit is valid for systemd-analyze and runs commands this
// binary has (checked with the built binary in their place).
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../configs/maildock.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStartPre=/usr/local/bin/maildock check --config /etc/maildock/maildock.toml",
		"ExecStart=/usr/local/bin/maildock serve --config /etc/maildock/maildock.toml",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"StateDirectory=maildock",
	} {
		if !strings.Contains(string(unit), want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (package systemd): the unit's syntax is not checked")
	}
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	local := strings.NewReplacer("/usr/local/bin/maildock", binary, "/etc/maildock/maildock.toml", cfg).Replace(string(unit))
	path := filepath.Join(dir, "maildock.service")
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// ExecStartPre's command works on a valid config.
	if out, err := exec.Command(binary, "check", "--config", cfg).CombinedOutput(); err != nil {
		t.Errorf("maildock check: %v\n%s", err, out)
	}
}
