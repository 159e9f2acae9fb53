// Package auth checks account passwords. Passwords are only ever stored as
// hashes: bcrypt ($2a$, $2b$, $2y$), as `maildock passwd` makes them, or
// argon2id in the PHC format ($argon2id$v=19$...) made by other tools.
package auth

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of new hashes: about 50-100 ms on a server core,
// slow for a guesser, bearable for an app that logs in every minute.
const Cost = 11

// HashPassword returns a bcrypt hash of password for `password_hash`.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("auth: empty password")
	}
	if len(password) > 72 {
		// bcrypt ignores everything after 72 bytes; refuse rather than
		// pretend the rest counts.
		return "", errors.New("auth: password longer than 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// CheckHash reports whether hash is a password hash this package can verify.
func CheckHash(hash string) error {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(hash, p) {
			if _, err := bcrypt.Cost([]byte(hash)); err != nil {
				return fmt.Errorf("auth: bad bcrypt hash: %w", err)
			}
			return nil
		}
	}
	if strings.HasPrefix(hash, "$argon2id$") {
		if _, err := parseArgon2id(hash); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		return nil
	}
	return errors.New("auth: not a bcrypt or argon2id hash (make one with `maildock passwd`)")
}

// VerifyPassword reports whether password matches hash. It takes the time
// of a full hash whatever the outcome.
func VerifyPassword(hash, password string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		p, err := parseArgon2id(hash)
		return err == nil && p.verify(password)
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// dummyHashLike returns a hash of a throwaway password with the scheme and
// cost of model, for checking unknown accounts in the same time.
func dummyHashLike(model string) string {
	const pw = "maildock-dummy-password"
	if p, err := parseArgon2id(model); err == nil {
		return p.hashLike(pw)
	}
	cost, err := bcrypt.Cost([]byte(model))
	if err != nil {
		cost = Cost
	}
	h, _ := bcrypt.GenerateFromPassword([]byte(pw), cost)
	return string(h)
}
