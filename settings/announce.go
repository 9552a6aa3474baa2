package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// announcementBuffer is how many announcement changes a subscriber may lag behind; when
// its buffer is full the oldest pending change gives way, so the newest always arrives.
const announcementBuffer = 16

// announcementSub is one announcementChanged subscription; s.mu guards it.
type announcementSub struct {
	own  string            // the subscriber's language setting
	last *AnnouncementView // what it was sent last (or saw when subscribing)
	out  chan *AnnouncementView
}

// WatchAnnouncement sends the announcement as a user whose language setting is own sees
// it, each time that changes, until ctx ends; then the channel closes. One goroutine,
// running only while there is something to send, reads the announcement once per change
// and hands every subscriber its view: thousands of idle subscribers cost a map entry and
// a channel each, and a change costs one read, not one per subscriber.
func (s *Service) WatchAnnouncement(ctx context.Context, own string) (<-chan *AnnouncementView, error) {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	last, err := s.Announcement(ctx, own)
	if err != nil {
		return nil, err
	}
	sub := &announcementSub{own: own, last: last, out: make(chan *AnnouncementView, announcementBuffer)}
	s.mu.Lock()
	if s.announced == nil {
		s.announced = map[*announcementSub]struct{}{}
	}
	s.announced[sub] = struct{}{}
	if s.gen != gen {
		// A change came between reading and registering: the dispatch compares.
		s.dispatchLocked()
	}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		delete(s.announced, sub)
		close(sub.out) // under s.mu: no dispatch is sending
		s.mu.Unlock()
	})
	return sub.out, nil
}

// dispatchLocked has a goroutine send the current announcement to the subscribers; s.mu
// is held. One goroutine at a time, so its reads, and what subscribers get, follow the
// order of the changes.
func (s *Service) dispatchLocked() {
	if s.dispatching {
		s.again = true
		return
	}
	s.dispatching = true
	go func() {
		for {
			if err := s.sendAnnouncement(); err != nil {
				s.log.Warn("announcement for its subscribers", "err", err)
			}
			s.mu.Lock()
			if !s.again {
				s.dispatching = false
				s.mu.Unlock()
				return
			}
			s.again = false
			s.mu.Unlock()
		}
	}()
}

// sendAnnouncement reads the announcement once, makes one view per language among the
// subscribers, and hands each subscriber its view when it differs from its last one.
func (s *Service) sendAnnouncement() error {
	ctx := context.Background()
	text, err := s.Value(ctx, AnnouncementName)
	if err != nil {
		return err
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
		if views[own], err = s.View(ctx, a, own); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.announced {
		v := views[sub.own]
		if v == nil || sameView(v, sub.last) {
			continue // nil: subscribed meanwhile, with a view as new as this one or newer
		}
		sub.last = v
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
