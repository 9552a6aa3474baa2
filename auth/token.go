package auth

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Tokens issues and verifies bearer tokens: JWTs signed with HMAC-SHA256 (HS256).
//
// HS256 because the only party that verifies a token is a Portico server, and all servers
// on one database share the key (kept in the database): no key distribution, small tokens,
// fast verification. The subject is the user id, and "ver" the user's token version when
// the token was issued; tokens expire after TTL. Every request re-reads the user, so a
// token stops working at once, on every server, when its user is disabled or the
// version moved on (a password change, disabling, logout, revokeSessions).
type Tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewTokens returns a token issuer; key must be at least 32 bytes.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("token key is %d bytes; need at least 32", len(key))
	}
	return &Tokens{key: key, ttl: ttl, now: time.Now}, nil
}

const issuer = "portico"

// claims are a token's: the registered ones and the user's token version.
type claims struct {
	jwt.RegisteredClaims
	Version int `json:"ver"`
}

// Issue returns a signed token for the user at its token version, and when it expires.
func (t *Tokens) Issue(userID, version int) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	claims := claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   strconv.Itoa(userID),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}, Version: version}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// ErrInvalidToken is returned for a token that is malformed, badly signed or expired.
var ErrInvalidToken = errors.New("invalid or expired token")

// Verify checks a token and returns its user id, token version and expiry. A token
// without a version (issued before versions existed) has version 0, the initial one.
func (t *Tokens) Verify(token string) (id, version int, exp time.Time, err error) {
	var claims claims
	_, err = jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Name}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return 0, 0, time.Time{}, ErrInvalidToken
	}
	id, err = strconv.Atoi(claims.Subject)
	if err != nil || id <= 0 {
		return 0, 0, time.Time{}, ErrInvalidToken
	}
	return id, claims.Version, claims.ExpiresAt.Time, nil
}
