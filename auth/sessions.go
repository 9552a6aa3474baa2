package auth

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	entsql "entgo.io/ent/dialect/sql"
)

// sessions tracks this server's long-lived connections (websockets) per user, so that
// ending a user's sessions closes them too: HTTP requests re-read the user each time,
// a websocket authenticates once.
type sessions struct {
	mu sync.Mutex
	// epoch counts checks: a connection that authenticated while one ran may have
	// missed it, and checks itself when it is tracked.
	epoch  uint64
	byUser map[int]map[*session]struct{}
}

type session struct {
	version int
	end     func()
}

// SessionMark returns the mark to pass to Track, taken before authenticating a
// connection.
func (s *Service) SessionMark() uint64 {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return s.sessions.epoch
}

// Track registers a connection of viewer v, authenticated after mark was taken; end
// closes it, and is called at most once, when the viewer's sessions end. The returned
// function forgets the connection (call it when the connection closes). When a check
// ran since mark, the token may have been ended meanwhile: it is checked again now.
func (s *Service) Track(ctx context.Context, v *Viewer, mark uint64, end func()) (untrack func()) {
	ss := &s.sessions
	e := &session{version: v.TokenVersion, end: end}
	ss.mu.Lock()
	m := ss.byUser[v.UserID]
	if m == nil {
		m = map[*session]struct{}{}
		ss.byUser[v.UserID] = m
	}
	m[e] = struct{}{}
	missed := ss.epoch != mark
	ss.mu.Unlock()
	untrack = func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if m := ss.byUser[v.UserID]; m != nil {
			delete(m, e)
			if len(m) == 0 {
				delete(ss.byUser, v.UserID)
			}
		}
	}
	if missed {
		if err := s.CheckSessions(ctx, []int{v.UserID}); err != nil {
			untrack()
			end() // unsure whether the token still holds: the client reconnects
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
					delete(ss.byUser[id], e)
					ended = append(ended, e)
				}
			}
			if len(ss.byUser[id]) == 0 {
				delete(ss.byUser, id)
			}
		}
		ss.mu.Unlock()
		for _, e := range ended {
			e.end()
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
