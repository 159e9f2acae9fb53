package configs

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that Parse never panics and keeps its promises: an
// error is a non-empty Problems of the file with lines inside it; a
// config is complete and its listeners and addresses are well-formed.
// The seed corpus is in testdata/fuzz/FuzzParse; run with
// `go test -fuzz FuzzParse ./configs/`.
func FuzzParse(f *testing.F) {
	if example, err := os.ReadFile(exampleFile); err == nil {
		f.Add(example)
	}
	f.Add([]byte(oneAccount))
	f.Add([]byte(lines(`[smtp]`, `listen = ["127.0.0.1:0", "127.0.0.1:0"]`, `max_message_size = 1.5`, `[auth]`, `lockout = 900`) + oneAccount))
	f.Add([]byte(lines(`account = [{ name = "a", password_hash = "x", addresses = ["@x"], pickup = { dir = "" } }]`, `[account.pickup]`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Never read the files a fuzzed config names.
		c, err := ParseWithOptions(data, "fuzz.toml", LoadOptions{SkipFileChecks: true})
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned both a config and %v", err)
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T %v is not a non-empty Problems", err, err)
			}
			maxLine := bytes.Count(data, []byte("\n")) + 1
			for _, p := range ps {
				if p.File != "fuzz.toml" || p.Msg == "" || p.Line < 0 || p.Line > maxLine {
					t.Fatalf("bad problem %#v (the file has %d lines)", p, maxLine)
				}
			}
			return
		}
		if len(c.Accounts) == 0 || len(c.Domains()) == 0 {
			t.Fatalf("a valid config without accounts or domains: %+v", c)
		}
		for _, l := range c.Listeners() {
			if _, err := checkListen(l.Addr); err != nil {
				t.Fatalf("a valid config listens on %s: %v", l.Addr, err)
			}
		}
		n := 0
		for _, a := range c.Accounts {
			n += len(a.Addresses)
			if a.Pickup != nil && (a.Pickup.Dir == "" || a.Pickup.Format == "") {
				t.Fatalf("account %q: incomplete pickup %+v", a.Name, a.Pickup)
			}
		}
		exact, catchAll := c.AddressMap()
		if len(exact)+len(catchAll) != n {
			t.Fatalf("AddressMap has %d entries for %d distinct addresses", len(exact)+len(catchAll), n)
		}
		if len(c.SMTP.AllowedPrefixes) != len(c.SMTP.AllowedNetworks) || len(c.Auth.PlaintextPrefixes) != len(c.Auth.PlaintextNetworks) {
			t.Fatalf("parsed networks do not match the written ones")
		}
		_ = c.Summary()
	})
}
