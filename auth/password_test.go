package auth

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckHash(h); err != nil {
		t.Errorf("CheckHash(new hash): %v", err)
	}
	if strings.Contains(h, "s3cret") {
		t.Errorf("hash %q contains the password", h)
	}
	if !VerifyPassword(h, "s3cret pass") {
		t.Error("right password refused")
	}
	for _, wrong := range []string{"", "s3cret", "s3cret pass ", "S3cret pass"} {
		if VerifyPassword(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
}

func TestRefusals(t *testing.T) {
	if _, err := HashPassword(""); err == nil {
		t.Error("empty password hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("73-byte password hashed")
	}
	for _, bad := range []string{"", "plain", "$1$abc", "$2a$99$short"} {
		if err := CheckHash(bad); err == nil {
			t.Errorf("CheckHash(%q) accepted", bad)
		}
	}
}

func TestArgon2id(t *testing.T) {
	// Made with the reference argon2 CLI: echo -n secret | argon2 somesalt -id -t 2 -m 12 -p 1 -e
	const hash = "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHQ$TLXwQYTTzWKDFfWHDyPKbh8ksZXGxatok7fsfJt7L+o"
	if err := CheckHash(hash); err != nil {
		t.Fatalf("CheckHash: %v", err)
	}
	if !VerifyPassword(hash, "secret") {
		t.Error("right password refused")
	}
	if VerifyPassword(hash, "Secret") {
		t.Error("wrong password accepted")
	}
	for _, bad := range []string{"$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHQ", "$argon2id$v=16$m=4096,t=2,p=1$c29tZXNhbHQ$TLXwQYTTzWKDFfWHDyPKbh8ksZXGxatok7fsfJt7L+o", "$argon2id$v=19$m=0,t=2,p=1$c29tZXNhbHQ$TLXwQYTTzWKDFfWHDyPKbh8ksZXGxatok7fsfJt7L+o"} {
		if CheckHash(bad) == nil || VerifyPassword(bad, "secret") {
			t.Errorf("malformed %q accepted", bad)
		}
	}
	if d := dummyHashLike(hash); !strings.HasPrefix(d, "$argon2id$v=19$m=4096,t=2,p=1$") || CheckHash(d) != nil {
		t.Errorf("dummy for an argon2id model = %q", d)
	}
}
