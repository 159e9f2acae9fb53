package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maildock/maildock/configs"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestExoSetupGolden(t *testing.T) {
	example := filepath.Join("..", "..", "configs", "maildock.example.toml")
	out, err := exec.Command(binary, "exo-setup", "--config", example, "--smarthost", "mx.app1.example.com").CombinedOutput()
	if err != nil {
		t.Fatalf("exo-setup: %v\n%s", err, out)
	}
	golden := filepath.Join("testdata", "exo-setup.golden")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("exo-setup output differs from %s (run go test -run ExoSetup -update ./cmd/maildock/ and review the diff):\n%s", golden, out)
	}
	cfg, err := configs.LoadWithOptions(example, configs.LoadOptions{SkipFileChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, d := range cfg.Domains() {
		if !strings.Contains(text, "-RecipientDomains '"+d+"'") || !strings.Contains(text, "Validate-OutboundConnector -Identity 'maildock "+d+"'") {
			t.Errorf("no connector or validation for domain %s", d)
		}
	}
	for _, a := range cfg.Accounts {
		for _, addr := range a.Addresses {
			if strings.HasPrefix(addr, "@") {
				if !strings.Contains(text, "catch-all "+addr) {
					t.Errorf("catch-all %s not explained", addr)
				}
			} else if !strings.Contains(text, "-ExternalEmailAddress '"+addr+"'") {
				t.Errorf("no mail contact for %s", addr)
			}
		}
	}
	if !strings.Contains(text, "-SmartHosts 'mx.app1.example.com'") {
		t.Error("smart host missing")
	}
}

func TestExoSetupRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"exo-setup"},
		{"exo-setup", "--config", "x.toml"},
	} {
		if err := exec.Command(binary, args...).Run(); err == nil || err.(*exec.ExitError).ExitCode() != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
	}
	out, err := exec.Command(binary, "exo-setup", "--config", filepath.Join("..", "..", "configs", "maildock.example.toml"), "--smarthost", "192.0.2.1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DNS name") {
		t.Errorf("an IP as smart host: %v %s", err, out)
	}
}
