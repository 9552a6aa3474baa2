package auth

import (
	"container/heap"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"
)

// sessions tracks this server's long-lived connections (websockets) per user, so that
// ending a user's sessions closes them too, and by expiry, so that a token's end closes
// its connection: HTTP requests re-read the user each time, a websocket authenticates
// once. One timer serves every connection, set for the earliest expiry.
type sessions struct {
	mu sync.Mutex
	// epoch counts checks: a connection that authenticated while one ran may have
	// missed it, and checks itself when it is tracked.
	epoch    uint64
	byUser   map[int]map[*session]struct{}
	expiring expiryHeap
	timer    *time.Timer
}

type session struct {
	user, version int
	expires       time.Time
	end           func(expired bool)
	at            int // in expiring; -1 once out of it
}

// expiryHeap orders sessions by expiry (container/heap).
type expiryHeap []*session

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *expiryHeap) Push(x any) { e := x.(*session); e.at = len(*h); *h = append(*h, e) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h, e.at = old[:len(old)-1], -1
	return e
}

// forget drops e from both indexes; ss.mu is held. It reports whether e was tracked
// (so that whoever forgets it calls its end, once).
func (ss *sessions) forget(e *session) bool {
	m := ss.byUser[e.user]
	if _, ok := m[e]; !ok {
		return false
	}
	delete(m, e)
	if len(m) == 0 {
		delete(ss.byUser, e.user)
	}
	if e.at >= 0 {
		first := e.at == 0
		heap.Remove(&ss.expiring, e.at)
		if first {
			ss.arm()
		}
	}
	return true
}

// arm sets the timer for the earliest expiry; ss.mu is held.
func (ss *sessions) arm() {
	if len(ss.expiring) == 0 {
		if ss.timer != nil {
			ss.timer.Stop()
		}
		return
	}
	d := time.Until(ss.expiring[0].expires)
	if ss.timer == nil {
		ss.timer = time.AfterFunc(d, ss.expire)
		return
	}
	ss.timer.Reset(d)
}

// expire ends the connections whose token has expired.
func (ss *sessions) expire() {
	var ended []*session
	ss.mu.Lock()
	now := time.Now()
	for len(ss.expiring) > 0 && !ss.expiring[0].expires.After(now) {
		e := heap.Pop(&ss.expiring).(*session)
		ss.forget(e) // out of the heap already: its user's set only
		ended = append(ended, e)
	}
	ss.arm()
	ss.mu.Unlock()
	for _, e := range ended {
		e.end(true)
	}
}

// SessionMark returns the mark to pass to Track, taken before authenticating a
// connection.
func (s *Service) SessionMark() uint64 {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return s.sessions.epoch
}

// Track registers a connection of viewer v, authenticated after mark was taken, with a
// token that expires at expires; end closes it without blocking, and is called at
// most once: with expired true when the token expires, false when the viewer's
// sessions end. The returned function forgets the connection (call it when
// the connection closes). When a check ran since mark, the token may have been ended
// meanwhile: it is checked again now.
func (s *Service) Track(ctx context.Context, v *Viewer, mark uint64, expires time.Time, end func(expired bool)) (untrack func()) {
	ss := &s.sessions
	e := &session{user: v.UserID, version: v.TokenVersion, expires: expires, end: end}
	ss.mu.Lock()
	m := ss.byUser[v.UserID]
	if m == nil {
		m = map[*session]struct{}{}
		ss.byUser[v.UserID] = m
	}
	m[e] = struct{}{}
	heap.Push(&ss.expiring, e)
	if e.at == 0 {
		ss.arm()
	}
	missed := ss.epoch != mark
	ss.mu.Unlock()
	untrack = func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		ss.forget(e)
	}
	if missed {
		if err := s.CheckSessions(ctx, []int{v.UserID}); err != nil {
			ss.mu.Lock()
			tracked := ss.forget(e)
			ss.mu.Unlock()
			if tracked {
				end(false) // unsure whether the token still holds: the client reconnects
			}
		}
	}
	return untrack
}

// CheckSessions closes the tracked connections of the users (every tracked user when
// users is nil) whose token no longer holds: the user is gone or disabled, or its token
// version moved on. It reads the users from the database, the one source of truth, so
// a bus message naming users can at most cause a harmless re-read.
func (s *Service) CheckSessions(ctx context.Context, users []int) error {
	ss := &s.sessions
	ss.mu.Lock()
	ss.epoch++
	if users == nil {
		users = slices.Collect(maps.Keys(ss.byUser))
	} else { // only users with connections here need reading
		users = slices.DeleteFunc(slices.Clone(users), func(id int) bool { return ss.byUser[id] == nil })
	}
	ss.mu.Unlock()
	current := map[int]int{} // active users' token versions
	const chunk = 500
	for len(users) > 0 {
		n := min(len(users), chunk)
		if err := s.tokenVersions(ctx, users[:n], current); err != nil {
			return err
		}
		var ended []*session
		ss.mu.Lock()
		for _, id := range users[:n] {
			v, active := current[id]
			for e := range ss.byUser[id] {
				if !active || e.version != v {
					ended = append(ended, e)
				}
			}
		}
		for _, e := range ended {
			ss.forget(e)
		}
		ss.mu.Unlock()
		for _, e := range ended {
			e.end(false)
		}
		users = users[n:]
	}
	return nil
}

// tokenVersions adds to into the token versions of the users among ids (at most 500)
// that exist and are enabled. The ids are bound; the statement has one of four sizes
// (the list padded with its first id), so the driver keeps four prepared statements,
// not one per list length.
func (s *Service) tokenVersions(ctx context.Context, ids []int, into map[int]int) error {
	size := 1
	for _, n := range []int{1, 8, 64, 500} {
		if size = n; len(ids) <= n {
			break
		}
	}
	var q strings.Builder
	q.WriteString(`SELECT id, token_version FROM users WHERE NOT disabled AND id IN (`)
	args := make([]any, size)
	for i := range size {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("$" + strconv.Itoa(i+1))
		args[i] = ids[0]
		if i < len(ids) {
			args[i] = ids[i]
		}
	}
	q.WriteByte(')')
	err := s.query(ctx, q.String(), args, func(rows *entsql.Rows) error {
		var id, v int
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		into[id] = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("token versions of %d users: %w", len(ids), err)
	}
	return nil
}
