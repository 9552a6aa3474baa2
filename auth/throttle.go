package auth

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Throttle limits failed logins per (user name, client address) and per client address.
// Only failures spend tokens, so a user who types the password right is never slowed
// down, and failures from one address never throttle the same user elsewhere: an
// attacker cannot lock a user out by guessing wrong. Guessing one password from many
// addresses is bounded per address only; the defence there is the password rules.
type Throttle struct {
	mu      sync.Mutex
	users   map[string]*entry // by user name and address
	addrs   map[string]*entry
	perUser rate.Limit
	perAddr rate.Limit
	burstU  int
	burstA  int
	now     func() time.Time
	// counted for metrics: failures recorded, attempts refused
	failures, refused atomic.Int64
}

// ThrottleStats counts what a throttle saw since it was made.
type ThrottleStats struct {
	Failures int64 // failed attempts recorded (Failed)
	Refused  int64 // attempts refused while throttled (Allowed false)
}

// Stats returns the counters.
func (t *Throttle) Stats() ThrottleStats {
	return ThrottleStats{Failures: t.failures.Load(), Refused: t.refused.Load()}
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewThrottle allows 5 failures per user name from one address and 20 per address in a
// burst, refilled at one per 30 s per user and address and one per 3 s per address.
func NewThrottle() *Throttle {
	return &Throttle{
		users: map[string]*entry{}, addrs: map[string]*entry{},
		perUser: rate.Every(30 * time.Second), burstU: 5,
		perAddr: rate.Every(3 * time.Second), burstA: 20,
		now: time.Now,
	}
}

// Allowed reports whether a login attempt may be checked now, and if not, how long to wait.
func (t *Throttle) Allowed(user, addr string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	wait := max(waitFor(t.users, pairKey(user, addr), now), waitFor(t.addrs, addr, now))
	if wait > 0 {
		t.refused.Add(1)
	}
	return wait == 0, wait
}

// Failed records a failed attempt.
func (t *Throttle) Failed(user, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures.Add(1)
	now := t.now()
	t.get(t.users, pairKey(user, addr), t.perUser, t.burstU, now).AllowN(now, 1)
	t.get(t.addrs, addr, t.perAddr, t.burstA, now).AllowN(now, 1)
	t.sweep(now)
}

// pairKey is the key of a user name tried from an address; NUL is in neither.
func pairKey(user, addr string) string { return addr + "\x00" + user }

func waitFor(m map[string]*entry, key string, now time.Time) time.Duration {
	e, ok := m[key]
	if !ok {
		return 0
	}
	if e.lim.TokensAt(now) >= 1 {
		return 0
	}
	res := e.lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	res.CancelAt(now)
	return d
}

func (t *Throttle) get(m map[string]*entry, key string, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	e, ok := m[key]
	if !ok {
		e = &entry{lim: rate.NewLimiter(r, burst)}
		m[key] = e
	}
	e.seen = now
	return e.lim
}

// sweep forgets keys idle for an hour (their buckets are full again long before), so an
// attacker cycling names cannot grow the maps without bound.
func (t *Throttle) sweep(now time.Time) {
	if len(t.users)+len(t.addrs) < 10000 {
		return
	}
	for _, m := range []map[string]*entry{t.users, t.addrs} {
		for k, e := range m {
			if now.Sub(e.seen) > time.Hour {
				delete(m, k)
			}
		}
	}
}

// NewRequestThrottle counts every request (Failed after each), not failures: burst
// requests per key and address, refilled at one per every.
func NewRequestThrottle(every time.Duration, burst int) *Throttle {
	return &Throttle{
		users: map[string]*entry{}, addrs: map[string]*entry{},
		perUser: rate.Every(every), burstU: burst,
		perAddr: rate.Every(every), burstA: burst,
		now: time.Now,
	}
}
