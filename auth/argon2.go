package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id hashes in the PHC string format other tools write
// ($argon2id$v=19$m=65536,t=3,p=4$salt$hash), so admins can bring hashes
// they already have. maildock passwd itself writes bcrypt.
type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	hash    []byte
}

func parseArgon2id(s string) (*argon2Params, error) {
	f := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(f) != 6 || f[1] != "argon2id" {
		return nil, errors.New("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, fmt.Errorf("unsupported argon2 version %q", f[2])
	}
	p := &argon2Params{}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return nil, fmt.Errorf("bad argon2 parameters %q", f[3])
	}
	if p.memory == 0 || p.memory > 4<<20 || p.time == 0 || p.time > 100 || p.threads == 0 {
		return nil, fmt.Errorf("argon2 parameters out of range %q", f[3])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(f[4]); err != nil || len(p.salt) < 8 {
		return nil, errors.New("bad argon2 salt")
	}
	if p.hash, err = base64.RawStdEncoding.DecodeString(f[5]); err != nil || len(p.hash) < 16 || len(p.hash) > 64 {
		return nil, errors.New("bad argon2 hash")
	}
	return p, nil
}

func (p *argon2Params) verify(password string) bool {
	got := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return subtle.ConstantTimeCompare(got, p.hash) == 1
}

// hashLike returns a hash of password made with the same scheme and cost
// as model, so checking it takes as long as checking model.
func (p *argon2Params) hashLike(password string) string {
	salt := make([]byte, len(p.salt))
	h := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(p.hash)))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h))
}
