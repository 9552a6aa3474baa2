package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestThrottleKeysByUserAndAddress: failures for a user from one address throttle that
// pair only; failures for many users from one address throttle the address; time heals.
func TestThrottleKeysByUserAndAddress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle()
	th.now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if ok, _ := th.Allowed("bob", "10.0.0.1"); !ok {
			t.Fatalf("attempt %d throttled", i)
		}
		th.Failed("bob", "10.0.0.1")
	}
	if ok, wait := th.Allowed("bob", "10.0.0.1"); ok || wait <= 0 {
		t.Fatalf("6th attempt from the same address: allowed %v wait %v", ok, wait)
	}
	if ok, _ := th.Allowed("bob", "10.0.0.2"); !ok {
		t.Fatal("bob from another address is throttled")
	}
	if ok, _ := th.Allowed("alice", "10.0.0.1"); !ok {
		t.Fatal("another user from the address is throttled before the address limit")
	}
	for i := 0; i < 15; i++ {
		th.Failed("user"+string(rune('a'+i)), "10.0.0.1")
	}
	if ok, _ := th.Allowed("carol", "10.0.0.1"); ok {
		t.Fatal("20 failures from one address did not throttle it")
	}
	if ok, _ := th.Allowed("carol", "10.0.0.3"); !ok {
		t.Fatal("the address limit spilled to another address")
	}
	now = now.Add(31 * time.Second)
	if ok, _ := th.Allowed("bob", "10.0.0.1"); !ok {
		t.Fatal("still throttled after the buckets refilled")
	}
}

// TestTokenCarriesVersion: the version signed into a token comes back from Verify.
func TestTokenCarriesVersion(t *testing.T) {
	tk, err := NewTokens(make([]byte, 32), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := tk.Issue(7, 3)
	if err != nil {
		t.Fatal(err)
	}
	id, v, _, err := tk.Verify(s)
	if err != nil || id != 7 || v != 3 {
		t.Fatalf("Verify = %d, %d, %v; want 7, 3", id, v, err)
	}
}

// TestTokenWithoutVersion: a token issued before versions existed reads as version 0,
// every user's initial version, so an upgrade logs nobody out.
func TestTokenWithoutVersion(t *testing.T) {
	key := make([]byte, 32)
	tk, _ := NewTokens(key, time.Hour)
	old, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: issuer, Subject: "9",
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if id, v, _, err := tk.Verify(old); err != nil || id != 9 || v != 0 {
		t.Fatalf("Verify = %d, %d, %v; want 9, 0", id, v, err)
	}
}
