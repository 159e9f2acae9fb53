package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/maildock/maildock/configs"
)

// /healthz answers 503 once the store cannot take a write. The daemon runs
// in process here so the test can break its store under it (a full disk
// cannot be arranged on loopback).
func TestHealthzFailsWithoutAWritableStore(t *testing.T) {
	dir := t.TempDir()
	cfg, err := configs.Load(writeConfig(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	d, err := start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.shutdown(5 * time.Second)
	var addr string
	for _, l := range *d.health.Load() {
		if name, ok := strings.CutPrefix(l.name, "http "); ok {
			addr = name
		}
	}
	get := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != 200 || !strings.HasPrefix(body, "ok\nstore: writable\n") {
		t.Fatalf("healthy: %d %q", code, body)
	}
	d.store.Close() // what a failing disk looks like to the handler: writes fail
	if code, body := get(); code != 503 || !strings.HasPrefix(body, "store: ") {
		t.Errorf("with the store gone: %d %q, want 503", code, body)
	}
}
