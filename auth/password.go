package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// passwordCost is bcrypt's work factor: ~50 ms per check on this hardware class, slow
// enough against offline guessing, fast enough for interactive logins.
const passwordCost = 11

// MaxPasswordLength is bcrypt's input limit; longer passwords would be silently truncated.
const MaxPasswordLength = 72

// HashPassword returns the bcrypt hash of a password.
func HashPassword(password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", fmt.Errorf("password is %d bytes long; at most %d are allowed", len(password), MaxPasswordLength)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), passwordCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the user does not exist, so that a login for an
// unknown name takes as long as one for a known name.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("portico-timing-equalizer"), passwordCost)

// CheckPassword reports whether password matches hash. An empty hash (no password set)
// never matches but costs the same time.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
