package auth

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSessionsExpire: one timer ends each tracked connection when its token expires,
// earliest first, and never one that was forgotten before; a connection ends at most
// once.
func TestSessionsExpire(t *testing.T) {
	s := NewService(nil, nil, nil)
	var mu sync.Mutex
	var order []string
	done := make(chan struct{}, 8)
	track := func(name string, user int, in time.Duration) func() {
		return s.Track(context.Background(), &Viewer{UserID: user}, s.SessionMark(), time.Now().Add(in), func(expired bool) {
			mu.Lock()
			defer mu.Unlock()
			if !expired {
				t.Errorf("%s: ended as a session end, not an expiry", name)
			}
			order = append(order, name)
			done <- struct{}{}
		})
	}
	now := time.Now()
	track("late", 1, 300*time.Millisecond)
	track("early", 2, 100*time.Millisecond)
	forgotten := track("forgotten", 1, 50*time.Millisecond)
	track("middle", 1, 200*time.Millisecond)
	keep := track("hour", 3, time.Hour)
	forgotten()
	for range 3 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %v expired", order)
		}
	}
	if took := time.Since(now); took < 300*time.Millisecond {
		t.Errorf("the last expired after %v, before its token did (300ms)", took)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 || order[0] != "early" || order[1] != "middle" || order[2] != "late" {
		t.Fatalf("expired %v, want [early middle late]", order)
	}
	waiting := func() (int, int) {
		s.sessions.mu.Lock()
		defer s.sessions.mu.Unlock()
		return len(s.sessions.expiring), len(s.sessions.byUser)
	}
	if n, users := waiting(); n != 1 || users != 1 {
		t.Fatalf("%d waiting to expire, of %d users; want the hour's alone", n, users)
	}
	keep()
	if n, users := waiting(); n != 0 || users != 0 {
		t.Fatalf("%d waiting to expire, of %d users, after the last was forgotten", n, users)
	}
}
