package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/portico-dev/portico/outlet"
)

// announcementBuffer is how many announcement changes a subscriber may lag behind; when
// its buffer is full the oldest pending change gives way, so the newest always arrives.
const announcementBuffer = 16

// announcementSub is one announcementChanged subscription; s.mu guards it.
type announcementSub struct {
	own  string            // the subscriber's language setting
	last *AnnouncementView // what it was sent last (or saw when subscribing)
	out  chan *AnnouncementView
	// to, when set, renders and writes the change (see package outlet); views are shared
	// by language and announcementChanged's fields depend on nothing else, so a view is
	// the token: one rendering per language and change.
	to outlet.Outlet
}

// WatchAnnouncement sends the announcement as a user whose language setting is own sees
// it, each time that changes, until ctx ends; then the channel closes. One goroutine,
// running only while there is something to send, makes one view per change and language
// and hands every subscriber its view: thousands of idle subscribers cost a map entry and
// a channel each, and a change costs at most one read, not one per subscriber.
func (s *Service) WatchAnnouncement(ctx context.Context, own string) (<-chan *AnnouncementView, error) {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	last, err := s.Announcement(ctx, own)
	if err != nil {
		return nil, err
	}
	sub := &announcementSub{own: own, last: last}
	s.mu.Lock() // before Bind: its end hook, which takes s.mu, finds sub registered
	defer s.mu.Unlock()
	sub.to = outlet.Bind(ctx, func() {
		s.mu.Lock()
		delete(s.announced, sub)
		if sub.to == nil { // a bound channel stays open: a late push must not panic
			close(sub.out) // under s.mu: no dispatch is sending
		}
		s.mu.Unlock()
	})
	size := announcementBuffer
	if sub.to != nil {
		size = 1 // filled right before it is read
	}
	sub.out = make(chan *AnnouncementView, size)
	if s.announced == nil {
		s.announced = map[*announcementSub]struct{}{}
	}
	s.announced[sub] = struct{}{}
	if s.gen != gen {
		// A change came between reading and registering: the dispatch compares.
		s.queueLocked(announcementChange{})
	}
	return sub.out, nil
}

// announcementChange is one change to send: the announcement's new text when the change
// carried it, else (carried false) it is read from the database.
type announcementChange struct {
	text    string
	carried bool
}

// recheckAfter is how long carried changes must be quiet before the database is read
// to confirm subscribers have the newest.
const recheckAfter = 300 * time.Millisecond

// maxPending bounds the changes waiting for the dispatch; beyond it only the newest
// matters, read from the database.
const maxPending = 64

// affectsAnnouncement tells the variables that change what subscribers see.
func affectsAnnouncement(name string) bool {
	return name == AnnouncementName || name == DefaultLanguage || name == SupportedLanguages
}

// announcementDefault is the announcement while the variable is unset.
var announcementDefault = func() string {
	d, _ := Lookup(AnnouncementName)
	return d.Default
}()

// queueLocked adds a change for the dispatch goroutine, starting it when it is not
// running; s.mu is held. One goroutine at a time sends, so subscribers get changes in
// the order they were queued.
func (s *Service) queueLocked(c announcementChange) {
	s.pending = append(s.pending, c)
	if len(s.pending) > maxPending {
		s.pending = []announcementChange{{}}
	}
	if s.dispatching {
		return
	}
	s.dispatching = true
	go func() {
		// Carried changes come in the order their commits reached this server, and two
		// concurrent ones may swap: once changes have been quiet for a moment, one read
		// of the database makes sure subscribers end with the newest (it sends nothing
		// when they have it). Read at once, it could run ahead of a change still on its
		// way, which would then be sent after the newer one it read.
		check := false
		for {
			s.mu.Lock()
			if len(s.pending) == 0 {
				if check {
					if s.recheck != nil {
						s.recheck.Stop()
					}
					s.recheck = time.AfterFunc(recheckAfter, func() {
						s.mu.Lock()
						defer s.mu.Unlock()
						s.queueLocked(announcementChange{})
					})
				}
				s.dispatching = false
				s.mu.Unlock()
				return
			}
			c := s.pending[0]
			s.pending = s.pending[1:]
			s.mu.Unlock()
			check = c.carried
			if err := s.sendAnnouncement(c); err != nil {
				s.log.Warn("announcement for its subscribers", "err", err)
			}
		}
	}()
}

// sendAnnouncement makes one view of the change per language among the subscribers and
// hands each subscriber its view when it differs from its last one.
func (s *Service) sendAnnouncement(c announcementChange) error {
	ctx := context.Background()
	text := c.text
	if !c.carried {
		var err error
		if text, err = s.Value(ctx, AnnouncementName); err != nil {
			return err
		}
	}
	var a Announcement
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return fmt.Errorf("%s: %w", AnnouncementName, err)
	}
	views := map[string]*AnnouncementView{}
	s.mu.Lock()
	for sub := range s.announced {
		views[sub.own] = nil
	}
	s.mu.Unlock()
	for own := range views {
		var err error
		if views[own], err = s.View(ctx, a, own); err != nil {
			return err
		}
	}
	// Subscribers driven by an outlet are handed their view after s.mu is released:
	// the fan-out must not hold up requests that change settings.
	type delivery struct {
		sub *announcementSub
		v   *AnnouncementView
	}
	var outlets []delivery
	defer func() {
		for _, d := range outlets {
			out, v := d.sub.out, d.v
			d.sub.to.Deliver(v, func() { outlet.Replace(out, v) })
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.announced {
		v := views[sub.own]
		if v == nil || sameView(v, sub.last) {
			continue // nil: subscribed meanwhile, after this change
		}
		sub.last = v
		if sub.to != nil {
			outlets = append(outlets, delivery{sub, v})
			continue
		}
		select {
		case sub.out <- v:
		default: // lagging a full buffer behind: drop its oldest pending change
			select {
			case <-sub.out:
			default:
			}
			sub.out <- v // only this goroutine sends, and there is room now
		}
	}
	return nil
}

func sameView(a, b *AnnouncementView) bool {
	return a != nil && b != nil && a.Enabled == b.Enabled && a.Value == b.Value && slices.Equal(a.Contents, b.Contents)
}
