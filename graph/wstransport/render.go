package wstransport

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/cachestats"
	"github.com/portico-dev/portico/outlet"
)

// renderCache shares renderings of an event among the subscriptions with one shape and
// token: the first to need one renders it, the others wait for it and reuse the bytes.
// An outlet.Token's rendering is first looked for by its Event alone, shared by every
// viewer when it depended on none. Entries live between one and two renderTTL: long
// enough for every subscriber's writer to reach the event, short enough to hold little.
type renderCache struct {
	// last is the latest finished rendering any viewer may use: during a fan-out nearly
	// every lookup asks for it, so most take no lock.
	last atomic.Pointer[lastRendering]

	mu     sync.Mutex
	shared map[renderKey]*rendering
	old    map[renderKey]*rendering
	since  time.Time

	// lookups count a subscription's event served by a rendering made for another as a
	// hit, one it rendered itself as a miss.
	lookups cachestats.Counter
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
	private bool   // it depended on its viewer: only for the whole token's subscribers
}

// renderFunc renders the event for the calling subscription; private reports that the
// rendering depended on the subscription's viewer.
type renderFunc func() (payload []byte, private bool)

// get returns the payload of the event named by token for a subscription of shape,
// calling render when no rendering it may use exists. A nil token is never shared.
func (rc *renderCache) get(shape string, token any, render renderFunc) []byte {
	if token == nil {
		p, _ := render()
		return p
	}
	rendered, renderNow := false, render
	render = func() ([]byte, bool) { rendered = true; return renderNow() }
	defer func() { rc.lookups.Record(!rendered) }()
	t, ok := token.(outlet.Token)
	if !ok {
		return rc.find(renderKey{shape, token}, render, false)
	}
	// The event's rendering for any viewer; when it turned out private, the one of this
	// viewer (the private one itself, when this subscription made it).
	own := renderKey{shape, token}
	var mine []byte
	if p := rc.find(renderKey{shape, t.Event}, func() ([]byte, bool) {
		p, private := render()
		if private && p != nil {
			rc.put(own, p) // before the event's entry is done: the viewer's other subscriptions find it
			mine = p
		}
		return p, private
	}, true); p != nil {
		return p
	}
	if mine != nil {
		return mine
	}
	return rc.find(own, render, false)
}

// put stores a finished rendering under k unless one is there.
func (rc *renderCache) put(k renderKey, payload []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.shared[k] == nil {
		r := &rendering{done: make(chan struct{}), payload: payload}
		close(r.done)
		rc.shared[k] = r
	}
}

// find returns the rendering under k, waiting for it while another subscription makes
// it, or makes it with render. With public, a private rendering is no answer: find
// returns nil (render's caller keeps its own).
func (rc *renderCache) find(k renderKey, render renderFunc, public bool) []byte {
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
		switch {
		case public && r.private:
			return nil
		case r.payload != nil:
			return r.payload
		}
		p, private := render() // the renderer ended first: this one renders for itself
		if public && private {
			return nil
		}
		return p
	}
	r = &rendering{done: make(chan struct{})}
	rc.shared[k] = r
	rc.mu.Unlock()
	defer close(r.done)
	r.payload, r.private = render()
	if public && r.private {
		return nil
	}
	if r.payload != nil {
		rc.last.Store(&lastRendering{k, r.payload})
	}
	return r.payload
}
