package wstransport

import (
	"sync"
	"sync/atomic"
	"time"
)

// renderCache shares renderings of an event among the subscriptions with one shape and
// token: the first to need one renders it, the others wait for it and reuse the bytes.
// Entries live between one and two renderTTL: long enough for every subscriber's writer
// to reach the event, short enough to hold little.
type renderCache struct {
	// last is the latest finished rendering: during a fan-out nearly every lookup asks
	// for it, so most take no lock.
	last atomic.Pointer[lastRendering]

	mu     sync.Mutex
	shared map[renderKey]*rendering
	old    map[renderKey]*rendering
	since  time.Time
}

const renderTTL = 10 * time.Second

type renderKey struct {
	shape string
	token any
}

type lastRendering struct {
	key     renderKey
	payload []byte
}

type rendering struct {
	done    chan struct{}
	payload []byte // nil: the renderer's subscription ended first
}

// get returns the rendering for shape and token, calling render when there is none (or
// the one there failed). A nil token is never shared.
func (rc *renderCache) get(shape string, token any, render func() []byte) []byte {
	if token == nil {
		return render()
	}
	k := renderKey{shape, token}
	if l := rc.last.Load(); l != nil && l.key == k {
		return l.payload
	}
	rc.mu.Lock()
	if now := time.Now(); now.Sub(rc.since) > renderTTL {
		rc.old, rc.shared, rc.since = rc.shared, make(map[renderKey]*rendering, len(rc.shared)), now
	}
	r := rc.shared[k]
	if r == nil {
		if r = rc.old[k]; r != nil {
			rc.shared[k] = r
		}
	}
	if r != nil {
		rc.mu.Unlock()
		<-r.done
		if r.payload != nil {
			return r.payload
		}
		return render()
	}
	r = &rendering{done: make(chan struct{})}
	rc.shared[k] = r
	rc.mu.Unlock()
	defer close(r.done)
	if r.payload = render(); r.payload != nil {
		rc.last.Store(&lastRendering{k, r.payload})
	}
	return r.payload
}
